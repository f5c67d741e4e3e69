"""`cdshooks validate`: the real fixtures pass; a broken copy fails with precise messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cdshooks.cli import commands as cli
from cdshooks.cli import scaffold
from cdshooks.cli.validate import validate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def errors(path) -> list[str]:
    problems, _ = validate(path)
    return [f"{p.path}: {p.message}" for p in problems if p.severity == "error"]


def warnings(path) -> list[str]:
    problems, _ = validate(path)
    return [f"{p.path}: {p.message}" for p in problems if p.severity == "warning"]


def write(folder: Path, doc: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


@pytest.fixture
def order_select(tmp_path) -> tuple[Path, dict]:
    """A valid order-select scenario to break."""
    return tmp_path / "case", scaffold.scenario("order-select", "a tofacitinib start")


def test_the_committed_fixtures_pass():
    problems, checked = validate(FIXTURES)
    assert checked == len(list(FIXTURES.glob("*/scenario.json"))) > 0
    assert [str(p) for p in problems if p.severity == "error"] == []


def test_a_broken_copy_of_the_fixtures_fails_naming_file_and_path(tmp_path):
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, copy)
    target = next(f for f in sorted(copy.glob("*/scenario.json")) if not validate(f)[0])
    doc = json.loads(target.read_text())
    doc["request"]["prefetch"]["patient"]["birthDate"] = "02/03/1981"
    target.write_text(json.dumps(doc))
    problems, _ = validate(copy)
    assert [(p.file, p.path) for p in problems if p.severity == "error"] == [
        (target, "$.request.prefetch.patient.birthDate")
    ]
    assert "FHIR R4" in problems[0].message


@pytest.mark.parametrize("hook", scaffold.HOOKS)
def test_scaffolded_scenarios_are_valid(tmp_path, hook):
    assert errors(write(tmp_path / hook, scaffold.scenario(hook, "x"))) == []


def test_invalid_fhir_is_reported_at_its_json_path(order_select):
    folder, doc = order_select
    obs = doc["request"]["prefetch"]["observations"]["entry"]
    obs[2]["resource"]["valueQuantity"]["value"] = "1,4"
    obs[4]["resource"]["effectiveDateTime"] = "2026-13-45"
    doc["request"]["context"]["draftOrders"]["entry"][0]["resource"]["reasonCode"] = {"text": "ILD"}
    found = errors(write(folder, doc))
    assert [f.split(": ")[0] for f in found] == [
        "$.request.context.draftOrders.entry[0].resource.reasonCode",
        "$.request.prefetch.observations.entry[2].resource.valueQuantity.value",
        "$.request.prefetch.observations.entry[4].resource.effectiveDateTime",
    ]
    assert all(f.endswith("(FHIR R4)") for f in found)


def test_references_must_resolve(order_select):
    folder, doc = order_select
    ctx = doc["request"]["context"]
    ctx["selections"] = ["MedicationRequest/draft-tofa", "MedicationRequest/not-there"]
    doc["request"]["prefetch"]["conditions"]["entry"][1]["resource"]["subject"]["reference"] = "Patient/someone-else"
    doc["request"]["prefetch"]["patient"]["id"] = "p-other"
    assert errors(write(folder, doc)) == [
        "$.request.context.selections[1]: 'MedicationRequest/not-there' is not an entry of draftOrders",
        "$.request.prefetch.patient.id: 'p-other' is not context.patientId ('p-mda5')",
        "$.request.prefetch.conditions.entry[1].resource.subject.reference: "
        "'Patient/someone-else' is not the context patient (Patient/p-mda5)",
    ]


def test_scenario_shape(order_select):
    folder, doc = order_select
    doc["description"] = ""
    doc["asOf"] = "2026-01-15T12:00:00"
    doc["expect"] = {"topics": ["no-such-topic"], "indicators": {"other": "loud"}, "cards": 2,
                     "suggestions": {"other": "Change to 5 mg"}}
    doc["extra"] = True
    assert errors(write(folder, doc)) == [
        "$.extra: unknown key (expected description, service, asOf, expect, request)",
        "$.description: must be a non-empty string saying what the scenario shows",
        "$.asOf: must carry a UTC offset (Z or +hh:mm): got '2026-01-15T12:00:00'",
        "$.expect.cards: unknown key (expected topics, indicators, suggestions)",
        "$.expect.topics[0]: 'no-such-topic' has no card template in cards/",
        "$.expect.suggestions.other: is not one of the expected topics",
        "$.expect.suggestions.other: must be the list of suggestion labels, in order",
        "$.expect.indicators.other: is not one of the expected topics",
        "$.expect.indicators.other: must be one of info, warning, critical",
    ]


def test_request_shape_for_its_hook(order_select):
    folder, doc = order_select
    req = doc["request"]
    req["hookInstance"] = "not-a-uuid"
    req["fhirAuthorization"] = {"access_token": "x", "token_type": "Bearer"}
    req["context"]["appointments"] = []
    req["prefetch"]["documents"] = None
    req["context"]["draftOrders"]["entry"][0]["resource"]["status"] = "active"
    assert errors(write(folder, doc)) == [
        "$.request.hookInstance: must be a UUID",
        "$.request.fhirAuthorization: is only meaningful with a fhirServer",
        "$.request.fhirAuthorization.expires_in: is required (int)",
        "$.request.fhirAuthorization.scope: is required (str)",
        "$.request.fhirAuthorization.subject: is required (str)",
        "$.request.context.appointments: not a context field of order-select",
        "$.request.context.draftOrders.entry[0].resource.status: draft orders must have status 'draft', not 'active'",
        "$.request.prefetch.documents: not a prefetch key of tofacitinib-order-select "
        "(patient, medications, observations, conditions, immunizations, allergies, administrations)",
    ]


def test_wrong_hook_for_the_service_is_what_the_service_would_refuse(order_select):
    folder, doc = order_select
    doc["service"] = "tofacitinib-patient-view"
    found = errors(write(folder, doc))
    assert "$.request.hook: the service would refuse it: This service answers the 'patient-view' hook, not 'order-select'." in found


def test_data_the_prefetch_query_cannot_return_is_a_warning(order_select):
    folder, doc = order_select
    doc["request"]["prefetch"]["medications"]["entry"][0]["resource"]["status"] = "stopped"
    doc["request"]["prefetch"]["observations"]["entry"][0]["resource"]["code"] = {"text": "Weight"}
    write(folder, doc)
    assert errors(folder) == []
    assert warnings(folder) == [
        "$.request.prefetch.medications.entry[0].resource.status: "
        "'stopped' is outside the prefetch query (status=active,on-hold,completed)",
        "$.request.prefetch.observations.entry[0].resource.code: no coding matches the prefetch query's code list",
    ]


def test_deliberately_invalid_paths_are_excused_and_stale_ones_reported(order_select):
    folder, doc = order_select
    draft = doc["request"]["context"]["draftOrders"]["entry"][0]["resource"]
    del draft["intent"]
    draft["category"] = {"text": "outpatient"}
    path = "$.request.context.draftOrders.entry[0].resource"
    doc["deliberatelyInvalid"] = {path: "the sandbox sends single objects and no intent"}
    assert errors(write(folder, doc)) == []
    doc["deliberatelyInvalid"]["$.request.prefetch.patient"] = "stale"
    assert errors(write(folder, doc)) == [
        '$.deliberatelyInvalid["$.request.prefetch.patient"]: names a path that is valid FHIR: remove it'
    ]


def test_unreadable_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "scenario.json").write_text("{not json")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "scenario.json").write_text("[]")
    assert errors(tmp_path) == [
        "$: is not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        "$: must be a JSON object",
    ]
    assert errors(tmp_path / "empty") == ["$: no scenario.json found"]


def test_cli_exit_codes_and_output(order_select, capsys):
    folder, doc = order_select
    write(folder, doc)
    assert cli.main(["validate", str(folder)]) == 0
    doc["request"]["hookInstance"] = "x"
    write(folder, doc)
    assert cli.main(["validate", str(folder.parent)]) == 1
    out, err = capsys.readouterr()
    assert f"{folder / 'scenario.json'}: $.request.hookInstance: must be a UUID" in out.splitlines()
    assert "1 scenario(s) checked: 1 error(s), 0 warning(s)" in err


# Every problem of a file, the bad value in date errors, and the codes of required bindings


def test_every_problem_in_a_file_is_listed_with_its_value(order_select):
    folder, doc = order_select
    prefetch = doc["request"]["prefetch"]
    patient = prefetch["patient"]
    patient["birthDate"] = "1981-02-30"  # a structural error in the resource...
    patient["gender"] = "F"  # ...does not hide a wrong code in the same resource
    obs = prefetch["observations"]["entry"]
    obs[0]["resource"]["status"] = "done"
    obs[1]["resource"]["effectiveDateTime"] = "2026-13-45"
    obs[1]["resource"]["issued"] = "yesterday"
    med = prefetch["medications"]["entry"][0]["resource"]
    med["intent"] = "whatever"
    conditions = prefetch["conditions"]["entry"]
    conditions[0]["resource"]["clinicalStatus"]["coding"][0]["code"] = "current"
    conditions[1]["resource"]["verificationStatus"] = {"text": "confirmed"}
    doc["asOf"] = "2026-01-15 noon"
    found = errors(write(folder, doc))
    obs_path = "$.request.prefetch.observations.entry"
    assert found == [
        "$.asOf: must be an ISO 8601 date-time, e.g. 2026-01-15T12:00:00Z: got '2026-01-15 noon'",
        "$.request.prefetch.patient.birthDate: Input should be a valid date or datetime, day value is outside "
        "expected range: got '1981-02-30' (a FHIR date is YYYY, YYYY-MM or YYYY-MM-DD) (FHIR R4)",
        "$.request.prefetch.patient.gender: 'F' is not a code of Patient.gender (male|female|other|unknown) (FHIR R4)",
        "$.request.prefetch.medications.entry[0].resource.intent: 'whatever' is not a code of MedicationRequest.intent "
        "(proposal|plan|order|original-order|reflex-order|filler-order|instance-order|option) (FHIR R4)",
        f"{obs_path}[0].resource.status: 'done' is not a code of Observation.status "
        "(registered|preliminary|final|amended|corrected|cancelled|entered-in-error|unknown) (FHIR R4)",
        f"{obs_path}[1].resource.effectiveDateTime: Value error, DateTime value string does not match spec regex: "
        "got '2026-13-45' (a FHIR dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss] with Z or +hh:mm)"
        " (FHIR R4)",
        f"{obs_path}[1].resource.issued: Value error, Instant value string does not match spec regex: got 'yesterday' "
        "(a FHIR instant is YYYY-MM-DDThh:mm:ss[.sss] with Z or +hh:mm) (FHIR R4)",
        "$.request.prefetch.conditions.entry[0].resource.clinicalStatus.coding[0].code: 'current' is not a code of "
        "Condition.clinicalStatus (active|recurrence|relapse|inactive|remission|resolved) (FHIR R4)",
        "$.request.prefetch.conditions.entry[1].resource.verificationStatus: Condition.verificationStatus needs a "
        "coding from http://terminology.hl7.org/CodeSystem/condition-ver-status (required binding: "
        "unconfirmed|provisional|differential|confirmed|refuted|entered-in-error) (FHIR R4)",
    ]


def test_status_codes_of_the_resources_the_service_reads(order_select):
    folder, doc = order_select
    prefetch = doc["request"]["prefetch"]
    prefetch["medications"]["entry"][0]["resource"]["status"] = "finished"
    prefetch["immunizations"]["entry"][0]["resource"]["status"] = "done"
    prefetch["observations"]["entry"][2]["resource"]["status"] = "preliminary"  # in the value set
    doc["request"]["context"]["draftOrders"]["entry"][0]["resource"]["intent"] = "orders"
    found = [f.split(": ")[0] + ": " + f.split(": ")[1].split(" (")[0] for f in errors(write(folder, doc))]
    assert found == [
        "$.request.context.draftOrders.entry[0].resource.intent: 'orders' is not a code of MedicationRequest.intent",
        "$.request.prefetch.medications.entry[0].resource.status: 'finished' is not a code of MedicationRequest.status",
        "$.request.prefetch.immunizations.entry[0].resource.status: 'done' is not a code of Immunization.status",
    ]


def test_a_deliberately_invalid_code_is_excused(order_select):
    folder, doc = order_select
    doc["request"]["prefetch"]["observations"]["entry"][0]["resource"]["status"] = "done"
    doc["deliberatelyInvalid"] = {"$.request.prefetch.observations.entry[0].resource.status": "an EHR's own status"}
    assert errors(write(folder, doc)) == []


def test_the_value_sets_completed_here_agree_with_the_models():
    from fhir.resources.R4B import get_fhir_model_class

    from cdshooks.fhir_validation import FULL_CODES

    for (model_name, field), codes in FULL_CODES.items():
        resource = model_name if model_name != "EncounterStatusHistory" else "Encounter"
        cls = get_fhir_model_class(resource)
        if model_name == "EncounterStatusHistory":
            cls = cls.model_fields["statusHistory"].annotation.__args__[0].__args__[0].get_model_klass()
        listed = cls.model_fields[field].json_schema_extra["enum_values"]
        assert listed[-1] == "+", (model_name, field)  # only lists the models cut short are completed here
        assert tuple(listed[:-1]) == codes[: len(listed) - 1], (model_name, field)


def test_emitted_resources_are_checked_for_codes_too():
    from cdshooks.fhir_validation import InvalidResource, validate_resource

    good = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p"},
            "code": {"text": "CMV PCR"}}
    assert validate_resource(good) == good
    with pytest.raises(InvalidResource, match="'ordered' is not a code of ServiceRequest.intent"):
        validate_resource({**good, "intent": "ordered"})


@pytest.mark.parametrize(
    "where, value",
    [
        (("request", "prefetch", "observations", "entry", 0, "resource", "code"), "x"),
        (("request", "prefetch", "observations", "entry", 0, "resource", "code", "coding"), 1),
        (("request", "prefetch", "observations", "entry", 0, "resource", "valueQuantity", "code"), {"a": 1}),
        (("request", "prefetch", "medications", "entry", 0), 1.5),
        (("request", "prefetch", "conditions", "entry", 1, "resource", "verificationStatus"), 1),
        (("request", "context", "selections"), True),
        (("request", "context", "selections"), [{"a": 1}]),
        (("request", "context", "draftOrders", "entry"), 1.5),
        (("request", "prefetch"), 3),
    ],
)
def test_odd_shapes_are_problems_not_crashes(order_select, where, value):
    folder, doc = order_select
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    found = errors(write(folder, doc))
    assert found and not any("checks stopped early" in f for f in found)


JSON_VALUES = [None, 0, -1.5, True, "", "x", "2026-13-01", [], [1], {}, {"a": 1}]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, path + (i,))


def test_validate_never_crashes_whatever_the_shape(tmp_path):
    # Every problem is listed only if no check stops on a shape it did not expect.
    import random

    from cdshooks.cards import topics
    from cdshooks.cli.validate import ScenarioCheck

    rng = random.Random(13)
    known = set(topics())
    bases = [scaffold.scenario(hook, "x") for hook in scaffold.HOOKS]
    file = tmp_path / "scenario.json"
    for _ in range(150):
        doc = json.loads(json.dumps(rng.choice(bases)))
        paths = list(_paths(doc))[1:]
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            node = doc
            try:
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = rng.choice(JSON_VALUES)
            except (KeyError, IndexError, TypeError):
                pass  # an earlier change removed the way there
        file.write_text(json.dumps(doc))
        found = ScenarioCheck(file, known).run()
        assert not [str(p) for p in found if "checks stopped early" in p.message], doc
