"""Fixture scenarios as data on a FHIR server.

Every scenario uses the same patient id with different data, so before loading
each scenario's ids are given a prefix of their own (`isolate`): all scenarios
then live side by side on one server. What a scenario prefetches is what the
server must return when the service queries it instead (`server_resources`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


def scenario_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*/scenario.json"))


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def prefix_for(name: str) -> str:
    """A short, stable id prefix (FHIR ids are limited to 64 characters)."""
    return "s" + hashlib.sha1(name.encode()).hexdigest()[:8]


def isolate(name: str, request: dict) -> dict:
    """A copy of the request whose resource ids and references carry the scenario's prefix."""
    prefix = prefix_for(name)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            if isinstance(node.get("resourceType"), str) and isinstance(node.get("id"), str):
                out["id"] = f"{prefix}-{node['id']}"
            ref = node.get("reference")
            if isinstance(ref, str) and _REFERENCE.match(ref):
                out["reference"] = _prefixed(ref, prefix)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out = walk(copy.deepcopy(request))
    context = out.get("context", {})
    if isinstance(context.get("patientId"), str):
        context["patientId"] = f"{prefix}-{request['context']['patientId']}"
    if isinstance(context.get("selections"), list):
        context["selections"] = [_prefixed(s, prefix) for s in context["selections"]]
    return out


def _prefixed(reference: str, prefix: str) -> str:
    match = _REFERENCE.match(reference)
    if not match:
        return reference
    return f"{match.group(1)}/{prefix}-{match.group(2)}"


def server_resources(request: dict) -> list[dict] | None:
    """The resources the prefetch holds, or None when the prefetch cannot be had from a server.

    A prefetch key that is absent, null or an OperationOutcome is the point of
    scenarios about missing data; a server holding "the same data" does not exist.
    """
    prefetch = request.get("prefetch")
    if not isinstance(prefetch, dict) or not prefetch:
        return None
    resources: list[dict] = []
    for value in prefetch.values():
        if not isinstance(value, dict):
            return None
        if value.get("resourceType") == "Bundle":
            resources += [e["resource"] for e in value.get("entry") or () if "resource" in e]
        elif value.get("resourceType") == "OperationOutcome":
            return None
        else:
            resources.append(value)
    return resources
