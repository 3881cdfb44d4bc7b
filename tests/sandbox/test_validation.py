"""Submit and PATCH bodies are judged like Infobip judges them: schema, requirements,
then the request-specific error codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batch.sandbox import catalogue
from tests.helpers import alpha, drive_to, replace, ten_dlc, toll_free

REQUESTS = "/resources/1/requests"
LOOKUP = "/resources/1/requirements-lookup"


def violations(response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorCode"] == "E400"
    return {v["property"]: v["violation"] for v in body["violations"]}


def error_code(response) -> str:
    return str(response.json()["errorCode"])


@pytest.mark.parametrize(
    ("change", "prop", "text"),
    [
        pytest.param(
            {"senderName": "AB"}, "senderName", "size must be between 3 and 11", id="sender-short"
        ),
        pytest.param(
            {"senderName": "ABCDEFGHIJKL"},
            "senderName",
            "size must be between 3 and 11",
            id="sender-long",
        ),
        pytest.param(
            {"senderName": "12345"}, "senderName", "contain a letter", id="sender-no-letter"
        ),
        pytest.param({"senderName": "Caf€™"}, "senderName", "GSM-7", id="sender-not-gsm7"),
        pytest.param({"countryCode": "hr"}, "countryCode", "ISO 3166", id="country-lowercase"),
        pytest.param({"trafficType": "SPAM"}, "trafficType", "must be one of", id="enum"),
        pytest.param(
            {"additionalContactEmails": ["a@x.io", "b@x.io", "c@x.io", "d@x.io"]},
            "additionalContactEmails",
            "size must be between 0 and 3",
            id="too-many-emails",
        ),
        pytest.param(
            {"additionalContactEmails": ["not-an-email"]},
            "additionalContactEmails[0]",
            "valid email",
            id="bad-contact-email",
        ),
        pytest.param(
            {"platform": {"applicationId": "x" * 256}},
            "platform.applicationId",
            "size",
            id="platform-long",
        ),
        pytest.param(
            {"requirements": None}, "requirements", "must be of type array", id="requirements-null"
        ),
    ],
)
def test_request_schema_rules(api, change, prop, text) -> None:
    """Each request-schema rule is a violation naming the property."""
    body = {k: v for k, v in (alpha() | change).items() if v is not None}
    if change.get("requirements", 0) is None:
        body["requirements"] = None
    found = violations(api.bad.post(REQUESTS, json=body))
    assert text in found[prop], found


def test_missing_fields_each_named(api) -> None:
    """All missing required fields are reported at once, each by name."""
    found = violations(api.bad.post(REQUESTS, json={"type": "ALPHANUMERIC_REGISTRATION"}))
    assert set(found) == {"senderName", "countryCode", "requirements"}
    assert set(found.values()) == {"must not be null"}


def test_quantity_bounds(api) -> None:
    """A purchase quantity outside 1..49 is refused."""
    for quantity, text in ((0, "greater than or equal to 1"), (50, "less than or equal to 49")):
        found = violations(api.bad.post(REQUESTS, json=toll_free(quantity)))
        assert text in found["quantity"]


def test_unknown_type_and_non_json(api) -> None:
    """An unknown type, or a body that is not a JSON object, is a 400 with a violation."""
    assert "must be one of" in violations(api.bad.post(REQUESTS, json={"type": "FAX"}))["type"]
    response = api.bad.post(
        REQUESTS, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert violations(response)[""] == "must be a JSON object"


@pytest.mark.parametrize(
    "path", [pytest.param(REQUESTS, id="submit"), pytest.param(LOOKUP, id="lookup")]
)
@pytest.mark.parametrize(
    "kind", [pytest.param({"x": 1}, id="object"), pytest.param(["NUMBER_PURCHASE"], id="list")]
)
def test_type_of_the_wrong_json_type_is_a_400(api, path, kind) -> None:
    """A `type` that is an object or a list is an E400 naming it, not a 500 (fuzz-found)."""
    response = api.bad.post(path, json={"type": kind, "countryCode": "US"})
    assert "must be one of" in violations(response)["type"]


def test_contact_emails_of_the_wrong_json_type_are_a_400(api) -> None:
    """additionalContactEmails that is not a list is a schema violation, not a 500 (fuzz-found)."""
    response = api.bad.post(REQUESTS, json=toll_free() | {"additionalContactEmails": 1.5})
    assert violations(response) == {"additionalContactEmails": "must be of type array"}


def test_unknown_fields_tolerated(api) -> None:
    """Fields the spec does not know are ignored, as a real API does, and not echoed."""
    response = api.client.post(REQUESTS, json=toll_free() | {"favouriteColour": "teal"})
    assert response.status_code == 201
    stored = api.client.get(f"{REQUESTS}/{response.json()['id']}").json()
    assert "favouriteColour" not in stored


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        pytest.param("companyName", "AB", "size must be between 3 and 100", id="text-min-length"),
        pytest.param(
            "companyName", "X" * 101, "size must be between 3 and 100", id="text-max-length"
        ),
        pytest.param("companyName", None, "must not be null or empty", id="required"),
        pytest.param("companyName", "", "must not be null or empty", id="required-empty"),
        pytest.param("vatNumber", "HR123", 'must match "^[A-Z]{2}[0-9]{8,12}$"', id="pattern"),
        pytest.param("useCase", "Spam", "must be one of", id="options"),
        pytest.param("registrationConsent", "yes", "must be one of", id="consent-option"),
        pytest.param(
            "expectedMonthlyMessages", 10, "greater than or equal to 1000", id="min-value"
        ),
        pytest.param(
            "expectedMonthlyMessages", 10**8, "less than or equal to 10000000", id="max-value"
        ),
        pytest.param("expectedMonthlyMessages", "5e4", "whole number", id="integer"),
        pytest.param("expectedMonthlyMessages", 5000.5, "whole number", id="integer-float"),
        pytest.param("companyEmailAddresses", ["ok@x.io", "nope"], "valid email", id="email"),
        pytest.param("companyWebsite", "www.infobip", "valid URL", id="url"),
        pytest.param("contactPhoneNumber", "call me", "international format", id="gsm"),
        pytest.param(
            "companyWebsite", ["https://a.io", "https://b.io"], "single value", id="multiple"
        ),
        pytest.param("favouriteColour", "teal", "not a requirement", id="unknown-key"),
        pytest.param("companyRegistrationDocument", "F" * 128, "uploaded document", id="document"),
    ],
)
def test_requirement_rules(api, key, value, text) -> None:
    """Each requirement rule of the catalogue is checked, naming the requirement key."""
    body = replace(alpha(document=api.upload()), key, value)
    found = violations(api.bad.post(REQUESTS, json=body))
    assert text in found[f"requirements.{key}"], found


def test_repeated_requirement_key(api) -> None:
    """A requirement given twice is a violation, not silently the last one."""
    body = alpha(document=api.upload())
    body["requirements"].append({"key": "companyName", "value": "Other d.o.o."})
    assert violations(api.bad.post(REQUESTS, json=body)) == {
        "requirements.companyName": "is given more than once"
    }


def test_integer_as_digit_string_accepted(api) -> None:
    """INTEGER values may come as digit strings, as the spec's own examples send them."""
    body = replace(alpha(document=api.upload()), "expectedMonthlyMessages", "50000")
    assert api.client.post(REQUESTS, json=body).status_code == 201


