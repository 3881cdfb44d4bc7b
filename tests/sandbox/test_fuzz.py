"""The sandbox fuzzed from Infobip's spec: Schemathesis generates valid and invalid
requests for every served operation and sends them over loopback HTTP.

Every answer must be no 5xx, carry a status code, content type, headers and body the
spec documents for the operation, and every invalid request must be refused with a 4xx
whose body is the spec's ApiError. Examples are few and derandomized, so CI sees the
same requests on every run and the file stays well under a minute.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from batch import contract
from batch.sandbox.app import SandboxConfig
from batch.sandbox.server import RunningSandbox
from tests.conftest import Api
from tests.helpers import drive_to

# The spec the sandbox is built from (the package's normalized copy: the published one's
# implicit discriminators and over-strict JsonNode would make valid answers look wrong).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(contract.spec()))).include(
    operation_id=list(contract.SERVED)
)
# The sandbox's key goes in every request; generated credentials would only earn 401s.
schema.config.generation.update(with_security_parameters=False)


def error_has_spec_shape(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A 4xx body is the spec's ApiError, documented for the status or not (the list
    documents no 400, yet refuses a page that is not an int32 as Infobip does)."""
    if not 400 <= response.status_code < 500:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    errors = [e.message for e in contract.validator("ApiError").iter_errors(body)]
    assert not errors, f"{response.status_code} body is not an ApiError: {errors[0]}"


def status_code_is_documented(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """The answer's status is one the spec documents for the operation, but for the 400
    refusing invalid data where the spec documents none: the list declares no 400, yet
    invalid data must be refused (error_has_spec_shape still checks that body)."""
    refused = response.status_code == 400 and case.meta is not None
    if refused and case.meta.generation.mode.is_negative:
        if "400" not in case.operation.responses.status_codes:
            return None
    return status_code_conformance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_is_documented,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_has_spec_shape,
]


@dataclass
class Target:
    """The sandbox under fuzz, and a request and a document in it that exist."""

    running: RunningSandbox
    existing: dict[str, str]
    aims: itertools.count[int] = field(default_factory=itertools.count)

    def aim(self, case: schemathesis.Case) -> None:
        """Point every other valid case that names a request or document at one that
        exists: random ids only ever reach the 404."""
        valid = case.meta is not None and case.meta.generation.mode.is_positive
        if valid and case.path_parameters and next(self.aims) % 2:
            case.path_parameters = {k: self.existing[k] for k in case.path_parameters}


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with (
        RunningSandbox(SandboxConfig(rate_limits=False)) as running,
        httpx.Client(base_url=running.base_url, headers=running.headers) as client,
    ):
        api = Api(running, client, client)
        # A request awaiting an update can still be read, updated and canceled.
        existing = {"id": drive_to(api, "UPDATE_REQUESTED"), "documentId": api.upload()}
        yield Target(running, existing)


@schema.parametrize()
# Derandomized and without an example database: every run sends the same requests. The
# deadline is per request and generous for a loaded 2-core CI machine; the timeout caps
# each operation's whole run.
@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow],
)
@pytest.mark.timeout(60)
def test_sandbox_keeps_the_contract(case: schemathesis.Case, target: Target) -> None:
    """Whatever the spec lets a client send, or a careless one send instead, gets an
    answer the spec documents, and invalid requests are refused with an ApiError."""
    target.aim(case)
    running = target.running
    case.call_and_validate(base_url=running.base_url, headers=running.headers, checks=CHECKS)
