"""Messy clinical data inside valid hook requests: every rule must cope, no 500.

The request-level fuzz (test_fuzz.py) mostly stops at request validation. This
one takes real fixture requests and corrupts values deep inside prefetch
resources and draft orders (wrong types, empty values, odd strings, deleted
fields), the way real EHR data goes wrong, so the builder and every rule see it.
"""

from __future__ import annotations

import copy
import json
import logging
import random
from datetime import datetime
from pathlib import Path

import pytest

from cdshooks.app import create_app
from cdshooks.config import Settings

FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fixtures").glob("*/scenario.json"))
ODD_VALUES = [
    None, [], {}, "", " ", 0, -1, 1e308, True, "2026-13-45", "<script>x</script>",
    {"x": [1, {"y": None}]}, [None, 1, "a"], "NaN", "5 mg", {"value": "abc"},
    {"coding": "x"}, {"coding": [None, 1]}, [{"code": "MORN"}], {"code": "d"},
]
CASES = 300


def _corrupt(node, rng: random.Random) -> None:
    if isinstance(node, dict):
        for key in list(node):
            roll = rng.random()
            if roll < 0.06:
                node[key] = copy.deepcopy(rng.choice(ODD_VALUES))
            elif roll < 0.08:
                del node[key]
            else:
                _corrupt(node[key], rng)
    elif isinstance(node, list):
        for i in range(len(node)):
            if rng.random() < 0.05:
                node[i] = copy.deepcopy(rng.choice(ODD_VALUES))
            else:
                _corrupt(node[i], rng)


@pytest.fixture(scope="module")
def client():
    now = datetime.fromisoformat("2026-01-15T12:00:00+00:00")
    return create_app(Settings(auth_enabled=False, now=now, feedback_db=":memory:")).test_client()


def test_corrupted_clinical_data_never_breaks_a_rule_or_the_response(client, caplog):
    rng = random.Random(20261122)
    docs = [json.loads(p.read_text()) for p in FIXTURES]
    statuses = set()
    with caplog.at_level(logging.ERROR):
        for _ in range(CASES):
            doc = rng.choice(docs)
            request = copy.deepcopy(doc["request"])
            if rng.random() < 0.5:
                _corrupt(request.get("prefetch", {}), rng)
            else:
                _corrupt(request["context"].get("draftOrders", {}).get("entry", []), rng)
            resp = client.post(f"/cds-services/{doc['service']}", json=request)
            statuses.add(resp.status_code)
            assert resp.status_code < 500, resp.data[:300]
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []  # the engine's safety net must not be what saved a response
    assert 200 in statuses  # the corruption still reaches the rules
