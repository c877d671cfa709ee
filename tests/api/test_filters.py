"""Destination filters through the management API: CRUD in creation order, at most ten
per destination, validated by the compiler the pipeline runs, roles and workspaces as for
destinations, every change audited, and a preview of what one filter makes of one event."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headrace.pipeline.filters import MAX_FILTERS_PER_DESTINATION
from headrace.services import Services
from tests.api.support import Caller, only_error, owner_of

SMALL_ORDERS = {
    "title": "No small orders",
    "description": "Orders under 10 are not worth a call",
    "if": "event = 'Order Completed' and properties.total < 10",
    "actions": [{"type": "DROP"}],
}
NO_IP = {
    "title": "No IP",
    "if": "all",
    "actions": [{"type": "DROP_PROPERTIES", "fields": {"context": ["ip"]}}],
}


def order(total: float, currency: str = "USD", message_id: str = "m1") -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "messageId": message_id,
        "properties": {"total": total, "currency": currency},
        "context": {"ip": "203.0.113.9", "locale": "en-US"},
    }


def _webhook(owner: Caller) -> dict[str, Any]:
    body = {"name": "hook", "kind": "WEBHOOK", "settings": {"url": "https://hooks.example.com/in"}}
    return dict(owner.data(owner.post("/destinations", body), 201))


@pytest.fixture
def destination(owner: Caller) -> str:
    return str(owner.create_destination(owner.create_function()["id"])["id"])


def _create(caller: Caller, destination_id: str, **fields: Any) -> dict[str, Any]:
    body = {**SMALL_ORDERS, **fields}
    return dict(caller.data(caller.post(f"/destinations/{destination_id}/filters", body), 201))


# -- CRUD ---------------------------------------------------------------------------------


def test_created_filter_is_returned_as_written_with_an_id_and_times(
    owner: Caller, destination: str
) -> None:
    created = _create(owner, destination)

    assert created["id"].startswith("flt_")
    assert created["destinationId"] == destination
    assert {k: created[k] for k in SMALL_ORDERS} == SMALL_ORDERS
    assert created["enabled"] is True
    assert created["createdAt"] == created["updatedAt"]
    assert owner.data(owner.get(f"/destinations/{destination}/filters/{created['id']}")) == created


def test_filter_needs_only_if_and_actions(owner: Caller, destination: str) -> None:
    body = {"if": "all", "actions": [{"type": "SAMPLE", "percent": 0.1, "path": "userId"}]}

    created = owner.data(owner.post(f"/destinations/{destination}/filters", body), 201)

    assert (created["title"], created["description"], created["enabled"]) == ("", "", True)
    assert created["actions"] == body["actions"]


def test_filters_are_listed_in_creation_order(owner: Caller, destination: str) -> None:
    ids = [_create(owner, destination, title=f"filter {i}")["id"] for i in range(3)]

    listed = owner.data(owner.get(f"/destinations/{destination}/filters"))

    assert [f["id"] for f in listed] == ids


def test_patch_changes_only_the_parts_it_sends(owner: Caller, destination: str) -> None:
    created = _create(owner, destination)

    patched = owner.data(
        owner.patch(
            f"/destinations/{destination}/filters/{created['id']}",
            {"enabled": False, "if": "event = 'Order Refunded'"},
        )
    )

    assert patched["enabled"] is False
    assert patched["if"] == "event = 'Order Refunded'"
    assert patched["title"] == created["title"] and patched["actions"] == created["actions"]
    assert patched["updatedAt"] > created["updatedAt"]
    assert owner.data(owner.get(f"/destinations/{destination}/filters/{created['id']}")) == patched


def test_patch_that_breaks_the_filter_changes_nothing(owner: Caller, destination: str) -> None:
    created = _create(owner, destination)
    path = f"/destinations/{destination}/filters/{created['id']}"

    response = owner.patch(path, {"title": "renamed", "actions": []})

    assert only_error(response, 422)["field"] == "actions"
    assert owner.data(owner.get(path)) == created


def test_deleted_filter_is_gone(owner: Caller, destination: str) -> None:
    created = _create(owner, destination)
    path = f"/destinations/{destination}/filters/{created['id']}"

    deleted = owner.data(owner.delete(path))

    assert deleted == {"id": created["id"], "deleted": True}
    assert only_error(owner.get(path), 404)["type"] == "not-found"
    assert owner.data(owner.get(f"/destinations/{destination}/filters")) == []


def test_filters_go_with_their_destination(owner: Caller, destination: str) -> None:
    created = _create(owner, destination)

    owner.data(owner.delete(f"/destinations/{destination}"))

    response = owner.get(f"/destinations/{destination}/filters/{created['id']}")
    assert only_error(response, 404)["type"] == "not-found"


def test_saved_filters_are_what_the_pipeline_runs(
    owner: Caller, destination: str, services: Services
) -> None:
    first = _create(owner, destination)
    second = _create(owner, destination, **NO_IP)

    plan = services.invocations.destination(destination)

    assert plan is not None and plan.filters_error is None
    assert [f.id for f in plan.filters] == [first["id"], second["id"]]


# -- validation ---------------------------------------------------------------------------


def test_eleventh_filter_is_refused(owner: Caller, destination: str) -> None:
    for index in range(MAX_FILTERS_PER_DESTINATION):
        _create(owner, destination, title=f"filter {index}")

    response = owner.post(f"/destinations/{destination}/filters", SMALL_ORDERS)

    error = only_error(response, 422)
    assert error["type"] == "validation-error"
    assert f"{MAX_FILTERS_PER_DESTINATION} filters" in error["message"]
    listed = owner.data(owner.get(f"/destinations/{destination}/filters"))
    assert len(listed) == MAX_FILTERS_PER_DESTINATION


def test_a_deleted_filter_makes_room_under_the_cap(owner: Caller, destination: str) -> None:
    ids = [_create(owner, destination)["id"] for _ in range(MAX_FILTERS_PER_DESTINATION)]

    owner.data(owner.delete(f"/destinations/{destination}/filters/{ids[0]}"))

    _create(owner, destination)


def test_invalid_fql_is_422_naming_if_and_the_position(owner: Caller, destination: str) -> None:
    source = "event = 'A' and )"

    response = owner.post(f"/destinations/{destination}/filters", {**SMALL_ORDERS, "if": source})

    error = only_error(response, 422)
    assert error["field"] == "if"
    assert error["position"] == source.index(")") == 16
    assert error["line"] == 1
    assert error["message"] == "if: unexpected ')'; expected a value at position 16"


def test_fql_error_on_a_later_line_has_its_line(owner: Caller, destination: str) -> None:
    source = "type = 'track' and\nlower(event) = 'a'"

    response = owner.post(f"/destinations/{destination}/filters", {**SMALL_ORDERS, "if": source})

    error = only_error(response, 422)
    assert (error["field"], error["position"], error["line"]) == ("if", source.index("lower"), 2)
    assert "unknown function 'lower'" in error["message"]
    assert "line 2, column 1" in error["message"]


def test_missing_if_is_422_naming_it(owner: Caller, destination: str) -> None:
    response = owner.post(f"/destinations/{destination}/filters", {"actions": [{"type": "DROP"}]})

    error = only_error(response, 422)
    assert error["field"] == "if"
    assert "position" not in error


@pytest.mark.parametrize(
    ("action", "field", "says"),
    [
        ({"type": "SAMPLE", "percent": 50}, "actions[0].percent", "from 0 to 1"),
        ({"type": "SAMPLE"}, "actions[0].percent", "a number from 0 to 1"),
        ({"type": "KEEP"}, "actions[0].type", "unknown action type 'KEEP'"),
        ({"type": "DROP_PROPERTIES", "fields": ["ip"]}, "actions[0].fields", "object of key lists"),
        (
            {"type": "ALLOW_PROPERTIES", "fields": {"context": "ip"}},
            "actions[0].fields.context",
            "list of key names",
        ),
        ({"type": "DROP", "percent": 1}, "actions[0].percent", "unknown field"),
    ],
)
def test_invalid_action_is_422_naming_its_field(
    owner: Caller, destination: str, action: dict[str, Any], field: str, says: str
) -> None:
    response = owner.post(
        f"/destinations/{destination}/filters", {**SMALL_ORDERS, "actions": [action]}
    )

    error = only_error(response, 422)
    assert error["field"] == field
    assert says in error["message"]


def test_second_action_of_one_type_is_refused(owner: Caller, destination: str) -> None:
    actions = [{"type": "DROP"}, {"type": "DROP"}]

    response = owner.post(
        f"/destinations/{destination}/filters", {**SMALL_ORDERS, "actions": actions}
    )

    assert only_error(response, 422)["field"] == "actions[1]"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"enabled": "yes"}, "enabled"), ({"title": 7}, "title"), ({"title": "x" * 201}, "title")],
)
def test_wrongly_typed_part_is_422_naming_it(
    owner: Caller, destination: str, body: dict[str, Any], field: str
) -> None:
    response = owner.post(f"/destinations/{destination}/filters", {**SMALL_ORDERS, **body})

    assert only_error(response, 422)["field"] == field


def test_unknown_or_generated_field_is_refused(owner: Caller, destination: str) -> None:
    for body in ({**SMALL_ORDERS, "action": "DROP"}, {**SMALL_ORDERS, "id": "mine"}):
        response = owner.post(f"/destinations/{destination}/filters", body)

        assert only_error(response, 422)["type"] == "validation-error"


# -- roles and workspaces -----------------------------------------------------------------


def test_read_only_member_lists_and_reads_filters_but_cannot_change_them(
    owner: Caller, destination: str
) -> None:
    created = _create(owner, destination)
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})
    path = f"/destinations/{destination}/filters"

    assert [f["id"] for f in reader.data(reader.get(path))] == [created["id"]]
    assert reader.data(reader.get(f"{path}/{created['id']}")) == created
    assert "SOURCE_ADMIN" in only_error(reader.post(path, SMALL_ORDERS), 403)["message"]
    assert only_error(reader.patch(f"{path}/{created['id']}", {"enabled": False}), 403)
    assert only_error(reader.delete(f"{path}/{created['id']}"), 403)
    assert owner.data(owner.get(f"{path}/{created['id']}")) == created


def test_filters_of_a_function_destination_need_its_function_too(
    owner: Caller, destination: str
) -> None:
    source_admin = owner.create_member({"role": "SOURCE_ADMIN"})

    response = source_admin.post(f"/destinations/{destination}/filters", SMALL_ORDERS)

    assert "FUNCTIONS_ADMIN" in only_error(response, 403)["message"]


def test_source_admin_manages_filters_of_a_webhook_destination(owner: Caller) -> None:
    hook = _webhook(owner)
    source_admin = owner.create_member({"role": "SOURCE_ADMIN", "resourceIds": [hook["id"]]})

    created = _create(source_admin, hook["id"])
    source_admin.data(
        source_admin.patch(f"/destinations/{hook['id']}/filters/{created['id']}", {"title": "t"})
    )
    source_admin.data(source_admin.delete(f"/destinations/{hook['id']}/filters/{created['id']}"))


def test_filters_of_another_workspace_are_not_found(
    owner: Caller, destination: str, client: TestClient, services: Services
) -> None:
    created = _create(owner, destination)
    other = owner_of(client, services, "other")
    path = f"/destinations/{destination}/filters"
    one = f"{path}/{created['id']}"

    for response in (
        other.get(path),
        other.post(path, SMALL_ORDERS),
        other.get(one),
        other.patch(one, {"enabled": False}),
        other.delete(one),
    ):
        assert only_error(response, 404)["type"] == "not-found"
    assert owner.data(owner.get(one)) == created


def test_filter_of_another_destination_is_not_found(owner: Caller, destination: str) -> None:
    created = _create(owner, destination)
    hook = _webhook(owner)

    response = owner.get(f"/destinations/{hook['id']}/filters/{created['id']}")

    assert only_error(response, 404)["type"] == "not-found"


def test_each_change_is_in_the_audit_trail(owner: Caller, destination: str) -> None:
    created = _create(owner, destination)
    path = f"/destinations/{destination}/filters/{created['id']}"
    owner.data(owner.patch(path, {"enabled": False}))
    owner.data(owner.delete(path))

    entries = owner.data(owner.get("/audit", params={"resourceId": created["id"]}))

    assert [e["action"] for e in entries] == [
        "destination_filter.deleted",
        "destination_filter.updated",
        "destination_filter.created",
    ]
    assert {e["resourceType"] for e in entries} == {"destination_filter"}
    assert {e["actor"] for e in entries} == {owner.member_id}
    assert all(e["details"]["destinationId"] == destination for e in entries)
    deleted, updated, created_entry = (e["details"] for e in entries)
    assert created_entry["if"] == SMALL_ORDERS["if"]
    assert created_entry["actions"] == SMALL_ORDERS["actions"]
    assert updated == {"destinationId": destination, "enabled": False}
    assert deleted["title"] == SMALL_ORDERS["title"]


# -- preview ------------------------------------------------------------------------------


def _preview(caller: Caller, filter_: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    body = {"filter": filter_, "payload": payload}
    return dict(caller.data(caller.post("/destinations/filters/preview", body)))


def test_preview_drops_a_small_order_and_keeps_a_large_one(owner: Caller) -> None:
    small, large = order(5), order(25)

    dropped = _preview(owner, SMALL_ORDERS, small)
    kept = _preview(owner, SMALL_ORDERS, large)

    assert dropped == {
        "inputPayload": small,
        "result": None,
        "droppedBy": None,
        "action": "DROP",
    }
    assert kept == {"inputPayload": large, "result": large, "droppedBy": None, "action": None}


def test_preview_names_the_filter_that_dropped_the_event(owner: Caller) -> None:
    preview = _preview(owner, {**SMALL_ORDERS, "id": "small-orders"}, order(5))

    assert (preview["droppedBy"], preview["action"]) == ("small-orders", "DROP")


def test_preview_drops_properties(owner: Caller) -> None:
    event = order(25)

    preview = _preview(owner, NO_IP, event)

    assert preview["result"]["context"] == {"locale": "en-US"}
    assert preview["result"]["properties"] == event["properties"]
    assert preview["inputPayload"] == event


def test_preview_of_a_disabled_filter_changes_nothing(owner: Caller) -> None:
    preview = _preview(owner, {**SMALL_ORDERS, "enabled": False}, order(5))

    assert preview["result"] == order(5)


def _sample_point(message_id: str) -> float:
    """Segment's sampler: the MD5 of the value's JSON, its first 8 bytes as a fraction."""
    digest = hashlib.md5(json.dumps(message_id).encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def test_preview_samples_by_message_id_deterministically(owner: Caller) -> None:
    half = {"if": "all", "actions": [{"type": "SAMPLE", "percent": 0.5}]}
    message_ids = [f"message-{n}" for n in range(12)]

    first = [_preview(owner, half, order(25, message_id=m)) for m in message_ids]
    again = [_preview(owner, half, order(25, message_id=m)) for m in message_ids]

    kept = [p["result"] is not None for p in first]
    assert kept == [p["result"] is not None for p in again]
    assert kept == [_sample_point(m) < 0.5 for m in message_ids]
    assert any(kept) and not all(kept)
    assert {p["action"] for p in first if p["result"] is None} == {"SAMPLE"}


def test_preview_of_invalid_fql_is_422_with_the_position(owner: Caller) -> None:
    body = {"filter": {**SMALL_ORDERS, "if": "event = 'A' and )"}, "payload": order(5)}

    error = only_error(owner.post("/destinations/filters/preview", body), 422)

    assert (error["field"], error["position"]) == ("filter.if", 16)
    assert error["message"].startswith("filter.if: unexpected ')'")


def test_preview_of_an_invalid_action_is_422_naming_it(owner: Caller) -> None:
    body = {
        "filter": {**SMALL_ORDERS, "actions": [{"type": "SAMPLE", "percent": 2}]},
        "payload": order(5),
    }

    error = only_error(owner.post("/destinations/filters/preview", body), 422)

    assert error["field"] == "filter.actions[0].percent"


def test_preview_needs_an_event_object(owner: Caller) -> None:
    body = {"filter": SMALL_ORDERS, "payload": [order(5)]}

    assert only_error(owner.post("/destinations/filters/preview", body), 422)["field"] == "payload"


def test_read_only_member_may_preview(owner: Caller) -> None:
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})

    assert _preview(reader, SMALL_ORDERS, order(5))["result"] is None


def test_preview_needs_a_token(client: TestClient) -> None:
    body = {"filter": SMALL_ORDERS, "payload": order(5)}

    response = client.post("/api/v1/destinations/filters/preview", json=body)

    assert only_error(response, 401)["type"] == "unauthorized"
