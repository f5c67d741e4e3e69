"""`cdshooks replay`: send fixture scenarios' hook requests and show the cards.

In-process by default (auth off, evaluation time = the scenario's asOf), or to
a running service with `--url`. One scenario (its folder, its scenario.json,
or its name under ./fixtures) or every scenario of a fixtures folder. Building
blocks (load, send, format) are separate so the command can grow.

What can go wrong outside the service (a scenario file that is not a
scenario, a service that does not answer) is a `ReplayError`: one line for
the terminal, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cdshooks.cli.date_roll import roll_to
from cdshooks.cli.replay_view import grouped_cards, paint, use_colour, wrap_markdown
from cdshooks.protocol import EVALUATION_TIME_HEADER

# A server on the real clock is seconds away from a replay at `--now` the current time.
EVALUATION_TIME_TOLERANCE_S = 60


class ReplayError(Exception):
    """A scenario could not be replayed; the message is one line naming what and why."""


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
    headers: Mapping[str, str] = field(default_factory=dict)


def scenario_paths(fixture: str | Path) -> list[Path]:
    """The scenario.json files of a folder of scenarios, one scenario (folder or file), or a name under ./fixtures."""
    from cdshooks.cli.fixture_upload import scenario_files

    path = Path(fixture)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = scenario_files(path)
        if found:
            return found
        raise FileNotFoundError(f"no scenario.json in {path} or in its subfolders")
    named = Path("fixtures") / str(fixture) / "scenario.json"
    if named.is_file():
        return [named]
    raise FileNotFoundError(f"no scenario found for {str(fixture)!r} (tried {path}, {path / 'scenario.json'}, {named})")


def resolve(fixture: str) -> Path:
    """The scenario.json of one scenario (the first, for a folder of them)."""
    return scenario_paths(fixture)[0]


def load_scenario(fixture: str | Path) -> Scenario:
    """The scenario, or a ReplayError saying in one line what is wrong with its file."""
    path = resolve(str(fixture))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}: is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise ReplayError(f"{path}: is not a scenario (a JSON object with service, asOf and request)")
    missing = [k for k in ("service", "asOf", "request") if k not in doc]
    if missing:
        raise ReplayError(f"{path}: has no {', '.join(missing)} (run `cdshooks validate {path}` for every problem)")
    if not isinstance(doc["service"], str) or not isinstance(doc["request"], dict):
        raise ReplayError(f"{path}: service must be a string and request a JSON object")
    try:
        as_of = datetime.fromisoformat(str(doc["asOf"]).replace("Z", "+00:00"))
    except ValueError:
        raise ReplayError(f"{path}: asOf {doc['asOf']!r} is not an ISO 8601 date-time") from None
    if as_of.tzinfo is None:
        raise ReplayError(f"{path}: asOf {doc['asOf']!r} has no UTC offset (Z or +hh:mm)")
    expect = doc.get("expect", {})
    return Scenario(
        name=path.parent.name,
        description=str(doc.get("description", "")),
        service=doc["service"],
        as_of=as_of,
        expect=expect if isinstance(expect, dict) else {},
        request=doc["request"],
    )


def send_in_process(scenario: Scenario, now: datetime | None = None) -> Reply:
    """POST the request to an app built here (auth off, now = asOf unless given)."""
    from cdshooks.app import create_app
    from cdshooks.config import Settings

    # A replay is not a server: no feedback file in the working directory, and
    # no "authentication is off" warning or request log line on the terminal.
    settings = Settings.from_env(now=now or scenario.as_of, auth_enabled=False, feedback_db=":memory:")
    with quiet(*SERVICE_LOGS):
        client = create_app(settings).test_client()
        resp = client.post(f"/cds-services/{scenario.service}", json=scenario.request)
    return Reply(resp.status_code, resp.get_json(silent=True), dict(resp.headers))


# What a server says and a command running the app in-process should not:
# the "authentication is off" warning and the request log line.
SERVICE_LOGS = ("cdshooks.security", "cdshooks.requests")


@contextlib.contextmanager
def quiet(*names: str) -> Iterator[None]:
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
    """POST the request to a running service at base_url; a ReplayError when it cannot be reached."""
    import requests

    if not base_url.startswith(("http://", "https://")):
        raise ReplayError(f"--url {base_url!r}: give the service's base URL, e.g. http://127.0.0.1:8080")
    url = f"{base_url.rstrip('/')}/cds-services/{scenario.service}"
    try:
        resp = requests.post(url, json=scenario.request, timeout=timeout)
    except requests.Timeout:
        raise ReplayError(f"{url}: no answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise ReplayError(f"cannot reach {url}: {_reason(exc)}") from None
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    return Reply(resp.status_code, body, dict(resp.headers))


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, e.g. 'Connection refused' (not the urllib3 retry story)."""
    found = _ERRNO.findall(str(exc))
    if found:
        return found[-1].strip()
    if "NameResolutionError" in str(exc) or "getaddrinfo" in str(exc):
        return "host name not found"
    return type(exc).__name__


