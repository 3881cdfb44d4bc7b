"""Documents: upload, download and delete (spec §3.7-3.9), and documentIds in requirements."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.helpers import alpha

DOCUMENTS = "/resources/1/documents"
REQUESTS = "/resources/1/requests"
LOOKUP = "/resources/1/requirements-lookup"
DOCUMENT_ID = re.compile(r"[0-9A-F]{128}")

# The spec's supported extensions, each with the MIME type a client guesses for it.
SUPPORTED = [
    (".doc", "application/msword"),
    (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".png", "image/png"),
    (".pdf", "application/pdf"),
    (".xls", "application/vnd.ms-excel"),
    (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (".mp4", "video/mp4"),
    (".avi", "video/x-msvideo"),
    (".mov", "video/quicktime"),
    (".webm", "video/webm"),
]
UNSUPPORTED = {"property": "document", "violation": "Unsupported document content type."}
EMPTY = {"property": "document", "violation": "Must not be null or empty."}
NO_TYPE = {"property": "document", "violation": "Document content type is required."}
TOO_BIG = {"property": "", "violation": "Maximum upload size exceeded"}


def upload(client, name: str, content: bytes, kind: str):
    return client.post(DOCUMENTS, files={"document": (name, content, kind)})


def assert_e400(response, violation: dict[str, str]) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorCode"] == "E400"
    assert body["violations"] == [violation]


def test_upload_answers_201_with_document_id_and_location(api) -> None:
    """An upload answers 201 with a 128-uppercase-hex documentId and a Location naming it."""
    response = upload(api.client, "registration.pdf", b"%PDF-1.4 registration", "application/pdf")
    assert response.status_code == 201, response.text
    document_id = response.json()["documentId"]
    assert DOCUMENT_ID.fullmatch(document_id)
    assert response.headers["Location"].endswith(f"/resources/1/documents/{document_id}")


def test_download_round_trips_bytes_type_and_filename(api) -> None:
    """A downloaded document has the uploaded bytes, Content-Type and file name."""
    content = bytes(range(256)) * 4
    document_id = upload(api.client, "logo.png", content, "image/png").json()["documentId"]
    response = api.client.get(f"{DOCUMENTS}/{document_id}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Content-Disposition"] == 'attachment; filename="logo.png"'


def test_download_of_document_with_non_latin1_name(api) -> None:
    """A file name outside Latin-1 (Croatian š) downloads, named per RFC 6266 filename*."""
    document_id = api.upload(name="Rješenje.pdf")
    response = api.client.get(f"{DOCUMENTS}/{document_id}")
    assert response.status_code == 200, response.text
    assert response.content == b"%PDF-1.4 test"
    assert (
        response.headers["Content-Disposition"] == "attachment; filename*=utf-8''Rje%C5%A1enje.pdf"
    )


def test_extra_form_fields_are_ignored(api) -> None:
    """Parts other than `document` (the spec's HTTP sample sends `bulkId`) are ignored."""
    response = api.bad.post(
        DOCUMENTS,
        data={"bulkId": "b-1"},
        files={"document": ("scan.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert response.status_code == 201, response.text


def test_delete_removes_the_document(api) -> None:
    """Delete answers 204; afterwards download and a second delete are 404 RR-DOC404."""
    document_id = api.upload()
    assert api.client.delete(f"{DOCUMENTS}/{document_id}").status_code == 204
    after = api.client.get(f"{DOCUMENTS}/{document_id}")
    assert after.status_code == 404
    assert after.json()["errorCode"] == "RR-DOC404"
    again = api.client.delete(f"{DOCUMENTS}/{document_id}")
    assert again.status_code == 404
    assert again.json()["errorCode"] == "RR-DOC404"


def test_unknown_document_is_404(api) -> None:
    """Downloading or deleting a documentId never issued is 404 RR-DOC404."""
    made_up = "A" * 128
    for response in (
        api.client.get(f"{DOCUMENTS}/{made_up}"),
        api.client.delete(f"{DOCUMENTS}/{made_up}"),
    ):
        assert response.status_code == 404
        assert response.json()["errorCode"] == "RR-DOC404"


@pytest.mark.parametrize(
    ("extension", "kind"), [pytest.param(e, k, id=e[1:]) for e, k in SUPPORTED]
)
def test_every_supported_extension_is_accepted(api, extension, kind) -> None:
    """Each extension the spec lists, sent with its MIME type, uploads and downloads back."""
    content = f"content of a {extension} file".encode()
    response = upload(api.client, f"evidence{extension}", content, kind)
    assert response.status_code == 201, response.text
    download = api.client.get(f"{DOCUMENTS}/{response.json()['documentId']}")
    assert download.content == content
    assert download.headers["Content-Type"] == kind


def test_extension_case_does_not_matter(api) -> None:
    """An upper-case extension (SCAN.PDF) is as supported as a lower-case one."""
    response = upload(api.client, "SCAN.PDF", b"%PDF-1.4", "application/pdf")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("setup.exe", "application/x-msdownload", id="exe"),
        pytest.param("notes.txt", "text/plain", id="txt"),
        pytest.param("scan.pdf", "application/octet-stream", id="octet-stream"),
        pytest.param("page.html", "text/html", id="html"),
    ],
)
def test_unsupported_type_is_refused(api, name, kind) -> None:
    """A file of a type the spec does not list is 400 E400 "Unsupported document content type."."""
    assert_e400(upload(api.client, name, b"some bytes", kind), UNSUPPORTED)


def test_missing_document_part_is_refused(api) -> None:
    """A multipart body whose file part is not named `document` is "Must not be null or empty."."""
    response = api.bad.post(DOCUMENTS, files={"file": ("scan.pdf", b"%PDF-1.4", "application/pdf")})
    assert_e400(response, EMPTY)


def test_empty_file_is_refused(api) -> None:
    """A `document` part with no bytes is "Must not be null or empty."."""
    assert_e400(upload(api.bad, "scan.pdf", b"", "application/pdf"), EMPTY)


def test_part_without_content_type_is_refused(api) -> None:
    """A `document` part with no Content-Type header is "Document content type is required."."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="document"; filename="scan.pdf"\r\n'
        "\r\n"
        "%PDF-1.4 no content type\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert_e400(api.bad.post(DOCUMENTS, content=body, headers=headers), NO_TYPE)


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(1001, id="one-byte-over"),
        # Far over: refused from the Content-Length alone, before the body is parsed.
        pytest.param(200_000, id="far-over"),
    ],
)
def test_upload_over_the_limit_is_refused(make_api, size) -> None:
    """A file over max_upload_bytes is 400 E400 {property: "", "Maximum upload size exceeded"}."""
    api = make_api(max_upload_bytes=1000, rate_limits=False)
    assert_e400(upload(api.client, "scan.pdf", b"x" * size, "application/pdf"), TOO_BIG)


def test_upload_at_the_limit_is_accepted(make_api) -> None:
    """A file of exactly max_upload_bytes is still accepted."""
    api = make_api(max_upload_bytes=1000, rate_limits=False)
    response = upload(api.client, "scan.pdf", b"x" * 1000, "application/pdf")
    assert response.status_code == 201, response.text


def test_same_file_twice_gets_two_ids(api) -> None:
    """Uploading the same file twice gives two different documentIds, both downloadable."""
    first = api.upload(name="scan.pdf", content=b"%PDF-1.4 same")
    second = api.upload(name="scan.pdf", content=b"%PDF-1.4 same")
    assert first != second
    for document_id in (first, second):
        assert api.client.get(f"{DOCUMENTS}/{document_id}").content == b"%PDF-1.4 same"


def test_catalogue_template_downloads_as_pdf(api) -> None:
    """The HR alphanumeric registrationForm TEMPLATE from the lookup downloads as a PDF."""
    lookup = api.client.post(
        LOOKUP, json={"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR"}
    )
    assert lookup.status_code == 200
    (form,) = [r for r in lookup.json()["requirements"] if r["key"] == "registrationForm"]
    assert form["attachment"]["documentType"] == "TEMPLATE"
    document_id = form["attachment"]["documentId"]
    response = api.client.get(f"{DOCUMENTS}/{document_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert re.fullmatch(
        r'attachment; filename="[A-Za-z0-9._-]+\.pdf"', response.headers["Content-Disposition"]
    )


def test_catalogue_attachment_cannot_be_deleted(api) -> None:
    """An Infobip-supplied attachment is not the caller's to delete: 404 RR-DOC404, and it stays."""
    lookup = api.client.post(
        LOOKUP, json={"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR"}
    )
    (form,) = [r for r in lookup.json()["requirements"] if r["key"] == "registrationForm"]
    document_id = form["attachment"]["documentId"]
    response = api.client.delete(f"{DOCUMENTS}/{document_id}")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "RR-DOC404"
    assert api.client.get(f"{DOCUMENTS}/{document_id}").status_code == 200


def test_submit_with_uploaded_document_is_accepted(api) -> None:
    """A submit naming an uploaded documentId for companyRegistrationDocument is stored (201)."""
    document_id = api.upload()
    response = api.client.post(REQUESTS, json=alpha(document=document_id))
    assert response.status_code == 201, response.text
    stored = api.client.get(f"{REQUESTS}/{response.json()['id']}").json()
    assert {"key": "companyRegistrationDocument", "value": document_id} in stored["requirements"]


@pytest.mark.parametrize(
    "document_id",
    [
        pytest.param("F" * 128, id="made-up"),
        pytest.param("deleted", id="deleted"),
    ],
)
def test_submit_with_unknown_document_is_refused(api, document_id) -> None:
    """A submit naming an unknown (or deleted) documentId is 400 on that requirement."""
    if document_id == "deleted":
        document_id = api.upload()
        assert api.client.delete(f"{DOCUMENTS}/{document_id}").status_code == 204
    response = api.client.post(REQUESTS, json=alpha(document=document_id))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorCode"] == "E400"
    assert [v["property"] for v in body["violations"]] == [
        "requirements.companyRegistrationDocument"
    ]
    assert api.stored() == []
