"""Put fixture scenarios' patient data on a FHIR server (`cdshooks fixtures load`).

Every scenario uses the same patient id with different data, so each scenario
is uploaded under ids of its own: the patient's id becomes the scenario name
(what you type as `patientId` in the CDS Hooks sandbox), every other resource
id gets a short tag derived from that name. One transaction Bundle of PUTs per
scenario keeps the ids, so loading twice changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdshooks.data.bundles import failed_answer, is_outcome, only_outcomes

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


@dataclass(frozen=True)
class Upload:
    """What was put on the server for one scenario."""

    scenario: str
    patient_id: str
    resources: int


def scenario_files(path: str | Path) -> list[Path]:
    """The scenario.json files in a fixtures folder, one scenario folder, or the file itself."""
    path = Path(path)
    if path.is_file():
        return [path]
    if (path / "scenario.json").is_file():
        return [path / "scenario.json"]
    return sorted(path.glob("*/scenario.json"))


def server_resources(request: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The resources in the prefetch, or None when no server could hold "the same data".

    A prefetch key that is null or an OperationOutcome (or a Bundle that an
    error outcome makes a partial answer) is the point of the scenarios about
    missing data; those scenarios are not uploaded.
    """
    prefetch = request.get("prefetch")
    if not isinstance(prefetch, dict) or not prefetch:
        return None
    resources: list[dict[str, Any]] = []
    for value in prefetch.values():
        if not isinstance(value, dict) or only_outcomes(value) or failed_answer(value):
            return None  # also a Bundle of only outcomes, or one whose error outcome makes it a partial answer
        if value.get("resourceType") == "Bundle":
            # a server's search answers the results; an information outcome beside them is not data
            resources += [e["resource"] for e in value.get("entry") or ()
                          if isinstance(e.get("resource"), dict) and not is_outcome(e["resource"])]
        else:
            resources.append(value)
    return resources


def _tag(name: str) -> str:
    return "s" + hashlib.sha1(name.encode()).hexdigest()[:8]


def patient_id_for(name: str) -> str:
    """The scenario name when it is a valid FHIR id, else a stable tag."""
    return name if _FHIR_ID.match(name) else _tag(name)


def namespaced(name: str, request: dict[str, Any]) -> dict[str, Any]:
    """A copy of the request whose ids and references belong to this scenario alone."""
    old_patient = request.get("context", {}).get("patientId")
    new_patient = patient_id_for(name)
    tag = _tag(name)

    def new_id(resource_type: str, rid: str) -> str:
        if resource_type == "Patient" and rid == old_patient:
            return new_patient
        return f"{tag}-{rid}"[:64]

    def reference(ref: str) -> str:
        match = _REFERENCE.match(ref)
        return f"{match.group(1)}/{new_id(match.group(1), match.group(2))}" if match else ref

    def walk(node: Any, contained: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(v, contained) for v in node]
        if not isinstance(node, dict):
            return node
        # Contained resources keep their ids: `#id` references point at them locally.
        out = {k: walk(v, k == "contained") for k, v in node.items()}
        if not contained and isinstance(node.get("resourceType"), str) and isinstance(node.get("id"), str):
            out["id"] = new_id(node["resourceType"], node["id"])
        if isinstance(node.get("reference"), str):
            out["reference"] = reference(node["reference"])
        return out

    out = walk(copy.deepcopy(request))
    context = out.get("context")
    if isinstance(context, dict):
        if isinstance(old_patient, str):
            context["patientId"] = new_patient
        if isinstance(context.get("selections"), list):
            context["selections"] = [reference(s) if isinstance(s, str) else s for s in context["selections"]]
    return out


def transaction(resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle that PUTs each resource at its own id."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


Poster = Callable[[str, dict[str, Any]], None]


def requests_poster(timeout: float = 60.0) -> Poster:
    """POST a Bundle to a FHIR base URL with requests; raise on an HTTP error."""
    import requests

    session = requests.Session()

    def post(base_url: str, bundle: dict[str, Any]) -> None:
        resp = session.post(
            base_url.rstrip("/") + "/",
            data=json.dumps(bundle),
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
            timeout=timeout,
        )
        if resp.status_code >= 300:
            raise RuntimeError(f"{base_url} refused the transaction ({resp.status_code}): {resp.text[:500]}")

    return post


Step = Callable[[int, int, str], None]  # (scenarios finished, all scenarios, the next one's name)


def upload(
    base_url: str, path: str | Path, post: Poster | None = None, step: Step | None = None
) -> tuple[list[Upload], list[str]]:
    """Upload every scenario under `path`; returns what was loaded and what was skipped (with why).

    `step`, when given, is called before each scenario (for a progress line).
    """
    post = post or requests_poster()
    done: list[Upload] = []
    skipped: list[str] = []
    files = scenario_files(path)
    for i, file in enumerate(files):
        name = file.parent.name
        if step is not None:
            step(i, len(files), name)
        request = json.loads(file.read_text(encoding="utf-8"))["request"]
        resources = server_resources(namespaced(name, request))
        if not resources:
            skipped.append(f"{name}: its prefetch holds null or an OperationOutcome on purpose")
            continue
        post(base_url, transaction(resources))
        done.append(Upload(name, patient_id_for(name), len(resources)))
    return done, skipped
