"""Request bodies that the built-in catalogue accepts, and ways to steer a request."""

from __future__ import annotations

import copy
from typing import Any

HR_ALPHA_REQUIREMENTS = [
    {"key": "companyName", "value": "Infobip"},
    {"key": "vatNumber", "value": "HR12345678901"},
    {"key": "useCase", "value": "Notifications"},
    {"key": "expectedMonthlyMessages", "value": 50000},
    {"key": "companyEmailAddresses", "value": ["contact@infobip.com", "info@infobip.com"]},
    {"key": "companyWebsite", "value": "https://www.infobip.com"},
    {"key": "contactPhoneNumber", "value": "+385911234567"},
    {"key": "registrationConsent", "value": "I consent that Infobip will do registration in my name."},
]


def alpha(sender: str = "InfobipHR", document: str | None = None, **fields: Any) -> dict[str, Any]:
    """A valid HR alphanumeric registration; `document` is an uploaded documentId."""
    requirements = copy.deepcopy(HR_ALPHA_REQUIREMENTS)
    if document is not None:
        requirements.append({"key": "companyRegistrationDocument", "value": document})
    body = {
        "type": "ALPHANUMERIC_REGISTRATION",
        "senderName": sender,
        "countryCode": "HR",
        "requirements": requirements,
    }
    return {**body, **fields}


def toll_free(quantity: int = 1) -> dict[str, Any]:
    """A US toll-free purchase: no requirements at all."""
    return {
        "type": "NUMBER_PURCHASE",
        "quantity": quantity,
        "numberType": "TOLL_FREE_NUMBER",
        "capabilities": ["SMS"],
        "countryCode": "US",
        "requirements": [],
    }


def ten_dlc(state: str = "IN", npa: str | None = "317", nxx: str | None = "909") -> dict[str, Any]:
    requirements = [{"key": "state", "value": state}]
    requirements += [{"key": k, "value": v} for k, v in (("npa", npa), ("nxx", nxx)) if v is not None]
    return {
        "type": "NUMBER_PURCHASE",
        "quantity": 1,
        "numberType": "TEN_DIGIT_LONG_CODE",
        "capabilities": ["SMS"],
        "countryCode": "US",
        "requirements": requirements,
    }


def replace(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """The body with one requirement's value changed (None removes it)."""
    changed = copy.deepcopy(body)
    changed["requirements"] = [r for r in changed["requirements"] if r["key"] != key]
    if value is not None:
        changed["requirements"].append({"key": key, "value": value})
    return changed


def drive_to(api: Any, status: str, *, make: Any = None, tries: int = 40) -> str:
    """Submit variants of a request until one reaches `status`; returns its id.

    Lifecycles are decided by the seed and the content, so for a given seed the same
    variant always gets there: the search is deterministic.
    """
    make = make or (lambda i: ten_dlc() | {"quantity": i % 49 + 1})
    for i in range(tries):
        response = api.client.post("/resources/1/requests", json=make(i))
        assert response.status_code == 201, response.text
        request_id = response.json()["id"]
        for _ in range(40):
            current = api.client.get(f"/resources/1/requests/{request_id}").json()["status"]
            if current == status:
                return str(request_id)
            if current in ("COMPLETED", "REJECTED", "CANCELED") or (
                current.startswith("UPDATE_REQUESTED") and status != current
            ):
                break
            api.advance(3600)
    raise AssertionError(f"no variant reached {status} in {tries} tries")
