"""Fault injection: 500s, extra 429s, dropped connections, unanswered submits, latency."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from batch.sandbox.app import Faults
from tests.helpers import toll_free

LOOKUP = "/resources/1/requirements-lookup"
REQUESTS = "/resources/1/requests"
DOCUMENTS = "/resources/1/documents"
HR_ALPHA = {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR"}
SOME_ID = str(uuid.UUID(int=7))
SOME_DOCUMENT = "A" * 128

# One call of each served operation, with a body the operation would otherwise accept.
OPERATIONS: dict[str, Callable[[httpx.Client], httpx.Response]] = {
    "resources-requirements-lookup": lambda c: c.post(LOOKUP, json=HR_ALPHA),
    "submit-resource-request": lambda c: c.post(REQUESTS, json=toll_free()),
    "get-resource-requests": lambda c: c.get(REQUESTS),
    "get-resource-request": lambda c: c.get(f"{REQUESTS}/{SOME_ID}"),
    "update-resource-request": lambda c: c.patch(
        f"{REQUESTS}/{SOME_ID}", json={"requirements": []}
    ),
    "cancel-resource-request": lambda c: c.post(f"{REQUESTS}/{SOME_ID}/cancel"),
    "upload-document": lambda c: c.post(
        DOCUMENTS, files={"document": ("scan.pdf", b"%PDF-1.4", "application/pdf")}
    ),
    "download-document": lambda c: c.get(f"{DOCUMENTS}/{SOME_DOCUMENT}"),
    "delete-document": lambda c: c.delete(f"{DOCUMENTS}/{SOME_DOCUMENT}"),
}


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        pytest.param(Faults(fail_rate=1.0), 500, "E500", id="fail"),
        pytest.param(Faults(throttle_rate=1.0), 429, "E429", id="throttle"),
    ],
)
def test_every_operation_gets_the_fault(make_api, faults, status, code) -> None:
    """At rate 1 every operation answers the fault's status and errorCode; nothing is stored."""
    api = make_api(rate_limits=False, faults=faults)
    for operation, call in OPERATIONS.items():
        response = call(api.client)
        assert response.status_code == status, operation
        assert response.json()["errorCode"] == code, operation
    assert api.calls() == {(operation, status): 1 for operation in OPERATIONS}
    assert api.stored() == []


def test_dropped_connection_raises_and_is_recorded_as_status_0(make_api) -> None:
    """At drop_rate 1 each call fails in transport, and /_sandbox/calls counts it as status 0."""
    api = make_api(rate_limits=False, check=False, faults=Faults(drop_rate=1.0))
    for operation, call in OPERATIONS.items():
        with pytest.raises(httpx.TransportError):
            call(api.client)
            pytest.fail(f"{operation} got an answer")
    assert api.calls() == {(operation, 0): 1 for operation in OPERATIONS}
    assert api.stored() == []


def test_dropped_lookup_seen_from_a_second_client(make_api) -> None:
    """A dropped call shows up as status 0 to another client, which the faults leave alone."""
    api = make_api(rate_limits=False, check=False, faults=Faults(drop_rate=1.0))
    with pytest.raises(httpx.TransportError):
        api.client.post(LOOKUP, json=HR_ALPHA)
    with httpx.Client(base_url=api.running.base_url, headers=api.running.headers) as other:
        rows = other.get("/_sandbox/calls").json()["calls"]
    assert rows == [{"operation": "resources-requirements-lookup", "status": 0, "count": 1}]


def test_accept_timeout_stores_the_submit_but_never_answers(make_api) -> None:
    """With accept_timeout_rate 1 a submit times out on the client, yet the request is stored."""
    api = make_api(
        rate_limits=False, check=False, timeout=1, faults=Faults(accept_timeout_rate=1.0)
    )
    body = toll_free(quantity=3)
    with pytest.raises(httpx.ReadTimeout):
        api.client.post(REQUESTS, json=body)
    (stored,) = api.stored()
    assert (stored["type"], stored["countryCode"], stored["quantity"]) == (
        "NUMBER_PURCHASE",
        "US",
        3,
    )
    assert api.calls() == {("submit-resource-request", 0): 1}


