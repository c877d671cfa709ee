"""Source functions: `on_request(request, settings)` reads a webhook and emits with `Segment`."""

from __future__ import annotations

import hashlib
import hmac
import textwrap
from typing import Any

import pytest

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import request

SOURCE = FunctionKind.SOURCE


def run_source(pool: SandboxPool, body: str, payload: dict[str, Any], settings: Any = None) -> Any:
    code = "def on_request(request, settings):\n" + "".join(
        f"    {line}\n" for line in body.strip().splitlines()
    )
    return pool.run_once(code, SOURCE, "request", payload, settings)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            'Segment.track({"userId": "u1", "event": "Paid", "properties": {"usd": 5}})',
            {"type": "track", "userId": "u1", "event": "Paid", "properties": {"usd": 5}},
        ),
        (
            'Segment.identify({"userId": "u1", "traits": {"plan": "pro"}})',
            {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
        ),
        (
            'Segment.page({"anonymousId": "a1", "name": "Pricing"})',
            {"type": "page", "anonymousId": "a1", "name": "Pricing"},
        ),
        (
            'Segment.screen({"userId": "u1", "name": "Home"})',
            {"type": "screen", "userId": "u1", "name": "Home"},
        ),
        (
            'Segment.group({"userId": "u1", "groupId": "g1"})',
            {"type": "group", "userId": "u1", "groupId": "g1"},
        ),
        (
            'Segment.alias({"userId": "u1", "previousId": "a1"})',
            {"type": "alias", "userId": "u1", "previousId": "a1"},
        ),
    ],
)
def test_segment_calls_emit_events(pool: SandboxPool, call: str, expected: Any) -> None:
    outcome = run_source(pool, call, request())
    assert outcome["ok"], outcome["error"]
    assert outcome["result"] == {"events": [expected], "objects": []}


def test_segment_set_emits_an_object(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        'Segment.set({"collection": "rooms", "id": "r1", "properties": {"beds": 2}})',
        request(),
    )
    assert outcome["result"] == {
        "events": [],
        "objects": [{"collection": "rooms", "id": "r1", "properties": {"beds": 2}}],
    }


def test_events_are_emitted_in_the_order_of_the_calls(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        """
        for n in range(3):
            Segment.track({"userId": "u1", "event": f"Step {n}"})
        """,
        request(),
    )
    assert [e["event"] for e in outcome["result"]["events"]] == ["Step 0", "Step 1", "Step 2"]


def test_each_request_emits_only_its_own_events(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(
        """
        def on_request(request, settings):
            Segment.track({"userId": "u1", "event": request.json()["name"]})
        """,
        kind=SOURCE,
    )
    pool.invoke(spec, "request", request(body={"name": "First"}))
    second = pool.invoke(spec, "request", request(body={"name": "Second"}))
    assert [e["event"] for e in second["result"]["events"]] == ["Second"]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ('Segment.track({"userId": "u1"})', "track events need 'event'"),
        ('Segment.group({"userId": "u1"})', "group events need 'groupId'"),
        ('Segment.alias({"userId": "u1"})', "alias events need 'previousId'"),
        ('Segment.track({"event": "Paid"})', "track events need a userId or an anonymousId"),
        ('Segment.identify({"traits": {}})', "identify events need a userId or an anonymousId"),
        ('Segment.page({"name": "Home"})', "page events need a userId or an anonymousId"),
        ('Segment.screen({"name": "Home"})', "screen events need a userId or an anonymousId"),
        ('Segment.group({"groupId": "g1"})', "group events need a userId or an anonymousId"),
        ('Segment.alias({"previousId": "a1"})', "alias events need a userId or an anonymousId"),
        ('Segment.set({"id": "r1", "properties": {}})', "Segment.set needs 'collection'"),
        ('Segment.set({"collection": "rooms", "properties": {}})', "Segment.set needs 'id'"),
        ('Segment.set({"collection": "rooms", "id": "r1"})', "Segment.set needs 'properties'"),
    ],
)
def test_emitting_without_a_required_field_raises_validation_error(
    pool: SandboxPool, call: str, reason: str
) -> None:
    outcome = run_source(pool, call, request())
    assert outcome["error"]["type"] == "ValidationError"
    assert outcome["error"]["category"] == "message_rejected"
    assert reason in outcome["error"]["message"]


