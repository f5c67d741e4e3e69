"""`cdshooks fixtures new NAME`: a new scenario around the fully worked-up base patient.

The patient comes from `scaffold_template.json` in this package (the same data
as tests/fixturekit.py, so it works from an installed package too). No safety
rule fires for that patient, but the base cards do (dose guidance for a
tofacitinib draft, the safety summary on a chart): `new` evaluates the request
as the tests will (default thresholds, now = asOf) and writes what fires as
`expect`, so `make test` passes right after it. Then change the data to show
one rule and add its topic.
"""

from __future__ import annotations

import json
import re
import uuid
from copy import deepcopy
from importlib import resources
from pathlib import Path
from typing import Any

from cdshooks.cli.validate import query_filters
from cdshooks.protocol import ORDER_SELECT, PATIENT_VIEW
from cdshooks.services import SERVICES, prefetch_templates

HOOKS = tuple(s.hook for s in SERVICES.values())
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")


def template() -> dict[str, Any]:
    text = resources.files("cdshooks").joinpath("scaffold_template.json").read_text(encoding="utf-8")
    return json.loads(text)


def prefetch(resources_: list[dict[str, Any]]) -> dict[str, Any]:
    """The resources split over the services' prefetch keys (a read gives one resource, a search a Bundle)."""
    out: dict[str, Any] = {}
    for key, query in prefetch_templates().items():
        resource_type, _ = query_filters(query)
        found = [r for r in resources_ if r["resourceType"] == resource_type]
        if "?" not in query:
            out[key] = found[0] if found else None
            continue
        entries = [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in found]
        out[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
        if entries:  # FHIR JSON has no empty arrays (an empty search has no `entry`)
            out[key]["entry"] = entries
    return out


def request(hook: str) -> dict[str, Any]:
    """A complete CDS Hooks request for `hook` (a tofacitinib draft for the order hooks)."""
    t = deepcopy(template())
    context = {
        "userId": t["context"]["userId"],
        "patientId": t["patientId"],
        "encounterId": t["context"]["encounterId"],
    }
    data = t["resources"]
    if hook == PATIENT_VIEW:
        data = data + t["onTofacitinib"]
    else:
        draft = t["draft"]
        if hook == ORDER_SELECT:
            context["selections"] = [f"{draft['resourceType']}/{draft['id']}"]
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch(data)}


def scenario(hook: str, description: str | None = None) -> dict[str, Any]:
    service = next(s for s in SERVICES.values() if s.hook == hook)
    return {
        "description": description or f"TODO: what this {hook} scenario shows",
        "service": service.id,
        "asOf": template()["asOf"],
        "expect": {"topics": []},
        "request": request(hook),
    }


def fired(doc: dict[str, Any]) -> dict[str, Any]:
    """The `expect` of what the scenario fires: evaluated as tests/scenarios/test_fixtures.py does."""
    from datetime import datetime

    from cdshooks.app import create_app
    from cdshooks.cli.replay import SERVICE_LOGS, quiet
    from cdshooks.config import Settings

    as_of = datetime.fromisoformat(doc["asOf"].replace("Z", "+00:00"))
    # Default settings, not the environment's: the thresholds `make test` uses.
    with quiet(*SERVICE_LOGS):
        app = create_app(Settings(now=as_of, auth_enabled=False, feedback_db=":memory:"))
        resp = app.test_client().post(f"/cds-services/{doc['service']}", json=doc["request"])
    if resp.status_code != 200:
        raise RuntimeError(
            f"the service answered {resp.status_code} to the scaffolded request: {resp.get_data(as_text=True)}"
        )
    cards = resp.get_json()["cards"]
    topics = sorted(c["source"]["topic"]["code"] for c in cards)
    expect: dict[str, Any] = {"topics": topics}
    if cards:
        expect["indicators"] = {c["source"]["topic"]["code"]: c["indicator"] for c in cards}
    return expect


def new(name: str, hook: str = ORDER_SELECT, root: str | Path = "fixtures", *, force: bool = False) -> Path:
    """Write ROOT/NAME/scenario.json, expecting the cards it fires; refuses to overwrite unless `force`."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r}: use lower-case letters, digits, '-' and '.' (at most 64), e.g. dose-renal-30")
    if hook not in HOOKS:
        raise ValueError(f"unknown hook {hook!r} (one of {', '.join(HOOKS)})")
    path = Path(root) / name / "scenario.json"
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force to overwrite)")
    doc = scenario(hook)
    doc["expect"] = fired(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path
