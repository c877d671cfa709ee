"""`POST /v1/webhooks/{token}`: a FUNCTION source's webhook URL, its checks, and rotating it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from headrace.config import ConfigError, Settings
from headrace.services.webhooks import MAX_WEBHOOK_BODY_BYTES
from tests.api.support import Caller, only_error

ECHO_CODE = """\
def on_request(request, settings):
    if request.headers.get("content-type", "").startswith("application/json"):
        fields = request.json()
    else:
        fields = request.form()
    # An object keeps what the function saw, for the test to read back.
    Segment.set({"collection": "seen", "id": "last", "properties": {
        "fields": fields,
        "method": request.method,
        "shop": request.url.searchParams.get("shop"),
        "query": request.url.query,
        "signature": request.headers.get("X-SIGNATURE"),
        "raw": request.text(),
    }})
"""
DEADLINE_S = 20.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url="https://hooks.example.com/")


def create_source(owner: Caller, code: str = ECHO_CODE, **fields: Any) -> dict[str, Any]:
    function = owner.create_function(
        displayName="Echo", resourceType="SOURCE", code=code, settings=[]
    )
    body = {"name": "Shop", "kind": "FUNCTION", "functionId": function["id"], **fields}
    return dict(owner.data(owner.post("/sources", body), 201))


def path_of(source: dict[str, Any]) -> str:
    return urlsplit(source["webhookUrl"]).path


def wait_for(condition: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def seen(owner: Caller, source: dict[str, Any]) -> dict[str, Any]:
    """What the source's function saw of the request, once it ran."""

    def objects() -> list[dict[str, Any]]:
        found = owner.data(owner.get(f"/sources/{source['id']}/delivery/events"))["objects"]
        return list(found)

    [kept] = wait_for(objects)
    properties: dict[str, Any] = kept["properties"]
    return properties


def test_a_function_source_has_a_webhook_url_under_the_public_url(owner: Caller) -> None:
    source = create_source(owner)
    tracking = owner.data(owner.post("/sources", {"name": "Web", "kind": "TRACKING"}), 201)

    assert source["webhookUrl"].startswith("https://hooks.example.com/v1/webhooks/")
    assert len(source["webhookUrl"].rsplit("/", 1)[1]) >= 43
    assert tracking["webhookUrl"] is None