def test_request_json_parses_a_raw_json_body(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        'Segment.track({"userId": request.json()["user"], "event": "Hook"})',
        request(body='{"user": "u-7"}'),
    )
    assert outcome["result"]["events"][0]["userId"] == "u-7"


def test_request_text_is_the_raw_body(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        'Segment.track({"userId": "u1", "event": request.text()})',
        request(body="plain words"),
    )
    assert outcome["result"]["events"][0]["event"] == "plain words"


def test_request_json_of_a_body_that_is_not_json_is_a_validation_error(pool: SandboxPool) -> None:
    outcome = run_source(pool, "request.json()", request(body="{not json"))
    assert outcome["error"]["type"] == "ValidationError"
    assert outcome["error"]["category"] == "message_rejected"


def test_request_headers_are_read_case_insensitively(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        """
        Segment.track({"userId": "u1", "event": "Hook", "properties": {
            "signature": request.headers.get("x-signature"),
            "type": request.headers.get("CONTENT-TYPE"),
            "missing": request.headers.get("X-Missing"),
        }})
        """,
        request(headers={"X-Signature": "abc", "Content-Type": "application/json"}),
    )
    assert outcome["result"]["events"][0]["properties"] == {
        "signature": "abc",
        "type": "application/json",
        "missing": None,
    }


def test_request_url_exposes_the_query_and_search_params(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        """
        Segment.track({"userId": "u1", "event": "Hook", "properties": {
            "query": request.url.query,
            "token": request.url.searchParams.get("token"),
            "tags": request.url.searchParams.getAll("tag"),
            "hasNope": request.url.searchParams.has("nope"),
        }})
        """,
        request(query={"token": "t-1", "tag": ["a", "b"]}),
    )
    assert outcome["result"]["events"][0]["properties"] == {
        "query": {"token": "t-1", "tag": "a"},
        "token": "t-1",
        "tags": ["a", "b"],
        "hasNope": False,
    }


def test_settings_reach_a_source_function(pool: SandboxPool) -> None:
    outcome = run_source(
        pool, 'Segment.track({"userId": settings["who"], "event": "Hook"})', request(), {"who": "w"}
    )
    assert outcome["result"]["events"][0]["userId"] == "w"


def test_on_request_may_be_async_and_camel_case(pool: SandboxPool) -> None:
    code = 'async def onRequest(request, settings):\n    Segment.identify({"userId": "u1"})\n'
    outcome = pool.run_once(code, SOURCE, "request", request())
    assert outcome["result"]["events"] == [{"type": "identify", "userId": "u1"}]


def test_a_source_function_without_on_request_is_a_load_error(pool: SandboxPool) -> None:
    code = "def on_track(event, settings):\n    return 1\n"
    error = pool.run_once(code, SOURCE, "request", request())["error"]
    assert error["type"] == "FunctionLoadError"
    assert "must define on_request" in error["message"]


def test_a_destination_does_not_handle_requests(pool: SandboxPool) -> None:
    code = "def on_track(event, settings):\n    return 1\n"
    error = pool.run_once(code, FunctionKind.DESTINATION, "request", request())["error"]
    assert error["category"] == "unsupported_event_type"


def stored_request(body: str, content_type: str, url: str) -> dict[str, Any]:
    """A request as the webhook endpoint stores it: the raw body as text, the full URL."""
    return {
        "id": "req_1",
        "method": "POST",
        "url": url,
        "headers": {"content-type": content_type, "x-signature": "abc"},
        "body": body,
    }


