"""Who may call the sandbox, and how often: Infobip's auth schemes and per-endpoint limits."""

from __future__ import annotations

import base64

import pytest

from batch import contract
from batch.sandbox.app import RateWindows
from tests.helpers import toll_free

NOBODY = "00000000-0000-4000-8000-000000000000"
HR_TEMPLATE = (  # the spec's example TEMPLATE attachment, served by the built-in catalogue
    "103AFCC51DC08FDD351D6ACB689FA071FDF7F7EB92FD6451F62A3AA92EBFA695"
    "96150BE4C4BFFBC97182A27D716ED0D3CB67682EF7E0D615EC501064A8B9A201"
)
LOOKUP = {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR"}

# One harmless call per operation; unknown ids answer 404, which still counts as a call.
CALLS = {
    "resources-requirements-lookup": ("POST", "/resources/1/requirements-lookup", {"json": LOOKUP}),
    "get-resource-requests": ("GET", "/resources/1/requests", {}),
    "submit-resource-request": ("POST", "/resources/1/requests", {"json": toll_free()}),
    "get-resource-request": ("GET", f"/resources/1/requests/{NOBODY}", {}),
    "update-resource-request": (
        "PATCH",
        f"/resources/1/requests/{NOBODY}",
        {"json": {"requirements": []}},
    ),
    "cancel-resource-request": ("POST", f"/resources/1/requests/{NOBODY}/cancel", {}),
    "upload-document": (
        "POST",
        "/resources/1/documents",
        {"files": {"document": ("a.pdf", b"%PDF-1.4", "application/pdf")}},
    ),
    "download-document": ("GET", f"/resources/1/documents/{HR_TEMPLATE}", {}),
    "delete-document": ("DELETE", f"/resources/1/documents/{'A' * 128}", {}),
}


@pytest.mark.parametrize("operation", list(CALLS))
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("App wrong-key", id="wrong-key"),
        pytest.param("Bearer sandbox-key", id="other-scheme"),
        pytest.param("Basic " + base64.b64encode(b"user:wrong").decode(), id="basic-wrong"),
        pytest.param("Basic !!!notbase64", id="basic-garbage"),
    ],
)
def test_unauthorized_calls_get_e401(api, operation, authorization) -> None:
    """Without the right key every operation answers 401 E401, in the ApiError shape."""
    method, path, kwargs = CALLS[operation]
    headers = {} if authorization is None else {"Authorization": authorization}
    api.bad.headers.pop("Authorization")
    response = api.bad.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 401
    assert response.json()["errorCode"] == "E401"
    assert response.json()["resources"][0]["name"] == "API Authentication"


def test_helpers_need_the_key_too(api) -> None:
    """The /_sandbox/ helpers answer 401 without the key."""
    for method, path in (
        ("GET", "/_sandbox/requests"),
        ("GET", "/_sandbox/calls"),
        ("POST", "/_sandbox/reset"),
    ):
        assert (
            api.bad.request(method, path, headers={"Authorization": "App nope"}).status_code == 401
        )


def test_basic_auth_with_the_key_as_password(api) -> None:
    """HTTP Basic is accepted when its password is the API key (any username)."""
    token = base64.b64encode(b"anyone:sandbox-key").decode()
    response = api.client.get("/resources/1/requests", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200


def test_custom_api_key(make_api) -> None:
    """--api-key sets the key; the default one is then refused."""
    api = make_api(api_key="s3cret", rate_limits=False)
    assert api.client.get("/resources/1/requests").status_code == 200
    assert (
        api.bad.get(
            "/resources/1/requests", headers={"Authorization": "App sandbox-key"}
        ).status_code
        == 401
    )


@pytest.mark.parametrize("operation", list(CALLS))
def test_each_endpoint_has_its_published_limit(make_api, operation) -> None:
    """Sending 2N+1 calls at once to an N/s endpoint: N to 2N pass, the rest get 429 E429."""
    api = make_api()  # speed 1: the published limits as they are
    limit = contract.operations()[operation].per_second
    method, path, kwargs = CALLS[operation]
    answers = [api.client.request(method, path, **kwargs) for _ in range(2 * limit + 1)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled and all(a.json()["errorCode"] == "E429" for a in throttled)
    assert limit <= len(answers) - len(throttled) <= 2 * limit
    counted = api.calls()
    assert counted[(operation, 429)] == len(throttled)


def test_submitting_faster_than_one_per_second_gets_429(make_api) -> None:
    """Three submits back to back: at least one is refused with 429, and none of those is stored."""
    api = make_api()
    answers = [api.client.post("/resources/1/requests", json=toll_free(q)) for q in (1, 2, 3)]
    created = [a for a in answers if a.status_code == 201]
    assert any(a.status_code == 429 for a in answers)
    assert {r["id"] for r in api.stored()} == {a.json()["id"] for a in created}


def test_limits_are_per_endpoint(make_api) -> None:
    """Exhausting the submit limit leaves lookups free."""
    api = make_api()
    for q in (1, 2, 3):
        api.client.post("/resources/1/requests", json=toll_free(q))
    assert api.client.post("/resources/1/requirements-lookup", json=LOOKUP).status_code == 200


def test_speed_multiplies_the_limit() -> None:
    """At speed X an endpoint takes X times its calls in each one-second window."""
    now = [100.0]
    submit = contract.operations()["submit-resource-request"]
    windows = RateWindows(4, timer=lambda: now[0])
    assert [windows.admit("k", submit) for _ in range(5)] == [True] * 4 + [False]
    assert windows.admit("other-key", submit), "limits are per key"
    now[0] += 1.0
    assert windows.admit("k", submit), "a new window"


def test_slow_speed_stretches_the_window() -> None:
    """Below one call per second, an endpoint takes one call per 1/rate seconds."""
    now = [100.0]
    submit = contract.operations()["submit-resource-request"]
    windows = RateWindows(0.5, timer=lambda: now[0])
    assert windows.admit("k", submit)
    now[0] += 1.0
    assert not windows.admit("k", submit)
    now[0] += 1.0
    assert windows.admit("k", submit)