def test_accept_timeout_leaves_other_operations_alone(make_api) -> None:
    """accept_timeout_rate only ever affects submits: a lookup and a list still answer 200."""
    api = make_api(rate_limits=False, timeout=5, faults=Faults(accept_timeout_rate=1.0))
    assert api.client.post(LOOKUP, json=HR_ALPHA).status_code == 200
    assert api.client.get(REQUESTS).status_code == 200


def test_invalid_submit_is_answered_despite_accept_timeout(make_api) -> None:
    """A refused submit (400) is answered at accept_timeout_rate 1: only stored ones go silent."""
    api = make_api(rate_limits=False, timeout=5, faults=Faults(accept_timeout_rate=1.0))
    response = api.bad.post(REQUESTS, json={"type": "NUMBER_PURCHASE", "countryCode": "US"})
    assert response.status_code == 400
    assert api.stored() == []


def _lookup_statuses(api, count: int) -> list[int]:
    return [api.client.post(LOOKUP, json=HR_ALPHA).status_code for _ in range(count)]


def test_fractional_fail_rate_mixes_answers_and_is_seeded(make_api) -> None:
    """fail_rate 0.5 gives both 200s and 500s over 40 lookups, the same ones for the same seed."""
    faults = Faults(fail_rate=0.5)
    first = _lookup_statuses(make_api(rate_limits=False, seed=11, faults=faults), 40)
    second = _lookup_statuses(make_api(rate_limits=False, seed=11, faults=faults), 40)
    other_seed = _lookup_statuses(make_api(rate_limits=False, seed=12, faults=faults), 40)
    assert set(first) == {200, 500}
    assert 5 <= first.count(500) <= 35
    assert first == second
    assert first != other_seed


def test_fractional_throttle_rate_mixes_answers(make_api) -> None:
    """throttle_rate 0.5 gives both 200s and 429s over 40 lookups."""
    statuses = _lookup_statuses(make_api(rate_limits=False, faults=Faults(throttle_rate=0.5)), 40)
    assert set(statuses) == {200, 429}


def test_latency_delays_each_call(make_api) -> None:
    """latency (80, 100) ms makes a call take at least 0.08 s."""
    api = make_api(rate_limits=False, faults=Faults(latency_ms=(80, 100)))
    for _ in range(3):
        started = time.monotonic()
        assert api.client.get(REQUESTS).status_code == 200
        assert time.monotonic() - started >= 0.08


def test_faults_never_touch_sandbox_helpers(make_api) -> None:
    """With every fault at rate 1, the /_sandbox/ helpers still answer normally."""
    faults = Faults(fail_rate=1.0, drop_rate=1.0, throttle_rate=1.0, accept_timeout_rate=1.0)
    api = make_api(rate_limits=False, faults=faults)
    for _ in range(5):
        assert api.client.get("/_sandbox/requests").json() == {"results": []}
        assert api.client.get("/_sandbox/calls").json() == {"calls": [], "log": []}
        assert api.client.post("/_sandbox/clock", json={"advanceSeconds": 60}).status_code == 200
        assert api.client.post("/_sandbox/reset").status_code == 204


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param(Faults(fail_rate=1.0), id="fail"),
        pytest.param(Faults(throttle_rate=1.0), id="throttle"),
        pytest.param(Faults(drop_rate=1.0), id="drop"),
    ],
)
def test_auth_is_checked_before_faults(make_api, faults) -> None:
    """A wrong key gets 401 E401 even when every authorised call would fault."""
    api = make_api(rate_limits=False, faults=faults)
    response = api.client.post(LOOKUP, json=HR_ALPHA, headers={"Authorization": "App wrong-key"})
    assert response.status_code == 401
    assert response.json()["errorCode"] == "E401"
    assert api.calls() == {("resources-requirements-lookup", 401): 1}