def card_topics(body: Any) -> list[str]:
    """The sorted source.topic codes of a response's cards."""
    cards = body.get("cards", []) if isinstance(body, dict) else []
    return sorted(c.get("source", {}).get("topic", {}).get("code", "?") for c in cards)


def terminal_width() -> int:
    """Columns to wrap card details to: the terminal's (or COLUMNS), 100 when there is none."""
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


def format_card(card: dict[str, Any], detail: bool = False, width: int | None = None) -> str:
    """A card as a few readable lines; with `detail`, its Markdown detail (wrapped) and links too."""
    topic = card.get("source", {}).get("topic", {})
    lines = [f"[{card.get('indicator', '?').upper()}] {card.get('summary', '')}"]
    lines.append(f"    topic:  {topic.get('code', '?')} ({topic.get('display', '')})")
    lines.append(f"    source: {card.get('source', {}).get('label', '')}")
    if detail and isinstance(card.get("detail"), str) and card["detail"].strip():
        lines.append("    detail:")
        lines.append(wrap_markdown(card["detail"], width or terminal_width(), indent="      "))
    for s in card.get("suggestions", []):
        star = " (recommended)" if s.get("isRecommended") else ""
        lines.append(f"    suggestion: {s.get('label', '')}{star}")
        for a in s.get("actions", []):
            res = a.get("resource") or {}
            target = a.get("resourceId") or f"{res.get('resourceType', '?')}/{res.get('id', 'new')}"
            lines.append(f"      - {a.get('type')} {target}: {a.get('description', '')}")
    if detail:
        for link in card.get("links", []):
            lines.append(f"    link: {link.get('label', '')} <{link.get('url', '')}>")
    return "\n".join(lines)


def format_reply(
    scenario: Scenario, reply: Reply, colour: bool = False, detail: bool = False, width: int | None = None
) -> str:
    """The whole reply, readable: status, cards grouped by indicator, whether the topics are as expected."""
    head = f"{scenario.name}: {scenario.description}\nHTTP {reply.status} from {scenario.service}"
    if reply.status != 200 or not isinstance(reply.body, dict):
        issues = reply.body.get("issue", []) if isinstance(reply.body, dict) else []
        text = "; ".join(i.get("diagnostics", "") for i in issues if isinstance(i, dict)) or str(reply.body)
        return f"{head}\n{text}"
    cards = reply.body.get("cards", [])
    shown = grouped_cards(cards, lambda c: format_card(c, detail, width), colour)
    parts = [head, shown] if cards else [head, "No cards."]
    expected = scenario.expect.get("topics")
    if expected is not None:
        verdict = (
            paint("as expected", "ok", colour)
            if as_expected(scenario, reply)
            else paint(f"EXPECTED {sorted(expected)}", "bad", colour)
        )
        parts.append(f"topics: {card_topics(reply.body)} {verdict}")
    return "\n".join(parts)


def as_expected(scenario: Scenario, reply: Reply) -> bool:
    expected = scenario.expect.get("topics")
    return reply.status == 200 and isinstance(expected, list) and card_topics(reply.body) == sorted(expected)


