"""What became of a FUNCTION source's requests: `GET /api/v1/sources/{id}/delivery` (totals)
and `/delivery/events` (kept records and objects); and previewing a source function with a
request, as `headrace run --kind source` takes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient

from headrace.config import Settings
from headrace.services import Services
from headrace.store.source_objects import SourceObjectStore
from tests.api.support import Caller, only_error

CODE = """\
def on_request(request, settings):
    body = request.json()
    if body.get("fail") == "validation":
        console.log("refusing", body["order"])
        raise ValidationError("bad signature")
    if body.get("fail") == "retry":
        raise RetryError("try later")
    Segment.track({"userId": "u1", "event": "Order Completed", "properties": body})
    Segment.set({"collection": "orders", "id": body["order"], "properties": {"paid": True}})
"""
DEADLINE_S = 20.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        source_retry_attempts=2,
        source_retry_first_min_s=0.05,
        source_retry_first_max_s=0.1,
        source_retry_cap_s=0.1,
    )


def wait_for(condition: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def create_source(owner: Caller) -> dict[str, Any]:
    function = owner.create_function(
        displayName="Orders", resourceType="SOURCE", code=CODE, settings=[]
    )
    body = {"name": "Shop", "kind": "FUNCTION", "functionId": function["id"]}
    return dict(owner.data(owner.post("/sources", body), 201))


def send(client: TestClient, source: dict[str, Any], body: dict[str, Any], **headers: str) -> None:
    answer = client.post(urlsplit(source["webhookUrl"]).path, json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def events(owner: Caller, source: dict[str, Any], query: str = "") -> dict[str, Any]:
    found: dict[str, Any] = owner.data(owner.get(f"/sources/{source['id']}/delivery/events{query}"))
    return found


@pytest.fixture
def settled(client: TestClient, owner: Caller) -> dict[str, Any]:
    """A source that received one good request, one refused and one retried to the end."""
    source = create_source(owner)
    send(client, source, {"order": "o-1"})
    send(client, source, {"order": "o-2", "fail": "validation"}, Authorization="Bearer sk_1")
    send(client, source, {"order": "o-3", "fail": "retry"})

    def done() -> bool:
        totals = owner.data(owner.get(f"/sources/{source['id']}/delivery"))
        return bool(totals["total"] == 4)  # delivered, failed, retrying, expired

    wait_for(done)
    return source


def test_totals_count_requests_by_status_and_category_and_events_accepted(
    owner: Caller, settled: dict[str, Any]
) -> None:
    totals = owner.data(owner.get(f"/sources/{settled['id']}/delivery"))

    assert totals["total"] == 4
    assert sorted((o["status"], o["category"], o["count"]) for o in totals["outcomes"]) == [
        ("delivered", "", 1),
        ("expired", "retry", 1),
        ("failed", "message_rejected", 1),
        ("retrying", "retry", 1),
    ]
    assert totals["events"] == {"accepted": 1, "rejected": []}
    since = datetime.fromisoformat(totals["from"])
    until = datetime.fromisoformat(totals["to"])
    assert until - since == timedelta(hours=24)


def test_totals_cover_only_the_period_asked_for(owner: Caller, settled: dict[str, Any]) -> None:
    a_week_ago = datetime.now(UTC) - timedelta(days=7)
    an_hour_later = a_week_ago + timedelta(hours=1)
    then = f"from={quote(a_week_ago.isoformat())}&to={quote(an_hour_later.isoformat())}"

    totals = owner.data(owner.get(f"/sources/{settled['id']}/delivery?{then}"))

    assert (totals["total"], totals["outcomes"]) == (0, [])
    assert datetime.fromisoformat(totals["from"]) == a_week_ago


def test_a_period_that_ends_before_it_starts_is_refused(
    owner: Caller, settled: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    query = f"from={quote(now.isoformat())}&to={quote((now - timedelta(hours=1)).isoformat())}"

    response = owner.get(f"/sources/{settled['id']}/delivery?{query}")

    assert only_error(response, 400)["field"] == "from"


def test_events_list_the_kept_records_newest_first_with_the_request_redacted(
    owner: Caller, settled: dict[str, Any]
) -> None:
    records = events(owner, settled)["records"]

    assert [r["status"] for r in records] == ["expired", "retrying", "failed"]
    failed = records[-1]
    assert failed["requestId"].startswith("req_")
    assert failed["category"] == "message_rejected"
    assert failed["error"] == "ValidationError: bad signature"
    assert failed["attempts"] == 1
    assert failed["logs"] == ["refusing o-2"]
    assert failed["payload"]["body"] == '{"order":"o-2","fail":"validation"}'
    assert failed["payload"]["headers"]["authorization"] == "[redacted]"
    assert failed["payload"]["url"].endswith("/v1/webhooks/[redacted]")
    assert [r["attempts"] for r in records[:2]] == [2, 1]


def test_events_can_be_narrowed_by_status_category_and_limit(
    owner: Caller, settled: dict[str, Any]
) -> None:
    by_status = events(owner, settled, "?status=failed")["records"]
    by_category = events(owner, settled, "?category=retry")["records"]
    limited = events(owner, settled, "?limit=1")["records"]

    assert [r["status"] for r in by_status] == ["failed"]
    assert [r["status"] for r in by_category] == ["expired", "retrying"]
    assert [r["status"] for r in limited] == ["expired"]


def test_events_list_the_objects_the_function_set(owner: Caller, settled: dict[str, Any]) -> None:
    objects = events(owner, settled)["objects"]

    assert [(o["collection"], o["id"], o["properties"]) for o in objects] == [
        ("orders", "o-1", {"paid": True})
    ]
    assert events(owner, settled, "?collection=rooms")["objects"] == []


@pytest.mark.parametrize(
    ("query", "field"), [("?status=lost", "status"), ("?category=oops", "category")]
)
def test_an_unknown_status_or_category_is_refused(
    owner: Caller, settled: dict[str, Any], query: str, field: str
) -> None:
    response = owner.get(f"/sources/{settled['id']}/delivery/events{query}")

    assert only_error(response, 400)["field"] == field


def test_records_need_a_role_on_the_source_or_its_function(
    owner: Caller, settled: dict[str, Any]
) -> None:
    source_admin = owner.create_member({"role": "SOURCE_ADMIN"}, email="admin@example.com")
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")
    other_source = owner.data(owner.post("/sources", {"name": "Web", "kind": "TRACKING"}), 201)
    scoped = owner.create_member(
        {"role": "SOURCE_ADMIN", "resourceIds": [other_source["id"]]}, email="scoped@example.com"
    )

    assert reader.get(f"/sources/{settled['id']}/delivery/events").status_code == 200
    assert source_admin.get(f"/sources/{settled['id']}/delivery/events").status_code == 200
    assert (
        "SOURCE_ADMIN"
        in only_error(scoped.get(f"/sources/{settled['id']}/delivery/events"), 403)["message"]
    )
    assert scoped.get(f"/sources/{settled['id']}/delivery").status_code == 200


def test_delivery_of_another_workspaces_source_is_not_found(
    client: TestClient, services: Services, settled: dict[str, Any]
) -> None:
    other = services.workspaces.create("globex")
    response = client.get(
        f"/api/v1/sources/{settled['id']}/delivery",
        headers={"Authorization": f"Bearer {other.token}"},
    )

    assert response.status_code == 404


# -- preview --------------------------------------------------------------------------------

PREVIEW_CODE = """\
def on_request(request, settings):
    Segment.track({"userId": "u1", "event": "Seen", "properties": {
        "form": request.form(),
        "raw": request.text(),
        "method": request.method,
        "token": request.url.searchParams.get("token"),
        "signature": request.headers.get("x-signature"),
    }})