def test_all_requirement_problems_at_once(api) -> None:
    """Every bad requirement of a body is reported in one answer."""
    body = replace(replace(alpha(), "companyName", "AB"), "useCase", "Spam")
    found = violations(api.bad.post(REQUESTS, json=body))
    assert {
        "requirements.companyName",
        "requirements.useCase",
        "requirements.companyRegistrationDocument",
    } <= set(found)


def test_java_unicode_pattern(api) -> None:
    """Catalogue patterns are Java regexes: \\p{Lu}/\\p{L} classes work (DE company names)."""
    lookup = api.client.post(
        "/resources/1/requirements-lookup",
        json={"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "DE"},
    )
    specs = {r["key"]: r for r in lookup.json()["requirements"]}
    (key,) = [
        k for k, r in specs.items() if "\\p{Lu}" in r.get("validation", {}).get("pattern", "")
    ]
    body = {"type": "ALPHANUMERIC_REGISTRATION", "senderName": "Muster", "countryCode": "DE"}
    good = body | {"requirements": [{"key": key, "value": "Müller Öko GmbH"}]}
    bad = body | {"requirements": [{"key": key, "value": "müller gmbh"}]}
    assert f"requirements.{key}" not in violations(api.bad.post(REQUESTS, json=good))
    assert "must match" in violations(api.bad.post(REQUESTS, json=bad))[f"requirements.{key}"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(
            alpha() | {"countryCode": "US"}, 404, "RR-ALPHA-UNAVAILABLE404", id="alpha-unavailable"
        ),
        pytest.param(
            alpha() | {"countryCode": "ZW"}, 404, "RR-ALPHA-UNAVAILABLE404", id="alpha-no-entry"
        ),
        pytest.param(
            toll_free() | {"numberType": "VIRTUAL_LONG_NUMBER"},
            400,
            "RR-NUMBER-PURCHASE-US-VLN-UNSUPPORTED400",
            id="us-vln",
        ),
        pytest.param(
            toll_free() | {"numberType": "SHORT_CODE"},
            400,
            "RR-NUMBER-PURCHASE-US-SC-WEB-ONLY400",
            id="us-sc",
        ),
        pytest.param(
            toll_free() | {"countryCode": "BR", "numberType": "VIRTUAL_LONG_NUMBER"},
            404,
            "RR-NUMBER-PURCHASE-UNAVAILABLE404",
            id="numbers-unavailable",
        ),
        pytest.param(
            ten_dlc(npa=None),
            400,
            "RR-NUMBER-PURCHASE-NXX-REQUIRES-NPA-STATE400",
            id="nxx-needs-npa",
        ),
        pytest.param(
            ten_dlc(state="NY"),
            400,
            "RR-NUMBER-PURCHASE-INVALID-STATE-NPA-COMBO400",
            id="state-npa",
        ),
        pytest.param(
            ten_dlc(nxx="999"), 400, "RR-NUMBER-PURCHASE-INVALID-NPA-NXX-COMBO400", id="npa-nxx"
        ),
    ],
)
def test_unavailable_and_number_codes(api, body, status, code) -> None:
    """Unavailable offers and US numbering mistakes get the spec's own error codes."""
    response = api.client.post(REQUESTS, json=body)
    assert (response.status_code, error_code(response)) == (status, code)


