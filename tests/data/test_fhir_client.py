"""The FHIR client on its own: base confinement, partial paging, token hygiene."""

from __future__ import annotations

import time

import pytest

from cdshooks.data.allowlist import FhirAllowlist
from cdshooks.data.fhir_client import FetchError, _Bearer, fetch_pages, query_url, under_base

BASE = "https://fhir.example.org/r4"
ALLOW = FhirAllowlist((BASE,))


def fetch(url, max_pages=5, token="tok"):
    return fetch_pages(url, base=BASE, token=token, allowlist=ALLOW, deadline=time.monotonic() + 5,
                       max_pages=max_pages, max_bytes=1_000_000)


def page(rid, next_url=None):
    b = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Condition", "id": rid}}]}
    if next_url:
        b["link"] = [{"relation": "next", "url": next_url}]
    return b


@pytest.mark.parametrize(
    "url, inside",
    [
        (f"{BASE}/Condition?x=1", True),
        ("https://fhir.example.org:443/r4/Condition", True),
        ("https://fhir.example.org/r4x/Condition", False),
        ("https://fhir.example.org:8443/r4/Condition", False),
        ("http://fhir.example.org/r4/Condition", False),
        ("https://other.example.org/r4/Condition", False),
    ],
)
def test_under_base(url, inside):
    assert under_base(url, BASE) is inside


def test_query_url_joins_without_double_slashes():
    assert query_url(BASE + "/", "/Patient/1") == f"{BASE}/Patient/1"


def test_a_failing_later_page_keeps_the_pages_read(rsps):
    rsps.get(f"{BASE}/Condition", json=page("c1", f"{BASE}/p2"))
    rsps.get(f"{BASE}/p2", status=503)
    result = fetch(f"{BASE}/Condition")
    assert [r["id"] for r in result.resources] == ["c1"]
    assert result.truncated and result.pages == 1


def test_a_failing_first_page_is_an_error(rsps):
    rsps.get(f"{BASE}/Condition", status=401)
    with pytest.raises(FetchError, match="HTTP 401"):
        fetch(f"{BASE}/Condition")


def test_spent_budget_makes_no_call(rsps):
    with pytest.raises(FetchError, match="time budget"):
        fetch_pages(f"{BASE}/Condition", base=BASE, token=None, allowlist=ALLOW, deadline=time.monotonic() - 1,
                    max_pages=1, max_bytes=1000)
    assert len(rsps.calls) == 0


def test_no_cookies_carried_between_requests(rsps):
    rsps.get(f"{BASE}/Condition", json=page("c1"), headers={"Set-Cookie": "session=abc; Path=/"})
    fetch(f"{BASE}/Condition")
    fetch(f"{BASE}/Condition")
    assert "Cookie" not in rsps.calls[1].request.headers


def test_bearer_repr_hides_the_token():
    assert "tok" not in repr(_Bearer("tok-secret"))
