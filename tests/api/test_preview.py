"""`POST /api/v1/functions/preview`: the Run button runs a function once in the sandbox."""

from __future__ import annotations

from tests.api.support import SOURCE_CODE, TRACK_EVENT, Caller, only_error


def test_preview_of_a_saved_function_returns_the_outcome_in_camel_case(owner: Caller) -> None:
    function = owner.create_function()

    outcome = owner.data(
        owner.post(
            "/functions/preview",
            {"functionId": function["id"], "settings": {"apiKey": "abc"}, "payload": TRACK_EVENT},
        )
    )

    assert outcome["ok"] is True
    assert outcome["result"] == {"seen": "Signed Up"}
    assert outcome["logs"] == ["Signed Up with key of length 3"]
    assert outcome["error"] is None
    assert outcome["durationMs"] >= 0


def test_preview_of_unsaved_code_needs_its_resource_type(owner: Caller) -> None:
    response = owner.post(
        "/functions/preview",
        {"code": "def on_track(e, s):\n    return 1\n", "payload": TRACK_EVENT},
    )

    assert only_error(response, 422)["field"] == "resourceType"


def test_preview_reports_a_failing_function_with_its_category(owner: Caller) -> None:
    outcome = owner.data(
        owner.post(
            "/functions/preview",
            {
                "code": "def on_track(e, s):\n    raise RetryError('later')\n",
                "resourceType": "DESTINATION",
                "payload": TRACK_EVENT,
            },
        )
    )

    assert outcome["ok"] is False
    assert outcome["error"]["type"] == "RetryError"
    assert outcome["error"]["category"] == "retry"


def test_preview_runs_a_source_function_on_a_request(owner: Caller) -> None:
    outcome = owner.data(
        owner.post(
            "/functions/preview",
            {"code": SOURCE_CODE, "resourceType": "SOURCE", "payload": {"body": {"a": 1}}},
        )
    )

    assert outcome["ok"] is True
    assert outcome["result"]["events"][0]["event"] == "Hooked"


def test_preview_runs_a_fresh_instance_each_time(owner: Caller) -> None:
    code = "calls = []\ndef on_track(e, s):\n    calls.append(1)\n    return len(calls)\n"
    body = {"code": code, "resourceType": "DESTINATION", "payload": TRACK_EVENT}

    first = owner.data(owner.post("/functions/preview", body))
    second = owner.data(owner.post("/functions/preview", body))

    assert first["result"] == second["result"] == 1


def test_preview_refuses_settings_of_the_wrong_type(owner: Caller) -> None:
    function = owner.create_function()

    response = owner.post(
        "/functions/preview",
        {"functionId": function["id"], "settings": {"apiKey": 42}, "payload": TRACK_EVENT},
    )

    assert only_error(response, 422)["field"] == "settings.apiKey"


def test_preview_counts_as_usage_of_the_function(owner: Caller) -> None:
    function = owner.create_function()
    owner.post(
        "/functions/preview",
        {"functionId": function["id"], "settings": {"apiKey": "k"}, "payload": TRACK_EVENT},
    )

    usage = owner.data(owner.get("/usage"))

    assert [(u["functionId"], u["invocations"]) for u in usage] == [(function["id"], 1)]