def test_lookup_unavailable_codes(api) -> None:
    """requirements-lookup answers unavailability with the same codes as submit."""
    lookup = "/resources/1/requirements-lookup"
    us_vln = {
        "type": "NUMBER_PURCHASE",
        "countryCode": "US",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": ["SMS"],
    }
    assert (
        error_code(api.client.post(lookup, json=us_vln))
        == "RR-NUMBER-PURCHASE-US-VLN-UNSUPPORTED400"
    )
    alpha_us = {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "US"}
    assert error_code(api.client.post(lookup, json=alpha_us)) == "RR-ALPHA-UNAVAILABLE404"
    rcs = {"type": "RCS_SENDER_LAUNCH", "countryCode": "ZW", "trafficOrigin": "LOCAL"}
    assert error_code(api.client.post(lookup, json=rcs)) == "RR-RCS-SENDER-COUNTRY-UNSUPPORTED400"
    empty = {
        "type": "NUMBER_PURCHASE",
        "countryCode": "US",
        "numberType": "TOLL_FREE_NUMBER",
        "capabilities": ["SMS"],
    }
    assert api.client.post(lookup, json=empty).json() == {"requirements": []}
    bad = violations(api.bad.post(lookup, json={"type": "NUMBER_PURCHASE", "countryCode": "US"}))
    assert set(bad) == {"numberType", "capabilities"}


