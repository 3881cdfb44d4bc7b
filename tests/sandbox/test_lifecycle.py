"""Stored requests move through Infobip's statuses: slowly at speed 1, at once through
the clock, deterministically for a given seed and content."""

from __future__ import annotations

import itertools
import time

import pytest

from batch.sandbox.state import FINAL
from tests.helpers import alpha, drive_to, replace, ten_dlc, toll_free

REQUESTS = "/resources/1/requests"
DAY = 86400


def status(api, request_id: str) -> dict:
    response = api.client.get(f"{REQUESTS}/{request_id}")
    assert response.status_code == 200
    return response.json()


def path_of(api, request_id: str) -> list[str]:
    """Every status a request went through, as /_sandbox/requests records it."""
    (stored,) = [r for r in api.stored() if r["id"] == request_id]
    return list(stored["statusHistory"])


def test_new_request_is_pending_and_stays_so_at_speed_one(make_api) -> None:
    """At speed 1 a request is PENDING for minutes: nothing moves within a test's span."""
    api = make_api()
    request_id = api.client.post(REQUESTS, json=toll_free()).json()["id"]
    shown = status(api, request_id)
    assert shown["status"] == "PENDING"
    assert shown["requestedByEmailAddress"]
    assert shown["quantity"] == 1 and shown["numbers"] == []
    assert shown["requestedDate"].endswith("+0000")


def test_clock_moves_requests_along_the_published_statuses(api) -> None:
    """Advancing the clock walks a request PENDING → AUTOMATIC_VALIDATION → ... → final."""
    request_id = api.client.post(REQUESTS, json=toll_free()).json()["id"]
    api.advance(50 * DAY)
    seen = path_of(api, request_id)
    assert seen[:2] == ["PENDING", "AUTOMATIC_VALIDATION"]
    assert seen[-1] in FINAL
    allowed = {
        "PENDING": {"AUTOMATIC_VALIDATION"},
        "AUTOMATIC_VALIDATION": {"UPDATE_REQUESTED", "PENDING_REVIEW"},
        "PENDING_REVIEW": {"IN_REVIEW"},
        "IN_REVIEW": {"UPDATE_REQUESTED_BY_INTERNAL_REVIEWER", "IN_PROGRESS", "REJECTED"},
        "IN_PROGRESS": {"COMPLETED"},
    }
    for before, after in itertools.pairwise(seen):
        assert after in allowed[before], seen


def test_high_speed_moves_requests_in_real_time(make_api) -> None:
    """With --speed, lifecycle durations shrink: at 10^6 a request ends within seconds."""
    api = make_api(speed=1_000_000)
    request_id = api.client.post(REQUESTS, json=toll_free()).json()["id"]
    deadline = time.monotonic() + 20
    while status(api, request_id)["status"] not in FINAL and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status(api, request_id)["status"] in FINAL


def test_same_seed_same_path_other_seed_may_differ(make_api) -> None:
    """The path is decided by the seed and the content: two sandboxes with one seed agree."""
    paths = []
    for seed in (7, 7):
        api = make_api(rate_limits=False, seed=seed)
        ids = [
            api.client.post(REQUESTS, json=ten_dlc() | {"quantity": q}).json()["id"]
            for q in range(1, 13)
        ]
        api.advance(50 * DAY)
        paths.append(
            [(status(api, i)["status"], status(api, i)["requirementsFeedback"]) for i in ids]
        )
    assert paths[0] == paths[1]
    assert len({p[0] for p in paths[0]}) >= 2, "a dozen requests should not all end alike"


@pytest.mark.parametrize(
    "final",
    ["UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER", "REJECTED", "COMPLETED"],
)
def test_every_outcome_happens(api, final) -> None:
    """Each outcome of the lifecycle is reachable, with what comes with it."""
    shown = status(api, drive_to(api, final))
    if final.startswith("UPDATE_REQUESTED"):
        assert shown["requirementsFeedback"]
        keys = {r["key"] for r in shown["requirements"]}
        for feedback in shown["requirementsFeedback"]:
            assert (
                feedback["key"] in keys
                and feedback["code"].startswith("RES_REQ_FEED_")
                and feedback["feedback"]
            )
    if final == "REJECTED":
        assert shown["note"] and shown["numbers"] == []
    if final == "COMPLETED":
        assert 1 <= len(shown["numbers"]) <= shown["quantity"]
        assert all(
            n["number"].startswith("+1") and n["status"] == "SUCCESS" for n in shown["numbers"]
        )


def test_partial_purchase_has_a_note(api) -> None:
    """Some purchases complete with fewer numbers than ordered, and the note says so."""
    for quantity in range(2, 49):
        request_id = api.client.post(REQUESTS, json=toll_free(quantity)).json()["id"]
        api.advance(50 * DAY)
        shown = status(api, request_id)
        if shown["status"] == "COMPLETED" and len(shown["numbers"]) < quantity:
            got = len(shown["numbers"])
            assert (
                shown["note"]
                == f"Only {got} out of {quantity} requested numbers could be procured."
            )
            return
    raise AssertionError("no partial purchase among 47 orders")


