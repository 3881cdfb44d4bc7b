"""Request bodies that the built-in catalogue accepts, ways to steer a request, and a
failing disk for the state lock."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

HR_ALPHA_REQUIREMENTS = [
    {"key": "companyName", "value": "Infobip"},
    {"key": "vatNumber", "value": "HR12345678901"},
    {"key": "useCase", "value": "Notifications"},
    {"key": "expectedMonthlyMessages", "value": 50000},
    {"key": "companyEmailAddresses", "value": ["contact@infobip.com", "info@infobip.com"]},
    {"key": "companyWebsite", "value": "https://www.infobip.com"},
    {"key": "contactPhoneNumber", "value": "+385911234567"},
    {
        "key": "registrationConsent",
        "value": "I consent that Infobip will do registration in my name.",
    },
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
    requirements += [
        {"key": k, "value": v} for k, v in (("npa", npa), ("nxx", nxx)) if v is not None
    ]
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


def drive_to(api: Any, status: str, *, make: Any = None, tries: int = 60) -> str:
    """Submit variants of a request until one is in `status`; returns its id.

    Lifecycles are decided by the seed and the content, so for a given seed the same
    variant always gets there: the search is deterministic. Variants go ten at a time,
    and the clock moves an hour at a time until one of them shows the status.
    """
    make = make or (lambda i: ten_dlc() | {"quantity": i % 49 + 1})
    for first in range(0, tries, 10):
        ids = []
        for i in range(first, first + 10):
            response = api.client.post("/resources/1/requests", json=make(i))
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        for _ in range(40):
            current = {r["id"]: r["status"] for r in api.stored() if r["id"] in ids}
            found = [i for i in ids if current[i] == status]
            if found:
                return str(found[0])
            api.advance(3600)
    raise AssertionError(f"no variant reached {status} in {tries} tries")


def failing_pid_write(code: int) -> Callable[[int, bytes], int]:
    """An `os.write` that fails with errno `code` when writing this process's pid (the
    state lock's `lock.pid`) and writes anything else as usual."""
    write, pid = os.write, f"{os.getpid()}\n".encode()

    def fail(fd: int, data: bytes) -> int:
        if bytes(data) == pid:
            raise OSError(code, os.strerror(code))
        return write(fd, data)

    return fail