def test_capabilities_must_be_offered(api) -> None:
    """A lookup asking for capabilities the offer lacks finds no offer (NL has no MMS)."""
    lookup = {"type": "NUMBER_PURCHASE", "countryCode": "NL", "numberType": "VIRTUAL_LONG_NUMBER"}
    ok = api.client.post(
        "/resources/1/requirements-lookup", json=lookup | {"capabilities": ["SMS"]}
    )
    missing = api.client.post(
        "/resources/1/requirements-lookup", json=lookup | {"capabilities": ["SMS", "MMS"]}
    )
    assert ok.status_code == 200
    assert error_code(missing) == "RR-NUMBER-PURCHASE-UNAVAILABLE404"


def test_sender_already_exists(api) -> None:
    """A second registration of the same sender in the same country is refused."""
    document = api.upload()
    assert api.client.post(REQUESTS, json=alpha("Acme", document)).status_code == 201
    again = api.client.post(REQUESTS, json=alpha("Acme", document))
    assert error_code(again) == "RR-ALPHA-SENDER-ALREADY-EXISTS400"


def test_alpha_pending_cap_per_country(make_api) -> None:
    """Past the pending cap for a country, alphanumeric submits get RR-ALPHA-SS-LIMIT400."""
    api = make_api(rate_limits=False, alpha_pending_cap=2)
    document = api.upload()
    for sender in ("Acme1", "Acme2"):
        assert api.client.post(REQUESTS, json=alpha(sender, document)).status_code == 201
    third = api.client.post(REQUESTS, json=alpha("Acme3", document))
    assert (third.status_code, error_code(third)) == (400, "RR-ALPHA-SS-LIMIT400")
    assert third.json()["description"] == "You can have up to 2 pending sender requests at once."
    api.advance(40 * 86400)  # everything reaches a final status
    assert api.client.post(REQUESTS, json=alpha("Acme3", document)).status_code == 201


def test_alpha_pending_cap_off(make_api) -> None:
    """--alpha-pending-cap 0 turns the cap off."""
    api = make_api(rate_limits=False, alpha_pending_cap=0)
    document = api.upload()
    statuses = {
        api.client.post(REQUESTS, json=alpha(f"Acme{i}", document)).status_code for i in range(4)
    }
    assert statuses == {201}


def _rcs_body(api, sender: str = "Acme RCS", **changes) -> dict:
    """An RCS body filling every required HR requirement with a plausible value."""
    lookup = {"type": "RCS_SENDER_LAUNCH", "countryCode": "HR", "trafficOrigin": "LOCAL"}
    specs = api.client.post("/resources/1/requirements-lookup", json=lookup).json()["requirements"]
    document = api.upload()
    samples = {
        "EMAIL": "ana.horvat@acme.hr",
        "GSM": "+385911234567",
        "URL": "https://acme.hr",
        "DOCUMENT": document,
    }
    values = {}
    for spec in specs:
        if not spec["required"]:
            continue
        if spec.get("options"):
            values[spec["key"]] = spec["options"][0]
        elif spec["type"] == "TEXT":
            values[spec["key"]] = "Acme Hrvatska"
        elif spec["type"] == "INTEGER":
            values[spec["key"]] = spec.get("validation", {}).get("minValue", 1)
        else:
            values[spec["key"]] = samples[spec["type"]]
    phones = [s["key"] for s in specs if s["type"] == "GSM"]
    for i, key in enumerate(phones):
        if key in values:
            values[key] = f"+38591123456{i}"
    values.update(changes)
    return {
        "type": "RCS_SENDER_LAUNCH",
        "senderName": sender,
        "countryCode": "HR",
        "trafficOrigin": "LOCAL",
        "requirements": [{"key": k, "value": v} for k, v in values.items()],
    }


