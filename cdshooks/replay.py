"""`cdshooks replay`: send a fixture scenario's hook request and show the cards.

In-process by default (auth off, evaluation time = the scenario's asOf), or to
a running service with `--url`. Building blocks (load, send, format) are
separate so the command can grow (colour, date rolling, validation).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, TextIO

from cdshooks.date_roll import roll_to
from cdshooks.replay_view import grouped_cards, paint, use_colour


@dataclass(frozen=True)
class Scenario:
    """A fixture scenario (fixtures/<name>/scenario.json)."""

    name: str
    description: str
    service: str
    as_of: datetime
    expect: dict[str, Any]
    request: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


def resolve(fixture: str) -> Path:
    """The scenario.json for a folder, a file, or a bare name under ./fixtures."""
    path = Path(fixture)
    candidates = [path, path / "scenario.json", Path("fixtures") / fixture / "scenario.json"]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"no scenario found for {fixture!r} (tried {', '.join(map(str, candidates))})")


def load_scenario(fixture: str | Path) -> Scenario:
    path = resolve(str(fixture))
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Scenario(
        name=path.parent.name,
        description=doc.get("description", ""),
        service=doc["service"],
        as_of=datetime.fromisoformat(doc["asOf"].replace("Z", "+00:00")),
        expect=doc.get("expect", {}),
        request=doc["request"],
    )


def send_in_process(scenario: Scenario, now: datetime | None = None) -> Reply:
    """POST the request to an app built here (auth off, now = asOf unless given)."""
    from cdshooks.app import create_app
    from cdshooks.config import Settings

    # A replay is not a server: no feedback file in the working directory, and
    # no "authentication is off" warning or request log line on the terminal.
    settings = Settings.from_env(now=now or scenario.as_of, auth_enabled=False, feedback_db=":memory:")
    with _quiet("cdshooks.security", "cdshooks.requests"):
        client = create_app(settings).test_client()
        resp = client.post(f"/cds-services/{scenario.service}", json=scenario.request)
    return Reply(resp.status_code, resp.get_json(silent=True))


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Only errors from these loggers while the block runs."""
    # A filter, not a level: building the app sets the request log's level itself.
    loggers = [logging.getLogger(n) for n in names]
    errors_only = _ErrorsOnly()
    for lg in loggers:
        lg.addFilter(errors_only)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(errors_only)


class _ErrorsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def send_http(scenario: Scenario, base_url: str, timeout: float = 30) -> Reply:
    """POST the request to a running service at base_url."""
    import requests

    url = f"{base_url.rstrip('/')}/cds-services/{scenario.service}"
    resp = requests.post(url, json=scenario.request, timeout=timeout)
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    return Reply(resp.status_code, body)


def card_topics(body: Any) -> list[str]:
    """The sorted source.topic codes of a response's cards."""
    cards = body.get("cards", []) if isinstance(body, dict) else []
    return sorted(c.get("source", {}).get("topic", {}).get("code", "?") for c in cards)


def format_card(card: dict[str, Any]) -> str:
    """A card as a few readable lines."""
    topic = card.get("source", {}).get("topic", {})
    lines = [f"[{card.get('indicator', '?').upper()}] {card.get('summary', '')}"]
    lines.append(f"    topic:  {topic.get('code', '?')} ({topic.get('display', '')})")
    lines.append(f"    source: {card.get('source', {}).get('label', '')}")
    for s in card.get("suggestions", []):
        star = " (recommended)" if s.get("isRecommended") else ""
        lines.append(f"    suggestion: {s.get('label', '')}{star}")
        for a in s.get("actions", []):
            res = a.get("resource") or {}
            target = a.get("resourceId") or f"{res.get('resourceType', '?')}/{res.get('id', 'new')}"
            lines.append(f"      - {a.get('type')} {target}: {a.get('description', '')}")
    return "\n".join(lines)


def format_reply(scenario: Scenario, reply: Reply, colour: bool = False) -> str:
    """The whole reply, readable: status, cards grouped by indicator, whether the topics are as expected."""
    head = f"{scenario.name}: {scenario.description}\nHTTP {reply.status} from {scenario.service}"
    if reply.status != 200 or not isinstance(reply.body, dict):
        issues = reply.body.get("issue", []) if isinstance(reply.body, dict) else []
        detail = "; ".join(i.get("diagnostics", "") for i in issues) or str(reply.body)
        return f"{head}\n{detail}"
    cards = reply.body.get("cards", [])
    parts = [head, grouped_cards(cards, format_card, colour)] if cards else [head, "No cards."]
    expected = scenario.expect.get("topics")
    if expected is not None:
        same = card_topics(reply.body) == sorted(expected)
        verdict = paint("as expected", "ok", colour) if same else paint(f"EXPECTED {sorted(expected)}", "bad", colour)
        parts.append(f"topics: {card_topics(reply.body)} {verdict}")
    return "\n".join(parts)


def replay(
    fixture: str,
    *,
    url: str | None = None,
    as_json: bool = False,
    now: datetime | None = None,
    out: TextIO | None = None,
    color: str = "auto",
) -> int:
    """Run one scenario and print the result; exit status 0 when the service answered 200."""
    out = out or sys.stdout
    scenario = load_scenario(fixture)
    if now is not None:  # every date moves with the evaluation time, so the cards stay the same
        scenario = replace(scenario, request=roll_to(scenario.request, scenario.as_of, now), as_of=now)
    reply = send_http(scenario, url) if url else send_in_process(scenario, now)
    if as_json:
        out.write(json.dumps(reply.body, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(format_reply(scenario, reply, use_colour(out, mode=color)) + "\n")
    return 0 if reply.status == 200 else 1
