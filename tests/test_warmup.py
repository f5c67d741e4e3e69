"""A serving process loads what hook calls need up front and freezes the heap."""

import gc

from cdshooks import cards, engine, gunicorn_conf
from cdshooks.terminology import lookup
from cdshooks.warmup import prepare_for_serving


def test_prepare_for_serving_loads_everything_and_freezes_the_heap():
    cards.template.cache_clear()
    lookup.load.cache_clear()
    try:
        prepare_for_serving()
        assert gc.get_freeze_count() > 0
        assert cards.template.cache_info().currsize == len(cards.topics())
        assert lookup.load.cache_info().currsize == len(lookup.available())
        assert engine.load_rules()
    finally:
        gc.unfreeze()  # keep the test process collectable


def test_every_gunicorn_worker_warms_up_before_its_first_request(monkeypatch):
    calls = []
    monkeypatch.setattr("cdshooks.warmup.prepare_for_serving", lambda: calls.append(1))
    gunicorn_conf.options()["post_worker_init"](object())
    assert calls == [1]
