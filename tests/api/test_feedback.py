"""POST /cds-services/{id}/feedback: durable storage, all entries or none."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cdshooks.feedback import parse_feedback
from cdshooks.store.sqlite import SqliteStore

URL = "/cds-services/tofacitinib-order-select/feedback"

ACCEPTED = {
    "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2021-12-11T10:05:31Z",
}
OVERRIDDEN_SPEC = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "overrideReason": {
        "reason": {"code": "d7ecf885", "system": "https://example.com/cds-hooks/override-reason-system"},
        "userComment": "A comment entered by the clinician.",
    },
    "outcomeTimestamp": "2020-12-11T00:00:00Z",
}
OVERRIDDEN_BARE_CODING = {
    "card": "c-2",
    "outcome": "overridden",
    "overrideReason": {"system": "urn:tofacitinib-cds:override-reason", "code": "specialist-decision"},
    "outcomeTimestamp": "1985-04-12T23:20:50.52Z",
}
OVERRIDDEN_COMMENT_ONLY = {"card": "c-3", "outcome": "overridden", "overrideReason": {"userComment": "already discussed"}, "outcomeTimestamp": "2020-12-11T00:00:00+01:00"}
OVERRIDDEN_NO_REASON = {"card": "c-4", "outcome": "overridden", "outcomeTimestamp": "2020-12-11T00:00:00Z"}


def stored(settings) -> list[dict]:
    return SqliteStore(settings.feedback_db).entries()


def test_spec_examples_are_stored_in_one_call(client, settings):
    body = {"feedback": [ACCEPTED, OVERRIDDEN_SPEC, OVERRIDDEN_BARE_CODING, OVERRIDDEN_COMMENT_ONLY, OVERRIDDEN_NO_REASON]}
    resp = client.post(URL, json=body)
    assert resp.status_code == 200
    rows = stored(settings)
    assert [r["card_uuid"] for r in rows] == [e["card"] for e in body["feedback"]]
    assert {r["service_id"] for r in rows} == {"tofacitinib-order-select"}
    accepted, spec, coding, text, bare = rows
    assert accepted["accepted_suggestions"] == ["e56e1945-20b3-4393-8503-a1a20fd73152"]
    assert accepted["outcome"] == "accepted" and accepted["outcome_timestamp"] == "2021-12-11T10:05:31Z"
    assert (spec["override_code"], spec["override_comment"]) == ("d7ecf885", "A comment entered by the clinician.")
    assert (coding["override_system"], coding["override_code"]) == (
        "urn:tofacitinib-cds:override-reason",
        "specialist-decision",
    )
    assert text["override_comment"] == "already discussed" and text["override_code"] is None
    assert bare["override_code"] is None and bare["outcome"] == "overridden"
    assert spec["entry"] == OVERRIDDEN_SPEC  # the raw entry, as received
    assert all(r["received_at"] for r in rows)


def test_feedback_survives_an_app_restart(make_app, settings):
    make_app().test_client().post(URL, json={"feedback": [ACCEPTED]})
    restarted = make_app().test_client()  # a new app on the same database file
    assert restarted.post(URL, json={"feedback": [OVERRIDDEN_SPEC]}).status_code == 200
    assert [r["card_uuid"] for r in stored(settings)] == [ACCEPTED["card"], OVERRIDDEN_SPEC["card"]]


def test_database_uses_wal_and_its_folder_is_created(make_app, tmp_path):
    db = tmp_path / "nested" / "dir" / "fb.sqlite3"
    client = make_app(feedback_db=str(db)).test_client()
    assert client.post(URL, json={"feedback": [ACCEPTED]}).status_code == 200
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


MALFORMED = {
    "not JSON": b"{feedback",
    "no feedback array": b'{"cards": []}',
    "feedback not an array": b'{"feedback": {"card": "x"}}',
    "entry not an object": b'{"feedback": ["x"]}',
    "no card": b'{"feedback": [{"outcome": "accepted", "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "bad outcome": b'{"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "bad timestamp": b'{"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]}',
    "no timestamp": b'{"feedback": [{"card": "c", "outcome": "accepted"}]}',
    "suggestions not a list": b'{"feedback": [{"card": "c", "outcome": "accepted", "acceptedSuggestions": {"id": "s"}, "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "suggestion without id": b'{"feedback": [{"card": "c", "outcome": "accepted", "acceptedSuggestions": [{}], "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "override reason a number": b'{"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": 3, "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "override reason a string": b'{"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": "already discussed", "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "reason a string": b'{"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"reason": "x"}, "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "suggestion a bare uuid": b'{"feedback": [{"card": "c", "outcome": "accepted", "acceptedSuggestions": ["e56e1945"], "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
    "override code a number": b'{"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {"reason": {"code": 3}}, "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_feedback_is_400_and_nothing_is_written(client, settings, case):
    resp = client.post(URL, data=MALFORMED[case], content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert stored(settings) == []


NULLS = {
    "overrideReason.userComment": {"reason": {"code": "x"}, "userComment": None},
    "overrideReason.reason": {"reason": None, "userComment": "ok"},
    "overrideReason.reason.code": {"reason": {"system": "urn:x", "code": None}},
    "overrideReason.display": {"system": "urn:x", "code": "x", "display": None},  # a Coding in place of the reason
}


@pytest.mark.parametrize("field", sorted(NULLS))
def test_a_null_in_an_override_reason_is_400_naming_the_field(client, settings, field):
    """CDS Hooks 2.0: JSON elements SHALL NOT be null; the OpenAPI document says string / Coding, not null."""
    entry = {**OVERRIDDEN_SPEC, "overrideReason": NULLS[field]}
    resp = client.post(URL, json={"feedback": [entry]})
    assert resp.status_code == 400
    issue = resp.get_json()["issue"][0]
    assert issue["expression"] == [f"feedback[0].{field}"] and "null" in issue["diagnostics"]
    assert stored(settings) == []


@pytest.mark.parametrize("field", ["acceptedSuggestions", "overrideReason"])
def test_a_null_optional_entry_field_is_400(client, settings, field):
    resp = client.post(URL, json={"feedback": [{**OVERRIDDEN_SPEC, field: None}]})
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == [f"feedback[0].{field}"]
    assert stored(settings) == []


def test_one_bad_entry_rejects_the_whole_body(client, settings):
    bad = dict(ACCEPTED, outcome="maybe")
    resp = client.post(URL, json={"feedback": [ACCEPTED, OVERRIDDEN_SPEC, bad]})
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == ["feedback[2].outcome"]
    assert stored(settings) == []


def test_a_failing_write_leaves_nothing_half_written(tmp_path):
    """The second row violates NOT NULL after the first was inserted: both are rolled back."""
    store = SqliteStore(tmp_path / "fb.sqlite3")
    good, second = parse_feedback({"feedback": [ACCEPTED, OVERRIDDEN_SPEC]})
    with pytest.raises(sqlite3.IntegrityError):
        store.record_feedback("tofacitinib-order-select", [good, replace(second, card=None)], datetime.now(UTC))
    assert store.entries() == []
    store.record_feedback("tofacitinib-order-select", [good], datetime.now(UTC))
    assert len(store.entries()) == 1


def test_feedback_for_an_unknown_service_is_404(client):
    resp = client.post("/cds-services/nope/feedback", json={"feedback": [ACCEPTED]})
    assert resp.status_code == 404
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_a_retried_post_stores_each_entry_once(client, settings):
    body = {"feedback": [ACCEPTED, OVERRIDDEN_SPEC]}
    assert client.post(URL, json=body).status_code == 200
    assert client.post(URL, json=body).status_code == 200  # the client did not see the first 200
    rows = stored(settings)
    assert sorted(r["card_uuid"] for r in rows) == sorted([ACCEPTED["card"], OVERRIDDEN_SPEC["card"]])


def test_the_same_entry_twice_in_one_body_is_stored_once(client, settings):
    assert client.post(URL, json={"feedback": [ACCEPTED, dict(ACCEPTED)]}).status_code == 200
    assert len(stored(settings)) == 1


def test_a_later_outcome_for_the_same_card_is_a_new_entry(client, settings):
    later = {**ACCEPTED, "outcomeTimestamp": "2021-12-11T10:09:00Z"}
    overridden = {k: v for k, v in ACCEPTED.items() if k != "acceptedSuggestions"} | {"outcome": "overridden"}
    for entry in (ACCEPTED, later, overridden):
        assert client.post(URL, json={"feedback": [entry]}).status_code == 200
    assert len(stored(settings)) == 3


def test_store_reports_only_new_entries(tmp_path):
    store = SqliteStore(tmp_path / "f.sqlite3")
    entries = parse_feedback({"feedback": [ACCEPTED, OVERRIDDEN_SPEC]})
    now = datetime.now(UTC)
    assert store.record_feedback("s", entries, now) == 2
    assert store.record_feedback("s", entries, now) == 0


def test_more_entries_than_the_cap_is_413_and_nothing_is_written(make_app, settings):
    client = make_app(max_feedback_entries=3).test_client()
    entries = [{**ACCEPTED, "card": f"card-{i}"} for i in range(4)]
    resp = client.post(URL, json={"feedback": entries})
    assert resp.status_code == 413
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "at most 3" in outcome["issue"][0]["diagnostics"]
    assert stored(settings) == []
    assert client.post(URL, json={"feedback": entries[:3]}).status_code == 200
    assert len(stored(settings)) == 3


def test_the_default_cap_is_100_entries(client, settings):
    entries = [{**ACCEPTED, "card": f"card-{i}"} for i in range(101)]
    assert client.post(URL, json={"feedback": entries}).status_code == 413
    assert client.post(URL, json={"feedback": entries[:100]}).status_code == 200


def test_a_store_that_cannot_be_written_is_503_never_200(make_app, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    client = make_app(feedback_db=str(blocker / "feedback.sqlite3")).test_client()
    resp = client.post(URL, json={"feedback": [ACCEPTED]})
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "transient"
    assert "not-a-folder" not in resp.get_data(as_text=True)  # where the store lives is not the client's business
    assert "store unavailable" in caplog.text
