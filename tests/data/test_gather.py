"""gather(): every prefetch / FHIR fallback path, against a `responses` mock server."""

from __future__ import annotations

import logging
import threading

import pytest
import requests

from cdshooks.config import Settings
from cdshooks.data.gather import DataUnavailable, Fetch, gather

BASE = "https://fhir.example.org/r4"
TOKEN = "secret-fhir-token-123"
AUTH = {"access_token": TOKEN, "token_type": "Bearer", "scope": "patient/*.read", "subject": "cds"}
CONTEXT = {"patientId": "p1", "userId": "Practitioner/dr1"}
TEMPLATES = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
}
SETTINGS = Settings(fhir_allowlist=(BASE,), fetch_budget_seconds=5.0, fetch_max_pages=3)


def bundle(*resources, next_url: str | None = None) -> dict:
    b = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    if next_url:
        b["link"] = [{"relation": "self", "url": "x"}, {"relation": "next", "url": next_url}]
    return b


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}
MED = {"resourceType": "MedicationRequest", "id": "m1", "status": "active"}
COND = {"resourceType": "Condition", "id": "c1"}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
FULL_PREFETCH = {"patient": PATIENT, "medications": bundle(MED), "conditions": bundle(COND)}


def run(prefetch, *, server=BASE, auth=AUTH, settings=SETTINGS, required=(), templates=TEMPLATES, context=CONTEXT):
    return gather(templates, context, prefetch, server, auth, settings.fetch_policy(), required)


def test_everything_prefetched_makes_no_call(rsps):
    got = run(FULL_PREFETCH)
    assert got.resources == {"patient": [PATIENT], "medications": [MED], "conditions": [COND]}
    assert got.unavailable == frozenset()
    assert len(rsps.calls) == 0


def test_missing_key_is_fetched_with_bearer_token(rsps):
    rsps.get(f"{BASE}/Condition", json=bundle(COND))
    prefetch = {k: v for k, v in FULL_PREFETCH.items() if k != "conditions"}
    got = run(prefetch, required={"conditions"})
    assert got.resources["conditions"] == [COND]
    assert len(rsps.calls) == 1
    sent = rsps.calls[0].request
    assert sent.url == f"{BASE}/Condition?patient=p1"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/fhir+json"


def test_single_resource_read_is_fetched_as_one_element_list(rsps):
    rsps.get(f"{BASE}/Patient/p1", json=PATIENT)
    got = run({k: v for k, v in FULL_PREFETCH.items() if k != "patient"})
    assert got.resources["patient"] == [PATIENT]


def test_no_authorization_header_without_fhir_authorization(rsps):
    rsps.get(f"{BASE}/Condition", json=bundle(COND))
    got = run({"patient": PATIENT, "medications": None}, auth=None)
    assert got.resources["conditions"] == [COND]
    assert "Authorization" not in rsps.calls[0].request.headers


def test_null_means_no_data_and_is_not_fetched(rsps):
    got = run({**FULL_PREFETCH, "medications": None}, required={"medications"})
    assert got.resources["medications"] == []
    assert "medications" not in got.unavailable
    assert len(rsps.calls) == 0


def test_empty_bundle_means_no_data(rsps):
    got = run({**FULL_PREFETCH, "conditions": bundle()}, required={"conditions"})
    assert got.resources["conditions"] == []
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("failed", [OUTCOME, bundle(OUTCOME), "not a resource", [MED]])
def test_outcome_or_junk_in_prefetch_is_fetched(rsps, failed):
    rsps.get(f"{BASE}/MedicationRequest", json=bundle(MED))
    got = run({**FULL_PREFETCH, "medications": failed}, required={"medications"})
    assert got.resources["medications"] == [MED]
    assert len(rsps.calls) == 1


def test_search_warning_outcome_next_to_results_is_dropped(rsps):
    warning = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}
    got = run({**FULL_PREFETCH, "medications": bundle(MED, warning)})
    assert got.resources["medications"] == [MED]
    assert len(rsps.calls) == 0


