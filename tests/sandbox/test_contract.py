"""The sandbox against Infobip's published contract: the spec's own examples, its limits."""

from __future__ import annotations

import json
import uuid

import pytest

from batch import contract
from tests.conftest import PUBLISHED, SHARED, SPEC, spec_examples
from tests.helpers import drive_to

LOOKUP = "/resources/1/requirements-lookup"
REQUESTS = "/resources/1/requests"


@pytest.mark.parametrize(
    ("shipped", "original"),
    [
        pytest.param(SPEC, "resources-openapi.normalized.json", id="normalized"),
        pytest.param(PUBLISHED, "resources-openapi.json", id="published"),
    ],
)
def test_shipped_specs_are_the_shared_ones(shipped, original) -> None:
    """The spec copies inside the package are byte for byte Infobip's in ../shared."""
    if not (SHARED / original).exists():
        pytest.skip(f"{SHARED / original} is absent: nothing to compare the shipped copy with")
    assert shipped.read_bytes() == (SHARED / original).read_bytes()


def test_limits_are_the_published_ones() -> None:
    """Per-endpoint limits come from x-throttling-info: 1/s for spending calls, 10/s reads."""
    limits = {op.operation_id: op.per_second for op in contract.operations().values()}
    assert limits == {
        "resources-requirements-lookup": 10,
        "get-resource-requests": 10,
        "submit-resource-request": 1,
        "get-resource-request": 10,
        "update-resource-request": 1,
        "cancel-resource-request": 1,
        "upload-document": 1,
        "download-document": 1,
        "delete-document": 20,
    }


@pytest.mark.parametrize("name", list(spec_examples(PUBLISHED, LOOKUP, "post")))
def test_lookup_examples_get_valid_answers(api, name) -> None:
    """Each requirements-lookup example in the spec is answered (the client hook validates it)."""
    body = spec_examples(PUBLISHED, LOOKUP, "post")[name]
    response = api.client.post(LOOKUP, json=body)
    assert response.status_code in (200, 400, 404), response.text
    if body["countryCode"] == "HR" and body["type"] == "ALPHANUMERIC_REGISTRATION":
        assert response.status_code == 200
        assert [r["key"] for r in response.json()["requirements"]][0] == "companyName"


# The examples that name documentIds never uploaded here, or placeholder values, are
# refused, and the violations say which requirement is wrong.
SUBMIT_OUTCOMES = {
    "Alphanumeric Registration": (400, {"requirements.companyRegistrationDocument"}),
    "Number Purchase - Virtual Long Number": (400, {"requirements.companyRegistrationDocument"}),
    "Number Purchase - 10DLC": (201, set()),
    "Number Purchase - Toll-Free Number": (201, set()),
    "Number Purchase - Short Code": (201, set()),
    "RCS Sender Launch": (400, {"requirements.attestationLetter", "requirements.stockExchange"}),
}


@pytest.mark.parametrize("name", list(SUBMIT_OUTCOMES))
def test_submit_examples_get_valid_answers(api, name) -> None:
    """Each submit example gets a spec-valid answer: stored, or refused with the reasons."""
    body = spec_examples(PUBLISHED, REQUESTS, "post")[name]
    status, properties = SUBMIT_OUTCOMES[name]
    response = api.client.post(REQUESTS, json=body)
    assert response.status_code == status, response.text
    if status == 400:
        assert {v["property"] for v in response.json()["violations"]} >= properties


def test_update_example_gets_valid_answer(api) -> None:
    """The spec's PATCH example, sent to a request awaiting an update, gets a spec-valid 400."""
    spec = json.loads(PUBLISHED.read_text())
    content = spec["paths"]["/resources/1/requests/{id}"]["patch"]["requestBody"]["content"]
    (example,) = content["application/json"]["examples"].values()
    request_id = drive_to(api, "UPDATE_REQUESTED")
    response = api.client.patch(f"{REQUESTS}/{request_id}", json=example["value"])
    assert response.status_code == 400
    assert {v["property"] for v in response.json()["violations"]} >= {"requirements.state"}


def test_list_parameter_examples_get_valid_answers(api) -> None:
    """The spec's list-parameter examples (comma-joined, as it writes them) filter as meant."""
    spec = json.loads(PUBLISHED.read_text())
    parameters = spec["paths"][REQUESTS]["get"]["parameters"]
    examples = {p["name"]: p["example"] for p in parameters if "example" in p}
    completed = drive_to(api, "COMPLETED")
    # openapi-core reads explode:true enum lists only as repeated keys, so this request goes
    # through the client that checks just the answer.
    response = api.bad.get(REQUESTS, params=examples)
    assert response.status_code == 200
    assert completed in [r["id"] for r in response.json()["results"]]
    dates = [r["requestedDate"] for r in response.json()["results"]]
    assert dates == sorted(dates, reverse=True)


def test_document_types_are_the_published_ones() -> None:
    """The upload extensions client and sandbox accept are exactly those the spec lists."""
    text = PUBLISHED.read_text()
    listed = text.split("Supported file formats: ", 1)[1].split('"', 1)[0]
    assert {ext.strip() for ext in listed.split(",")} == set(contract.DOCUMENT_TYPES)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("PUT", f"{REQUESTS}/{uuid.uuid4()}", {"GET", "HEAD", "PATCH"}, id="request"),
        pytest.param("DELETE", REQUESTS, {"GET", "HEAD", "POST"}, id="requests"),
        pytest.param("GET", LOOKUP, {"POST"}, id="lookup"),
    ],
)
def test_method_a_path_lacks_is_a_405_listing_its_methods(make_api, method, path, allowed) -> None:
    """A method the spec lacks for a path is a 405 ApiError whose Allow names all the path's
    methods (fuzz-found: a plain-text 405 named only those of one operation)."""
    response = make_api(rate_limits=False, check=False).client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed
    contract.validator("ApiError").validate(response.json())


def test_unknown_path_is_a_404_api_error(make_api) -> None:
    """A path outside the spec gets a 404 in the spec's ApiError shape, as every refusal does."""
    response = make_api(rate_limits=False, check=False).client.get("/resources/2/requests")
    assert response.status_code == 404
    contract.validator("ApiError").validate(response.json())