def evaluation_warning(scenario: Scenario, reply: Reply, url: str) -> str | None:
    """A warning when the service evaluated at another time than the scenario's asOf (its cards may then differ)."""
    reported = {k.lower(): v for k, v in reply.headers.items()}.get(EVALUATION_TIME_HEADER.lower())
    if reported is None:
        return (
            f"warning: {url} does not report its evaluation time ({EVALUATION_TIME_HEADER}); "
            f"unless it runs at {_iso(scenario.as_of)} (serve --now), the cards may differ from expect.topics"
        )
    try:
        evaluated = datetime.fromisoformat(reported.replace("Z", "+00:00"))
        gap = abs((evaluated - scenario.as_of).total_seconds())
    except (ValueError, TypeError):
        return f"warning: {url} reports an unreadable evaluation time {reported!r}"
    if gap <= EVALUATION_TIME_TOLERANCE_S:
        return None
    return (
        f"warning: {url} evaluated at {_iso(evaluated)}, but {scenario.name} is written for "
        f"{_iso(scenario.as_of)}: the cards may differ from expect.topics "
        f"(serve with --now {_iso(scenario.as_of)}, or replay with --now {_iso(evaluated)})"
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Tally:
    """What a replay of several scenarios came to."""

    replayed: int = 0
    answered_200: int = 0
    as_expected: int = 0
    unexpected: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def replay(
    fixture: str,
    *,
    url: str | None = None,
    as_json: bool = False,
    now: datetime | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    color: str = "auto",
    detail: bool = False,
    width: int | None = None,
) -> int:
    """Replay one scenario or every scenario of a folder and print the result.

    Exit status: 0 when the service answered 200 to each, 1 when it answered
    anything else to one, 2 when a scenario could not be replayed (not found,
    broken file, service unreachable: one line on `err` each).
    """
    from cdshooks.cli.progress import Progress

    out = out or sys.stdout
    err = err or sys.stderr
    paths = scenario_paths(fixture)
    many = len(paths) > 1 or (Path(fixture).is_dir() and not (Path(fixture) / "scenario.json").is_file())
    colour = use_colour(out, mode=color)
    tally = Tally()
    bodies: dict[str, Any] = {}
    warned: set[str] = set()
    # On a terminal the cards themselves show how far it is; a progress line (on a
    # terminal's stderr) only when they go to a file or a pipe.
    progress = Progress("replaying", total=len(paths), stream=err)
    progress.enabled = progress.enabled and many and not _isatty(out)

    def say(message: str) -> None:
        progress.clear()
        print(message, file=err)

    with progress:
        for i, path in enumerate(paths):
            progress.update(i, path.parent.name)
            try:
                scenario = load_scenario(path)
            except ReplayError as exc:
                say(f"cdshooks replay: {exc}")
                tally.broken.append(path.parent.name)
                continue
            if now is not None:  # every date moves with the evaluation time, so the cards stay the same
                scenario = replace(scenario, request=roll_to(scenario.request, scenario.as_of, now), as_of=now)
            try:
                reply = send_http(scenario, url) if url else send_in_process(scenario, now)
            except ReplayError as exc:  # the service is unreachable: so it is for every other scenario
                say(f"cdshooks replay: {exc}")
                return 2
            if url:
                warning = evaluation_warning(scenario, reply, url)
                if warning and warning not in warned:
                    warned.add(warning)
                    say(warning)
            tally.replayed += 1
            tally.answered_200 += reply.status == 200
            if as_expected(scenario, reply):
                tally.as_expected += 1
            else:
                tally.unexpected.append(scenario.name)
            if as_json:
                bodies[scenario.name] = reply.body
            else:
                if tally.replayed > 1:
                    out.write("\n")
                out.write(format_reply(scenario, reply, colour, detail, width) + "\n")
    if as_json and bodies:
        doc = bodies if many else next(iter(bodies.values()))
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if many:
        print(_summary(tally), file=err)
    if tally.broken:
        return 2
    return 0 if tally.answered_200 == tally.replayed else 1


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _summary(t: Tally) -> str:
    text = f"{t.replayed} scenario(s) replayed: {t.answered_200} answered 200, {t.as_expected} with the expected topics"
    if t.unexpected:
        shown = ", ".join(t.unexpected[:5]) + (f" and {len(t.unexpected) - 5} more" if len(t.unexpected) > 5 else "")
        text += f"; not as expected: {shown}"
    if t.broken:
        text += f"; {len(t.broken)} could not be read: {', '.join(t.broken)}"
    return text