def test_rcs_launch_accepted_then_already_requested(api) -> None:
    """An RCS sender launch is accepted once; while in progress a second one is refused."""
    body = _rcs_body(api)
    assert api.client.post(REQUESTS, json=body).status_code == 201, api.stored()
    again = api.client.post(REQUESTS, json=body)
    assert error_code(again) == "RR-RCS-SENDER-ALREADY-REQUESTED400"


def test_rcs_already_launched(api) -> None:
    """A sender whose launch completed cannot be launched again, in any country."""
    request_id = drive_to(api, "COMPLETED", make=lambda i: _rcs_body(api, f"Sender {i}"))
    sender = api.client.get(f"{REQUESTS}/{request_id}").json()["senderName"]
    again = api.client.post(REQUESTS, json=_rcs_body(api, sender))
    assert error_code(again) == "RR-RCS-SENDER-ALREADY-LAUNCHED400"


def test_rcs_rules(api) -> None:
    """Carriers, brand contact mailbox and phone conflicts get the RCS codes."""
    body = _rcs_body(api)
    carriers = api.client.post(REQUESTS, json=body | {"excludedCarriers": ["Nope Mobile"]})
    assert error_code(carriers) == "RR-RCS-SENDER-INVALID-CARRIERS400"
    ok_carriers = api.client.post(
        REQUESTS, json=_rcs_body(api, "Other") | {"excludedCarriers": ["Telemach"]}
    )
    assert ok_carriers.status_code == 201
    shared = api.client.post(
        REQUESTS, json=_rcs_body(api, "Third", brandContactEmail="info@acme.hr")
    )
    assert error_code(shared) == "RR-RCS-SENDER-INVALID-BRAND-CONTACT-EMAIL400"
    same = _rcs_body(
        api, "Fourth", companyPhoneNumber="+385911111111", contactPersonPhoneNumber="+385911111111"
    )
    assert (
        error_code(api.client.post(REQUESTS, json=same)) == "RR-RCS-SENDER-PHONE-NUMBER-CONFLICT400"
    )


def test_rcs_sender_must_exist(make_api, tmp_path: Path) -> None:
    """With a catalogue listing rcsSenders, launching another sender is RR-RCS-SENDER404."""
    data = {
        "rcsSenders": ["Known"],
        "entries": [{"type": "RCS_SENDER_LAUNCH", "countryCode": "HR", "requirements": []}],
    }
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data))
    api = make_api(rate_limits=False, catalogue=catalogue.load(path))
    body = {
        "type": "RCS_SENDER_LAUNCH",
        "countryCode": "HR",
        "trafficOrigin": "LOCAL",
        "requirements": [],
    }
    assert (
        error_code(api.client.post(REQUESTS, json=body | {"senderName": "Stranger"}))
        == "RR-RCS-SENDER404"
    )
    assert api.client.post(REQUESTS, json=body | {"senderName": "Known"}).status_code == 201


def test_codes_the_spec_has_no_example_of(make_api, tmp_path: Path) -> None:
    """A catalogue may answer RES-NUM-LOOKUP404 (named by Infobip's guide, not the spec)."""
    data = {
        "entries": [
            {
                "type": "NUMBER_PURCHASE",
                "countryCode": "DE",
                "numberType": "VIRTUAL_LONG_NUMBER",
                "unavailable": "RES-NUM-LOOKUP404",
            }
        ]
    }
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data))
    api = make_api(rate_limits=False, catalogue=catalogue.load(path))
    lookup = {
        "type": "NUMBER_PURCHASE",
        "countryCode": "DE",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": ["SMS"],
    }
    response = api.client.post("/resources/1/requirements-lookup", json=lookup)
    assert (response.status_code, error_code(response)) == (404, "RES-NUM-LOOKUP404")
    assert response.json()["description"]
