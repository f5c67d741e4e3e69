"""`cdshooks validate [PATH]`: strict checks of fixture scenarios, every problem at once.

The service is lenient with what EHRs send; fixtures are our own and must be
exact, or a scenario silently tests something else than it says. Each problem
names its file and a JSON path (`$.request.prefetch.observations.entry[3]...`).

Errors: the scenario shape, the CDS Hooks request shape for its hook, every
resource valid FHIR R4 (fhir.resources, R4B models), references that resolve
(subject/patient -> the context patient, selections -> draftOrders entries),
expected topics that have a card template. Warnings: prefetch data that the
service's own prefetch query could not have returned (status or code outside
the query), so a FHIR server would answer differently from the fixture.

A scenario that carries invalid FHIR on purpose (a sloppy client) lists the
paths in `"deliberatelyInvalid": {"$.request...": "why"}`; FHIR problems at
or under those paths are not reported, and a listed path that is valid is.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cdshooks.cli.fixture_upload import scenario_files
from cdshooks.fhir_validation import code_problems, primitive_type
from cdshooks.services import SERVICES

INDICATORS = ("info", "warning", "critical")
SCENARIO_KEYS = {"description", "service", "asOf", "expect", "request", "deliberatelyInvalid"}
AUTHORIZATION_KEYS = {"access_token": str, "token_type": str, "expires_in": int, "scope": str, "subject": str}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a fixture file."""

    file: Path
    path: str
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}: {self.path}: {tag}{self.message}"


def fhir_problems(resource: Any) -> list[tuple[str, str]]:
    """(relative JSON path, message) for each way the resource is not valid FHIR R4."""
    from fhir.resources.R4B import get_fhir_model_class  # heavy import, only when validating

    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [("", "is not a FHIR resource (no resourceType)")]
    try:
        model = get_fhir_model_class(resource["resourceType"])
    except (KeyError, ValueError):
        return [(".resourceType", f"unknown FHIR R4 resource type {resource['resourceType']!r}")]
    found: list[tuple[str, str]] = []
    try:
        model.model_validate(resource)
    except Exception as exc:  # noqa: BLE001 - pydantic.ValidationError; anything else is reported the same way
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            found.append(("", f"is not valid FHIR R4: {exc}"))
        else:
            found += [(_loc(e.get("loc", ())), _message(e, resource["resourceType"])) for e in errors()]
    # The models do not check codes; checked even when the structure is wrong, so every problem shows.
    seen = {path for path, _ in found}
    found += [(path, f"{message} (FHIR R4)") for path, message in code_problems(resource) if path not in seen]
    return found