def test_search_error_outcome_next_to_results_is_a_partial_answer_fetched_again(rsps):
    # an error issue makes the prefetch key unavailable even beside results: the server is asked instead
    rsps.get(f"{BASE}/MedicationRequest", json=bundle(MED))
    got = run({**FULL_PREFETCH, "medications": bundle(MED, OUTCOME)})
    assert got.resources["medications"] == [MED] and len(rsps.calls) == 1


def test_outcome_without_server_is_unavailable_when_optional(rsps):
    got = run({**FULL_PREFETCH, "medications": OUTCOME}, server=None)
    assert "medications" in got.unavailable
    assert "medications" not in got.resources
    assert got.resources["patient"] == [PATIENT]


def test_outcome_without_server_raises_when_required(rsps):
    with pytest.raises(DataUnavailable) as exc:
        run({**FULL_PREFETCH, "medications": OUTCOME}, server=None, required={"medications", "patient"})
    assert exc.value.keys == frozenset({"medications"})


@pytest.mark.parametrize(
    "server",
    [
        "https://evil.example.com/r4",
        "https://fhir.example.org/other",  # outside the allowlisted path prefix
        "http://fhir.example.org/r4",  # scheme differs
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://localhost:8080/fhir",
        "http://127.0.0.1/fhir",
    ],
)
def test_server_not_allowlisted_makes_no_call_and_412s_required(rsps, server):
    with pytest.raises(DataUnavailable) as exc:
        run({"patient": PATIENT}, server=server, required={"medications"})
    assert "medications" in exc.value.keys
    assert len(rsps.calls) == 0


def test_server_not_allowlisted_leaves_optional_keys_unavailable(rsps):
    got = run({"patient": PATIENT}, server="http://169.254.169.254/")
    assert got.unavailable == {"medications", "conditions"}
    assert any("not on the allowlist" in n for n in got.notes)
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "allow, server",
    [
        (("http://metadata.google.internal",), "http://metadata.google.internal/fhir"),
        (("http://rebind.example.org",), "http://rebind.example.org/fhir"),  # resolves to 169.254.169.254
        (("https://fhir.example.org",), "https://sneaky-loopback.example.org/fhir"),
        (("https://sneaky-loopback.example.org",), "https://sneaky-loopback.example.org/fhir"),
        ((), "http://127.0.0.1:8080/fhir"),  # empty allowlist: never fetch
    ],
)
def test_metadata_link_local_and_stray_loopback_refused_even_if_named(rsps, allow, server):
    settings = Settings(fhir_allowlist=allow)
    with pytest.raises(DataUnavailable):
        run({}, server=server, settings=settings, required={"patient"})
    assert len(rsps.calls) == 0


def test_exact_link_local_literal_may_be_allowlisted(rsps):
    rsps.get("http://169.254.10.20/fhir/Patient/p1", json=PATIENT)
    settings = Settings(fhir_allowlist=("http://169.254.10.20",))
    got = run({"medications": None, "conditions": None}, server="http://169.254.10.20/fhir", settings=settings)
    assert got.resources["patient"] == [PATIENT]


def test_private_address_of_allowlisted_name_is_fetched(rsps):
    rsps.get("https://internal.hospital.test/fhir/Patient/p1", json=PATIENT)
    settings = Settings(fhir_allowlist=("https://internal.hospital.test",))
    got = run({"medications": None, "conditions": None}, server="https://internal.hospital.test/fhir",
              settings=settings, required={"patient"})
    assert got.resources["patient"] == [PATIENT]


@pytest.mark.parametrize("server", ["http://127.0.0.1:8080/fhir", "http://localhost:52773/fhir", "http://[::1]:8080/"])
def test_unconfigured_allowlist_without_auth_is_loopback_on_any_port_without_token(rsps, server):
    rsps.get(server.rstrip("/") + "/Patient/p1", json=PATIENT)
    got = run({"medications": None, "conditions": None}, server=server, auth=None, settings=Settings(auth_enabled=False),
              required={"patient"})
    assert got.resources["patient"] == [PATIENT]