def test_a_json_request_reaches_the_function_with_headers_query_and_raw_body(
    client: TestClient, owner: Caller
) -> None:
    source = create_source(owner)

    answer = client.post(
        f"{path_of(source)}?shop=berlin&shop=paris",
        content=b'{"order": "o-1",  "total": 42}',
        headers={"Content-Type": "application/json; charset=utf-8", "X-Signature": "sig-1"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is True
    assert answer.json()["requestId"].startswith("req_")
    assert seen(owner, source) == {
        "fields": {"order": "o-1", "total": 42},
        "method": "POST",
        "shop": "berlin",
        "query": {"shop": "berlin"},
        "signature": "sig-1",
        "raw": '{"order": "o-1",  "total": 42}',
    }


def test_a_form_request_reaches_the_function_as_form_fields(
    client: TestClient, owner: Caller
) -> None:
    source = create_source(owner)

    answer = client.post(
        path_of(source),
        content=b"order=o-2&note=paid+in+full",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 200, answer.text
    properties = seen(owner, source)
    assert properties["fields"] == {"order": "o-2", "note": "paid in full"}
    assert properties["raw"] == "order=o-2&note=paid+in+full"


def test_an_unknown_token_is_a_404(client: TestClient, owner: Caller) -> None:
    create_source(owner)

    answer = client.post("/v1/webhooks/not-a-token", json={"a": 1})

    assert answer.status_code == 404
    assert answer.json() == {
        "code": "unknown_webhook",
        "message": "No source has this webhook URL.",
    }


def test_a_disabled_source_refuses_requests_with_a_403(client: TestClient, owner: Caller) -> None:
    source = create_source(owner, enabled=False)

    answer = client.post(path_of(source), json={"a": 1})

    assert answer.status_code == 403
    assert answer.json()["code"] == "source_disabled"


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [("text/plain", "'text/plain'"), ("application/xml", "'application/xml'"), (None, "none")],
)
def test_a_body_that_is_neither_json_nor_a_form_is_a_415(
    client: TestClient, owner: Caller, content_type: str | None, shown: str
) -> None:
    source = create_source(owner)
    headers = {"Content-Type": content_type} if content_type else {}

    answer = client.post(path_of(source), content=b"<order/>", headers=headers)

    assert answer.status_code == 415
    assert answer.json() == {
        "code": "unsupported_media_type",
        "message": "The Content-Type must be application/json or "
        f"application/x-www-form-urlencoded, not {shown}.",
    }


def test_a_compressed_body_is_a_415(client: TestClient, owner: Caller) -> None:
    source = create_source(owner)

    answer = client.post(
        path_of(source),
        content=b"\x1f\x8b",
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_encoding"


def test_a_body_over_512_kib_is_a_413_and_one_at_the_limit_is_accepted(
    client: TestClient, owner: Caller
) -> None:
    source = create_source(owner)
    padding = MAX_WEBHOOK_BODY_BYTES - len('{"p": ""}')
    at_limit = b'{"p": "' + b"x" * padding + b'"}'
    assert len(at_limit) == MAX_WEBHOOK_BODY_BYTES

    over = client.post(
        path_of(source), content=at_limit + b" ", headers={"Content-Type": "application/json"}
    )
    at = client.post(
        path_of(source), content=at_limit, headers={"Content-Type": "application/json"}
    )

    assert over.status_code == 413
    assert over.json() == {
        "code": "payload_too_large",
        "message": "The body is over the 512 KiB limit.",
    }
    assert at.status_code == 200


def test_a_streamed_body_over_the_limit_is_a_413(client: TestClient, owner: Caller) -> None:
    source = create_source(owner)

    def chunks() -> Iterator[bytes]:
        for _ in range(9):
            yield b"x" * (64 * 1024)

    answer = client.post(
        path_of(source), content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 413


def test_malformed_json_is_a_400(client: TestClient, owner: Caller) -> None:
    source = create_source(owner)

    answer = client.post(
        path_of(source), content=b'{"order": ', headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_json"


def test_a_body_that_is_not_utf8_is_a_400(client: TestClient, owner: Caller) -> None:
    source = create_source(owner)

    answer = client.post(
        path_of(source),
        content=b"name=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_body"


def test_only_post_is_accepted(client: TestClient, owner: Caller) -> None:
    source = create_source(owner)

    assert client.get(path_of(source)).status_code == 405


# -- rotating the token ---------------------------------------------------------------------


def test_rotating_the_token_makes_a_new_url_and_the_old_one_stops_at_once(
    client: TestClient, owner: Caller
) -> None:
    source = create_source(owner)

    rotated = owner.data(owner.post(f"/sources/{source['id']}/rotate-webhook-token"))

    assert rotated["webhookUrl"] != source["webhookUrl"]
    assert client.post(path_of(source), json={"a": 1}).status_code == 404
    assert client.post(path_of(rotated), json={"a": 1}).status_code == 200
    assert owner.data(owner.get(f"/sources/{source['id']}"))["webhookUrl"] == rotated["webhookUrl"]


def test_rotating_is_audited_without_the_token(owner: Caller) -> None:
    source = create_source(owner)
    rotated = owner.data(owner.post(f"/sources/{source['id']}/rotate-webhook-token"))

    entries = owner.data(owner.get(f"/audit?resourceId={source['id']}"))

    assert entries[0]["action"] == "source.webhook_token_rotated"
    assert entries[0]["details"] == {}
    token = rotated["webhookUrl"].rsplit("/", 1)[1]
    assert all(token not in str(entry) for entry in entries)


def test_rotating_needs_the_roles_that_may_change_the_source(owner: Caller) -> None:
    source = create_source(owner)
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")
    source_admin = owner.create_member({"role": "SOURCE_ADMIN"}, email="admin@example.com")

    refused = reader.post(f"/sources/{source['id']}/rotate-webhook-token")
    half = source_admin.post(f"/sources/{source['id']}/rotate-webhook-token")

    assert "SOURCE_ADMIN" in only_error(refused, 403)["message"]
    assert "FUNCTIONS_ADMIN" in only_error(half, 403)["message"]


def test_a_tracking_source_has_no_token_to_rotate(owner: Caller) -> None:
    tracking = owner.data(owner.post("/sources", {"name": "Web", "kind": "TRACKING"}), 201)

    response = owner.post(f"/sources/{tracking['id']}/rotate-webhook-token")

    assert only_error(response, 422)["type"] == "validation-error"


# -- the public URL -------------------------------------------------------------------------


def test_the_public_url_defaults_to_where_the_service_listens() -> None:
    assert Settings.load({"HEADRACE_PORT": "9000"}).effective_public_url == "http://127.0.0.1:9000"
    assert Settings.load({"HEADRACE_HOST": "0.0.0.0"}).effective_public_url == (
        "http://127.0.0.1:8080"
    )
    assert Settings.load(
        {"HEADRACE_PUBLIC_URL": "https://h.example.com/hr/"}
    ).effective_public_url == ("https://h.example.com/hr")


@pytest.mark.parametrize(
    "value", ["hooks.example.com", "ftp://hooks.example.com", "https://h/?a=1"]
)
def test_a_public_url_that_is_not_an_http_url_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="HEADRACE_PUBLIC_URL"):
        Settings.load({"HEADRACE_PUBLIC_URL": value})