def test_no_number_is_sold_twice(api) -> None:
    """Across many purchases in one country, every procured number is different."""
    for quantity in range(20, 49):
        api.client.post(REQUESTS, json=toll_free(quantity))
    api.advance(50 * DAY)
    numbers = [n["number"] for r in api.stored() for n in r["numbers"]]
    assert len(numbers) > 500
    assert len(numbers) == len(set(numbers))


def test_update_allowed_only_when_asked(api) -> None:
    """PATCH is refused (RR-INVALID-STATUS400) unless the request awaits an update."""
    request_id = api.client.post(REQUESTS, json=ten_dlc()).json()["id"]
    response = api.client.patch(
        f"{REQUESTS}/{request_id}", json={"requirements": ten_dlc()["requirements"]}
    )
    assert (response.status_code, response.json()["errorCode"]) == (400, "RR-INVALID-STATUS400")


def test_update_goes_back_to_automatic_validation(api) -> None:
    """A PATCH with the full set clears feedback, returns to AUTOMATIC_VALIDATION, then moves on."""
    request_id = drive_to(api, "UPDATE_REQUESTED")
    fixed = replace(ten_dlc(), "nxx", "910")["requirements"]
    response = api.client.patch(f"{REQUESTS}/{request_id}", json={"requirements": fixed})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "AUTOMATIC_VALIDATION"
    assert response.json()["requirementsFeedback"] == []
    assert {r["key"]: r["value"] for r in response.json()["requirements"]}["nxx"] == "910"
    api.advance(50 * DAY)
    assert status(api, request_id)["status"] in ("COMPLETED", "REJECTED")


def test_update_must_carry_a_valid_full_set(api) -> None:
    """A PATCH missing a required requirement, or breaking a rule, is a 400 naming it."""
    request_id = drive_to(api, "UPDATE_REQUESTED")
    response = api.bad.patch(
        f"{REQUESTS}/{request_id}", json={"requirements": [{"key": "npa", "value": "317"}]}
    )
    assert response.status_code == 400
    assert {v["property"] for v in response.json()["violations"]} == {"requirements.state"}
    assert (
        api.bad.patch(f"{REQUESTS}/{request_id}", json={}).json()["violations"][0]["property"]
        == "requirements"
    )
    assert (
        api.client.patch(
            f"{REQUESTS}/00000000-0000-4000-8000-000000000000", json={"requirements": []}
        ).status_code
        == 404
    )


def test_cancel_only_when_asked_then_canceled(api) -> None:
    """Cancel works only awaiting an update; it goes CANCEL_REQUESTED, then CANCELED."""
    pending = api.client.post(REQUESTS, json=ten_dlc()).json()["id"]
    refused = api.client.post(f"{REQUESTS}/{pending}/cancel")
    assert (refused.status_code, refused.json()["errorCode"]) == (400, "RR-INVALID-STATUS400")
    request_id = drive_to(api, "UPDATE_REQUESTED")
    assert api.client.post(f"{REQUESTS}/{request_id}/cancel").status_code == 204
    assert status(api, request_id)["status"] == "CANCEL_REQUESTED"
    again = api.client.post(f"{REQUESTS}/{request_id}/cancel")
    assert again.json()["errorCode"] == "RR-INVALID-STATUS400"
    api.advance(3600)
    assert status(api, request_id)["status"] == "CANCELED"
    missing = api.client.post(f"{REQUESTS}/00000000-0000-4000-8000-000000000000/cancel")
    assert (missing.status_code, missing.json()["errorCode"]) == (404, "RR404")


def test_silence_after_update_request_rejects_after_30_days(api) -> None:
    """A request awaiting an update and left alone is rejected automatically after 30 days."""
    request_id = drive_to(api, "UPDATE_REQUESTED")
    api.advance(29 * DAY)
    assert status(api, request_id)["status"] == "UPDATE_REQUESTED"
    api.advance(2 * DAY)
    shown = status(api, request_id)
    assert shown["status"] == "REJECTED" and "30 days" in shown["note"]


def test_alpha_views_name_their_fields(api) -> None:
    """Alphanumeric requests show the alpha response fields (additionalContactEmailAddresses)."""
    body = alpha("Shown", api.upload()) | {
        "additionalContactEmails": ["ops@acme.hr"],
        "trafficType": "TRANSACTIONAL",
    }
    shown = status(api, api.client.post(REQUESTS, json=body).json()["id"])
    assert shown["senderName"] == "Shown" and shown["trafficType"] == "TRANSACTIONAL"
    assert shown["additionalContactEmailAddresses"] == ["ops@acme.hr"]
    assert "additionalContactEmails" not in shown


def test_sandbox_dump_and_reset(api) -> None:
    """/_sandbox/requests lists every stored request with storedAt; reset empties it."""
    request_id = api.client.post(REQUESTS, json=toll_free()).json()["id"]
    (dumped,) = api.stored()
    assert dumped["id"] == request_id and dumped["storedAt"]
    assert api.client.post("/_sandbox/reset").status_code == 204
    assert api.stored() == []
    assert api.client.get(f"{REQUESTS}/{request_id}").status_code == 404
    bad = api.client.post("/_sandbox/clock", json={"advanceSeconds": "soon"})
    assert bad.status_code == 400
