"""Bad input is a 4xx whose message names the field, and nothing is half-written."""

from __future__ import annotations

from tests.api.support import DESTINATION_CODE, Caller, only_error


def test_malformed_json_is_400(owner: Caller) -> None:
    response = owner.client.post(
        "/api/v1/functions",
        content=b'{"displayName": ',
        headers={**owner.headers, "Content-Type": "application/json"},
    )

    assert only_error(response, 400)["type"] == "invalid-json"


def test_a_wrong_type_is_422_naming_the_field(owner: Caller) -> None:
    response = owner.post(
        "/functions", {"displayName": 7, "resourceType": "DESTINATION", "code": DESTINATION_CODE}
    )

    assert "'displayName'" in only_error(response, 422)["message"]


def test_a_string_is_not_taken_for_a_number(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {
            "displayName": "n",
            "resourceType": "DESTINATION",
            "code": DESTINATION_CODE,
            "timeoutMs": "5000",
        },
    )

    assert "'timeoutMs'" in only_error(response, 422)["message"]


def test_an_unknown_enum_value_is_422_naming_the_field(owner: Caller) -> None:
    response = owner.post(
        "/functions", {"displayName": "n", "resourceType": "LAMBDA", "code": DESTINATION_CODE}
    )

    assert "'resourceType'" in only_error(response, 422)["message"]


def test_an_unknown_field_is_422_naming_it(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {"displayName": "n", "resourceType": "DESTINATION", "code": DESTINATION_CODE, "lang": "js"},
    )

    assert "'lang'" in only_error(response, 422)["message"]


def test_an_over_long_destination_name_is_422(owner: Caller) -> None:
    response = owner.post(
        "/destinations",
        {"name": "d" * 121, "kind": "WEBHOOK", "settings": {"url": "https://example.com"}},
    )

    assert only_error(response, 422)["field"] == "name"


def test_a_timeout_over_the_limit_is_422(owner: Caller) -> None:
    response = owner.post(
        "/functions",
        {
            "displayName": "slow",
            "resourceType": "DESTINATION",
            "code": DESTINATION_CODE,
            "timeoutMs": 3_600_000,
        },
    )

    assert only_error(response, 422)["field"] == "timeoutMs"


def test_an_unknown_resource_type_filter_is_422(owner: Caller) -> None:
    assert (
        "resourceType"
        in only_error(owner.get("/functions", params={"resourceType": "X"}), 422)["message"]
    )


def test_a_refused_request_writes_nothing(owner: Caller) -> None:
    function = owner.create_function()
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    before = owner.data(owner.get("/audit"))

    # The destination row is written before the second source id turns out to be unknown.
    response = owner.post(
        "/destinations",
        {
            "name": "API",
            "kind": "FUNCTION",
            "functionId": function["id"],
            "settings": {"apiKey": "k"},
            "sourceIds": [source["id"], "src_unknown"],
        },
    )

    assert response.status_code == 404
    assert owner.data(owner.get("/destinations")) == []
    assert owner.data(owner.get("/audit")) == before