def _loc(loc: Iterable[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


# What a FHIR date-ish value looks like, for the messages about one that is not.
_FORMATS = {
    "dateTime": "a FHIR dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss] with Z or +hh:mm",
    "instant": "a FHIR instant is YYYY-MM-DDThh:mm:ss[.sss] with Z or +hh:mm",
    "date": "a FHIR date is YYYY, YYYY-MM or YYYY-MM-DD",
    "time": "a FHIR time is hh:mm:ss",
}


def _message(error: dict[str, Any], resource_type: str) -> str:
    """A pydantic error as one line with the value it refused (and, for a date, what one looks like)."""
    message = str(error.get("msg", "invalid")).rstrip(".")
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) and error.get("type") != "missing":
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        message += f": got {shown}"
        kind = primitive_type(resource_type, tuple(error.get("loc", ())))
        if kind in _FORMATS:
            message += f" ({_FORMATS[kind]})"
    return f"{message} (FHIR R4)"


class ScenarioCheck:
    """The checks of one scenario.json; `problems` fills as they run."""

    def __init__(self, file: Path, known_topics: set[str]):
        self.file = file
        self.known_topics = known_topics
        self.problems: list[Problem] = []
        self.deliberate: dict[str, str] = {}
        self.deliberate_used: set[str] = set()
        self.patient_id: str | None = None

    def add(self, path: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.file, path, message, severity))

    def run(self) -> list[Problem]:
        try:
            doc = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.add("$", f"cannot be read: {exc}")
            return self.problems
        except json.JSONDecodeError as exc:
            self.add("$", f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
            return self.problems
        if not isinstance(doc, dict):
            self.add("$", "must be a JSON object")
            return self.problems
        try:
            self.scenario(doc)
        except Exception as exc:  # noqa: BLE001 - a shape no check foresaw: say so, and keep what was found
            self.add(
                "$",
                f"checks stopped early on an unexpected shape ({type(exc).__name__}: {exc}); "
                "fix the problems above and validate again",
            )
        for path in sorted(set(self.deliberate) - self.deliberate_used):
            self.add(f"$.deliberatelyInvalid[{json.dumps(path)}]", "names a path that is valid FHIR: remove it")
        return self.problems

    def scenario(self, doc: dict[str, Any]) -> None:
        for key in sorted(set(doc) - SCENARIO_KEYS):
            self.add(f"$.{key}", "unknown key (expected description, service, asOf, expect, request)")
        if not isinstance(doc.get("description"), str) or not doc["description"].strip():
            self.add("$.description", "must be a non-empty string saying what the scenario shows")
        deliberate = doc.get("deliberatelyInvalid", {})
        if isinstance(deliberate, dict) and all(isinstance(v, str) and v for v in deliberate.values()):
            self.deliberate = dict(deliberate)
        else:
            self.add("$.deliberatelyInvalid", "must map JSON paths to the reason they are invalid")
        self.as_of(doc.get("asOf"))
        self.expect(doc.get("expect"))
        service_name = doc.get("service")
        service = SERVICES.get(service_name) if isinstance(service_name, str) else None
        if service is None:
            self.add("$.service", f"must be one of {', '.join(SERVICES)}")
        request = doc.get("request")
        if not isinstance(request, dict):
            self.add("$.request", "must be the CDS Hooks request (a JSON object)")
        elif service is not None:
            from cdshooks.cli.validate_request import check_request

            check_request(self, request, service)

    def as_of(self, value: Any) -> None:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            self.add("$.asOf", f"must be an ISO 8601 date-time, e.g. 2026-01-15T12:00:00Z: got {value!r}")
            return
        if when.tzinfo is None:
            self.add("$.asOf", f"must carry a UTC offset (Z or +hh:mm): got {value!r}")

    def expect(self, expect: Any) -> None:
        if not isinstance(expect, dict):
            self.add("$.expect", "must be an object with 'topics'")
            return
        for key in sorted(set(expect) - {"topics", "indicators", "suggestions"}):
            self.add(f"$.expect.{key}", "unknown key (expected topics, indicators, suggestions)")
        topics = expect.get("topics")
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            self.add("$.expect.topics", "must be a list of topic codes (empty when no card may fire)")
            topics = []
        elif topics != sorted(topics):
            self.add("$.expect.topics", "must be sorted")
        for i, topic in enumerate(topics):
            if topic not in self.known_topics:
                self.add(f"$.expect.topics[{i}]", f"{topic!r} has no card template in cards/")
        suggestions = expect.get("suggestions", {})
        if not isinstance(suggestions, dict):
            self.add("$.expect.suggestions", "must map topics to the suggestion labels their card offers")
        else:
            for topic, labels in suggestions.items():
                if topic not in topics:
                    self.add(f"$.expect.suggestions.{topic}", "is not one of the expected topics")
                if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
                    self.add(f"$.expect.suggestions.{topic}", "must be the list of suggestion labels, in order")
        indicators = expect.get("indicators", {})
        if not isinstance(indicators, dict):
            self.add("$.expect.indicators", "must map topics to indicators")
            return
        for topic, indicator in indicators.items():
            if topic not in topics:
                self.add(f"$.expect.indicators.{topic}", "is not one of the expected topics")
            if indicator not in INDICATORS:
                self.add(f"$.expect.indicators.{topic}", f"must be one of {', '.join(INDICATORS)}")

    def resource(self, path: str, resource: Any) -> None:
        """FHIR validity, minus the paths the scenario declares invalid on purpose."""
        for sub, message in fhir_problems(resource):
            full = path + sub
            allowed = [p for p in self.deliberate if full == p or full.startswith(p + ".") or full.startswith(p + "[")]
            if allowed:
                self.deliberate_used.update(allowed)
            else:
                self.add(full, message)

    def patient_reference(self, path: str, resource: dict[str, Any]) -> None:
        """subject / patient must point at the context patient."""
        for key in ("subject", "patient"):
            ref = resource.get(key)
            if (isinstance(ref, dict) and isinstance(ref.get("reference"), str) and self.patient_id
                    and ref["reference"] != f"Patient/{self.patient_id}"):
                self.add(
                    f"{path}.{key}.reference",
                    f"{ref['reference']!r} is not the context patient (Patient/{self.patient_id})",
                )


def validate(
    path: str | Path = "fixtures", step: Callable[[int, int, str], None] | None = None
) -> tuple[list[Problem], int]:
    """All problems of the scenarios under `path`, and how many scenarios were checked.

    `step`, when given, is called before each scenario (done, total, name), for a progress line.
    """
    from cdshooks.cards import topics

    path = Path(path)
    files = scenario_files(path)
    if not files:
        return [Problem(path, "$", "no scenario.json found")], 0
    known = set(topics())
    problems: list[Problem] = []
    for i, file in enumerate(files):
        if step is not None:
            step(i, len(files), file.parent.name)
        problems += ScenarioCheck(file, known).run()
    return problems, len(files)


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def query_filters(template: str) -> tuple[str, dict[str, list[str]]]:
    """The resource type and the search parameters of a prefetch template."""
    parsed = urlparse(template)
    params = {k: ",".join(v).split(",") for k, v in parse_qs(parsed.query).items()}
    return parsed.path.split("/")[0], params