def test_paging_follows_next_up_to_the_bound(rsps):
    for page in range(1, 6):
        rsps.get(
            f"{BASE}/MedicationRequest" if page == 1 else f"{BASE}/page{page}",
            json=bundle({**MED, "id": f"m{page}"}, next_url=f"{BASE}/page{page + 1}"),
        )
    got = run({"patient": PATIENT, "conditions": None})
    assert [m["id"] for m in got.resources["medications"]] == ["m1", "m2", "m3"]
    assert len(rsps.calls) == 3  # fetch_max_pages
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in rsps.calls)
    assert any("more pages left unread" in n for n in got.notes)


def test_relative_next_link_is_resolved_against_the_page(rsps):
    rsps.get(f"{BASE}/MedicationRequest", json=bundle(MED, next_url="MedicationRequest?page=2"))
    rsps.get(f"{BASE}/MedicationRequest?page=2", json=bundle({**MED, "id": "m2"}))
    got = run({"patient": PATIENT, "conditions": None})
    assert [m["id"] for m in got.resources["medications"]] == ["m1", "m2"]


def test_next_link_to_another_host_is_not_followed(rsps):
    rsps.get(f"{BASE}/MedicationRequest", json=bundle(MED, next_url="https://other.example.org/steal"))
    got = run({"patient": PATIENT, "conditions": None})
    assert got.resources["medications"] == [MED]
    assert [c.request.url.split("?")[0] for c in rsps.calls] == [f"{BASE}/MedicationRequest"]


def test_prefetched_bundle_with_next_reads_further_pages(rsps):
    rsps.get(f"{BASE}/page2", json=bundle({**MED, "id": "m2"}, next_url=f"{BASE}/page3"))
    rsps.get(f"{BASE}/page3", json=bundle({**MED, "id": "m3"}, next_url=f"{BASE}/page4"))
    prefetch = {**FULL_PREFETCH, "medications": bundle(MED, next_url=f"{BASE}/page2")}
    got = run(prefetch)
    # the prefetched page counts toward the bound of 3 pages
    assert [m["id"] for m in got.resources["medications"]] == ["m1", "m2", "m3"]
    assert len(rsps.calls) == 2


def test_prefetched_bundle_with_next_is_used_as_is_when_not_fetchable(rsps):
    prefetch = {**FULL_PREFETCH, "medications": bundle(MED, next_url=f"{BASE}/page2")}
    got = run(prefetch, server=None)
    assert got.resources["medications"] == [MED]
    assert got.unavailable == frozenset()
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_not_followed(rsps, status):
    rsps.get(f"{BASE}/Patient/p1", status=status, headers={"Location": "https://other.example.org/Patient/p1"})
    rsps.get("https://other.example.org/Patient/p1", json=PATIENT)
    with pytest.raises(DataUnavailable):
        run({"medications": None, "conditions": None}, required={"patient"})
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    "response",
    [
        dict(status=500, json=OUTCOME),
        dict(status=404, json=OUTCOME),
        dict(status=200, json=OUTCOME),
        dict(status=200, body="<html>not json</html>"),
        dict(body=requests.exceptions.ReadTimeout("slow")),
        dict(body=requests.exceptions.ConnectionError("refused")),
    ],
)
def test_failed_fetch_is_unavailable_or_412(rsps, response):
    rsps.get(f"{BASE}/Condition", **response)
    got = run({"patient": PATIENT, "medications": None})
    assert got.unavailable == {"conditions"}
    with pytest.raises(DataUnavailable) as exc:
        run({"patient": PATIENT, "medications": None}, required={"conditions"})
    assert exc.value.keys == {"conditions"}


def test_oversized_response_is_refused(rsps):
    rsps.get(f"{BASE}/Condition", json=bundle(*[COND] * 50))
    settings = Settings(fhir_allowlist=(BASE,), max_body_bytes=200)
    got = run({"patient": PATIENT, "medications": None}, settings=settings)
    assert got.unavailable == {"conditions"}


def test_unresolvable_token_means_not_fetchable(rsps):
    templates = {**TEMPLATES, "encounter": "Encounter/{{context.encounterId}}"}
    got = run(FULL_PREFETCH, templates=templates)
    assert got.unavailable == {"encounter"}
    with pytest.raises(DataUnavailable):
        run(FULL_PREFETCH, templates=templates, required={"encounter"})
    assert len(rsps.calls) == 0