def test_a_stored_json_request_reads_as_json_and_keeps_its_exact_text(pool: SandboxPool) -> None:
    raw = '{"order":  "o-1", "total": 42}'
    outcome = run_source(
        pool,
        """
        Segment.track({"userId": "u1", "event": "Hook", "properties": {
            "json": request.json(), "text": request.text(), "method": request.method,
        }})
        """,
        stored_request(raw, "application/json", "https://hooks.example.com/v1/webhooks/t"),
    )
    assert outcome["result"]["events"][0]["properties"] == {
        "json": {"order": "o-1", "total": 42},
        "text": raw,
        "method": "POST",
    }


def test_a_stored_form_request_reads_as_form_fields(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        """
        Segment.track({"userId": "u1", "event": "Hook", "properties": {
            "form": request.form(), "text": request.text(),
        }})
        """,
        stored_request(
            "order=o-2&note=paid+in+full&empty=",
            "application/x-www-form-urlencoded",
            "https://hooks.example.com/v1/webhooks/t",
        ),
    )
    assert outcome["result"]["events"][0]["properties"] == {
        "form": {"order": "o-2", "note": "paid in full", "empty": ""},
        "text": "order=o-2&note=paid+in+full&empty=",
    }


def test_a_stored_requests_query_comes_from_its_url(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        """
        Segment.track({"userId": "u1", "event": "Hook", "properties": {
            "query": request.url.query,
            "all": request.url.searchParams.getAll("shop"),
            "path": request.url.path,
            "signature": request.headers.get("X-Signature"),
        }})
        """,
        stored_request("{}", "application/json", "https://h.example/v1/webhooks/t?shop=a&shop=b"),
    )
    assert outcome["result"]["events"][0]["properties"] == {
        "query": {"shop": "a"},
        "all": ["a", "b"],
        "path": "/v1/webhooks/t",
        "signature": "abc",
    }


def test_a_form_body_read_as_json_is_a_validation_error(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        "request.json()",
        stored_request("a=1", "application/x-www-form-urlencoded", "https://h.example/"),
    )
    assert outcome["error"]["type"] == "ValidationError"
    assert "not JSON" in outcome["error"]["message"]


def test_an_hmac_of_the_raw_body_can_be_checked_with_a_setting(pool: SandboxPool) -> None:
    raw = '{"id": "evt_1"}'
    signature = hmac.new(b"whsec", raw.encode(), hashlib.sha256).hexdigest()
    code = textwrap.dedent(
        """
        import hashlib, hmac
        expected = hmac.new(settings["secret"].encode(), request.text().encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), request.headers.get("x-signature")):
            raise ValidationError("the signature does not match")
        Segment.track({"userId": "u1", "event": "Verified"})
        """
    )
    good = {
        **stored_request(raw, "application/json", "https://h.example/"),
        "headers": {"x-signature": signature},
    }
    bad = {**good, "body": raw + " "}

    assert run_source(pool, code, good, {"secret": "whsec"})["ok"] is True
    error = run_source(pool, code, bad, {"secret": "whsec"})["error"]
    assert (error["type"], error["message"]) == ("ValidationError", "the signature does not match")


def test_a_request_may_emit_at_most_1000_events(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        """
        for n in range(1001):
            Segment.track({"userId": "u1", "event": f"E{n}"})
        """,
        request(),
    )
    assert outcome["error"]["type"] == "ValidationError"
    assert "at most 1000 events" in outcome["error"]["message"]


def test_an_emitted_event_over_32_kb_is_a_validation_error(pool: SandboxPool) -> None:
    outcome = run_source(
        pool,
        'Segment.track({"userId": "u1", "event": "Big", "properties": {"x": "y" * 33000}})',
        request(),
    )
    assert outcome["error"]["type"] == "ValidationError"
    assert "over the 32768-byte limit" in outcome["error"]["message"]


def test_emitting_something_that_is_not_a_dict_is_a_validation_error(pool: SandboxPool) -> None:
    outcome = run_source(pool, 'Segment.identify("u1")', request())
    assert outcome["error"]["type"] == "ValidationError"
    assert "takes a dict" in outcome["error"]["message"]
