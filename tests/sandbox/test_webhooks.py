"""Status changes and reminders are POSTed to --webhook-url as the spec's payloads."""

from __future__ import annotations

import base64
import json

from openapi_core.testing import MockRequest

from tests.helpers import drive_to, ten_dlc, toll_free

REQUESTS = "/resources/1/requests"
DAY = 86400
NOTIFIED = {"UPDATE_REQUESTED", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER", "REJECTED", "COMPLETED"}


class WebhookRequest(MockRequest):
    """openapi-core's view of a webhook POST, named after the spec's webhook."""

    def __init__(self, name: str, body: dict) -> None:
        super().__init__("http://127.0.0.1", "post", "/", data=json.dumps(body).encode())
        self.name = name


def check_payloads(openapi, receiver) -> None:
    for post in receiver.posts:
        kinds = {result["event"] for result in post["results"]}
        assert len(kinds) == 1, "one kind of event per body"
        name = {
            "RESOURCE_REQUEST_STATUS_UPDATE": "resource-request-status-change-notification",
            "RESOURCE_REQUEST_REMINDER": "resource-request-reminder-notification",
        }[kinds.pop()]
        openapi.validate_webhook_request(WebhookRequest(name, post))


def test_status_changes_are_posted(make_api, receiver, openapi) -> None:
    """Each change to a notified status reaches the receiver, valid against the spec."""
    api = make_api(rate_limits=False, webhook_url=receiver.url)
    ids = [api.client.post(REQUESTS, json=toll_free(q)).json()["id"] for q in range(1, 9)]
    api.advance(50 * DAY)
    finals = {r["id"]: r["status"] for r in api.stored()}
    receiver.wait_for(lambda events: {e["content"]["id"] for e in events} >= set(ids))
    check_payloads(openapi, receiver)
    last = {e["content"]["id"]: e["content"]["status"] for e in receiver.events()}
    assert last == finals
    assert {e["content"]["status"] for e in receiver.events()} <= NOTIFIED
    completed = [e["content"] for e in receiver.events() if e["content"]["status"] == "COMPLETED"]
    assert completed and all(c["type"] == "NUMBER_PURCHASE" and c["numbers"] for c in completed)


def test_events_of_one_moment_come_batched(make_api, receiver) -> None:
    """Changes that happen together arrive in one body with several results."""
    api = make_api(rate_limits=False, webhook_url=receiver.url)
    for q in range(1, 21):
        api.client.post(REQUESTS, json=toll_free(q))
    api.advance(50 * DAY)
    receiver.wait_for(lambda events: len(events) >= 20)
    assert max(len(post["results"]) for post in receiver.posts) > 1


def test_reminders_then_rejection(make_api, receiver, openapi) -> None:
    """A request left awaiting an update is reminded at 27, 15 and 3 days left, then REJECTED."""
    api = make_api(rate_limits=False, webhook_url=receiver.url)
    request_id = drive_to(api, "UPDATE_REQUESTED", make=lambda i: ten_dlc() | {"quantity": i + 1})
    api.advance(31 * DAY)

    def mine(events):
        return [e for e in events if e["content"]["id"] == request_id]

    receiver.wait_for(
        lambda events: any(e["content"]["status"] == "REJECTED" for e in mine(events))
    )
    check_payloads(openapi, receiver)
    reminders = [
        e["content"]["daysUntilRejection"]
        for e in mine(receiver.events())
        if e["event"] == "RESOURCE_REQUEST_REMINDER"
    ]
    assert reminders == [27, 15, 3]
    statuses = [
        e["content"]["status"]
        for e in mine(receiver.events())
        if e["event"] == "RESOURCE_REQUEST_STATUS_UPDATE"
    ]
    assert statuses == ["UPDATE_REQUESTED", "REJECTED"]


def test_webhook_credentials_in_url_become_basic_auth(make_api, receiver) -> None:
    """user:password in --webhook-url is sent as HTTP Basic, as Infobip's BASIC security does."""
    url = receiver.url.replace("http://", "http://hook:s3cret@")
    api = make_api(rate_limits=False, webhook_url=url)
    api.client.post(REQUESTS, json=toll_free())
    api.advance(50 * DAY)
    receiver.wait_for(lambda events: len(events) >= 1)
    assert receiver.auth[0] == "Basic " + base64.b64encode(b"hook:s3cret").decode()


def test_failed_deliveries_are_retried(make_api, receiver) -> None:
    """A receiver answering 503 gets the same events again once it recovers."""
    receiver.status = 503
    api = make_api(rate_limits=False, webhook_url=receiver.url)
    request_id = api.client.post(REQUESTS, json=toll_free()).json()["id"]
    api.advance(50 * DAY)
    receiver.wait_for_attempts(2)
    assert receiver.posts == []
    receiver.status = 200
    receiver.wait_for(lambda events: any(e["content"]["id"] == request_id for e in events))