def test_time_budget_bounds_the_whole_gathering(rsps):
    release = threading.Event()

    def stuck(request):
        release.wait(10)
        return (200, {}, '{"resourceType": "Bundle"}')

    rsps.add_callback("GET", f"{BASE}/Condition", callback=stuck)
    settings = Settings(fhir_allowlist=(BASE,), fetch_budget_seconds=0.2)
    try:
        got = run({"patient": PATIENT, "medications": None}, settings=settings)
    finally:
        release.set()
    assert got.unavailable == {"conditions"}
    assert any("time budget" in n for n in got.notes)


def test_missing_keys_are_fetched_in_parallel(rsps):
    # Each response waits until the other request has arrived: a serial client
    # would break the barrier and both fetches would fail.
    barrier = threading.Barrier(2, timeout=4)
    threads = set()

    def meet(request):
        threads.add(threading.get_ident())
        barrier.wait()
        return (200, {}, '{"resourceType": "Bundle", "entry": []}')

    rsps.add_callback("GET", f"{BASE}/MedicationRequest", callback=meet)
    rsps.add_callback("GET", f"{BASE}/Condition", callback=meet)
    settings = Settings(fhir_allowlist=(BASE,), fetch_budget_seconds=10)
    got = run({"patient": PATIENT}, settings=settings, required={"medications", "conditions"})
    assert got.resources["medications"] == [] and got.resources["conditions"] == []
    assert len(threads) == 2


def test_token_never_in_notes_or_logs(rsps, caplog):
    caplog.set_level(logging.DEBUG)
    rsps.get(f"{BASE}/Condition", status=500)
    rsps.get(f"{BASE}/MedicationRequest", body=requests.exceptions.ConnectionError(f"Bearer {TOKEN}"))
    got = run({"patient": PATIENT})
    assert got.unavailable == {"conditions", "medications"}
    assert TOKEN not in " ".join(got.notes)
    assert TOKEN not in caplog.text


def test_prefetch_keys_not_asked_for_are_ignored(rsps):
    got = run({**FULL_PREFETCH, "extra": bundle(MED)})
    assert "extra" not in got.resources
    assert any("extra" in n for n in got.notes)


def test_the_services_real_templates_fetch_every_key(rsps):
    from cdshooks.services import REQUIRED_PREFETCH, prefetch_templates

    for path in ("Patient/p1", "MedicationRequest", "Observation", "Condition", "Immunization", "AllergyIntolerance",
                 "MedicationAdministration"):
        rsps.get(f"{BASE}/{path}", json=PATIENT if path.startswith("Patient") else bundle())
    got = run(None, templates=prefetch_templates(), required=REQUIRED_PREFETCH)
    assert set(got.resources) == set(prefetch_templates())
    assert got.unavailable == frozenset()
    urls = sorted(c.request.url for c in rsps.calls)
    assert len(urls) == len(prefetch_templates())
    assert any("subject=Patient%2Fp1" in u or "subject=Patient/p1" in u for u in urls)
    assert all("{{" not in u and "%7B%7B" not in u for u in urls)


def test_fetches_report_each_fallback_fetch_and_whether_it_worked(rsps):
    """What the metrics count: one Fetch per key fetched, none for what the prefetch held."""
    rsps.get(f"{BASE}/Condition", json=bundle(COND))
    rsps.get(f"{BASE}/MedicationRequest", body=requests.exceptions.ConnectionError("refused"))
    got = run({"patient": PATIENT})
    assert sorted(got.fetches, key=lambda f: f.resource_type) == [
        Fetch("Condition", True), Fetch("MedicationRequest", False)]
    assert run(FULL_PREFETCH).fetches == ()
    assert run({"patient": PATIENT}, server=None).fetches == ()  # refused before any fetch


def test_a_412_carries_the_fetches_made_before_giving_up(rsps):
    rsps.get(f"{BASE}/Condition", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(DataUnavailable) as exc:
        run({"patient": PATIENT, "medications": None}, required={"conditions"})
    assert exc.value.fetches == (Fetch("Condition", False),)