"""


@pytest.mark.parametrize(
    "payload",
    [
        {
            "body": "plan=pro&seats=3",
            "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Signature": "s"},
            "queryParameters": {"token": "t-1"},
        },
        {
            "payload": {
                "body": "plan=pro&seats=3",
                "headers": {"X-Signature": "s"},
                "queryParameters": {"token": ["t-1"]},
            }
        },
        {
            "method": "post",
            "url": "https://hooks.example.com/v1/webhooks/x?token=t-1",
            "headers": {"x-signature": "s"},
            "body": "plan=pro&seats=3",
        },
    ],
    ids=["as-headrace-run", "wrapped-in-payload", "as-stored"],
)
def test_preview_runs_a_source_function_on_a_request_as_headrace_run_takes_it(
    owner: Caller, payload: dict[str, Any]
) -> None:
    outcome = owner.data(
        owner.post(
            "/functions/preview",
            {"code": PREVIEW_CODE, "resourceType": "SOURCE", "payload": payload},
        )
    )

    assert outcome["ok"] is True, outcome["error"]
    [event] = outcome["result"]["events"]
    assert event["properties"] == {
        "form": {"plan": "pro", "seats": "3"},
        "raw": "plan=pro&seats=3",
        "method": "POST",
        "token": "t-1",
        "signature": "s",
    }
    assert outcome["result"]["objects"] == []


def test_preview_of_a_source_function_needs_one_request_object(owner: Caller) -> None:
    response = owner.post(
        "/functions/preview",
        {"code": PREVIEW_CODE, "resourceType": "SOURCE", "payload": [{"body": "x"}]},
    )

    assert only_error(response, 422)["field"] == "payload"


def test_deleting_a_source_deletes_its_objects(
    services: Services, owner: Caller, settled: dict[str, Any]
) -> None:
    owner.data(owner.delete(f"/sources/{settled['id']}"))

    with services.engine.connect() as conn:
        assert SourceObjectStore().recent(conn, settled["id"]) == []


LEAKY = """\
def on_request(request, settings):
    console.log("checking with", settings["signingSecret"])
    raise ValidationError("signature is not " + settings["signingSecret"])
"""


def test_a_sensitive_setting_the_function_quoted_is_redacted_in_records(
    client: TestClient, owner: Caller
) -> None:
    function = owner.create_function(
        displayName="Leaky",
        resourceType="SOURCE",
        code=LEAKY,
        settings=[{"name": "signingSecret", "type": "STRING", "sensitive": True}],
    )
    body = {
        "name": "Leaky shop",
        "kind": "FUNCTION",
        "functionId": function["id"],
        "settings": {"signingSecret": "whsec_0123456789"},
    }
    source = owner.data(owner.post("/sources", body), 201)
    send(client, source, {"order": "o-9"})

    [record] = wait_for(lambda: events(owner, source)["records"])

    assert "whsec_0123456789" not in str(record)
    assert record["error"] == "ValidationError: signature is not [redacted]"
    assert record["logs"] == ["checking with [redacted]"]


def test_the_webhook_url_is_shown_only_to_members_who_may_change_the_source(
    owner: Caller,
) -> None:
    source = create_source(owner)
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")

    assert owner.data(owner.get(f"/sources/{source['id']}"))["webhookUrl"] == source["webhookUrl"]
    assert reader.data(reader.get(f"/sources/{source['id']}"))["webhookUrl"] is None
    assert [s["webhookUrl"] for s in reader.data(reader.get("/sources"))] == [None]
