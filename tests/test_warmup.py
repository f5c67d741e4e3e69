"""A serving process loads what hook calls need up front and freezes the heap."""

import gc

from cdshooks import cards, gunicorn_conf
from cdshooks.clinical import engine
from cdshooks.terminology import lookup
from cdshooks.warmup import GC_THRESHOLD, prepare_for_serving


def test_prepare_for_serving_loads_everything_and_freezes_the_heap():
    cards.template.cache_clear()
    lookup.load.cache_clear()
    before = gc.get_threshold()
    try:
        prepare_for_serving()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLD
        assert cards.template.cache_info().currsize == len(cards.topics())
        assert lookup.load.cache_info().currsize == len(lookup.available())
        assert engine.load_rules()
    finally:
        gc.unfreeze()  # keep the test process collectable, at the usual pace
        gc.set_threshold(*before)


def test_every_gunicorn_worker_warms_up_before_its_first_request(monkeypatch):
    calls = []
    monkeypatch.setattr("cdshooks.warmup.prepare_for_serving", lambda: calls.append(1))
    gunicorn_conf.options()["post_worker_init"](object())
    assert calls == [1]
