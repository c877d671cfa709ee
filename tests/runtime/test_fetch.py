"""`fetch`: the parent makes the request under the egress policy and records a trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from headrace.runtime import EgressPolicy, FunctionKind, FunctionSpec, Outcome, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event, function_code

DESTINATION = FunctionKind.DESTINATION


@pytest.fixture(scope="module")
def allowing_pool() -> Iterator[SandboxPool]:
    """A pool whose operator allowed functions to reach 127.0.0.1."""
    with SandboxPool(EgressPolicy.allowing(["127.0.0.1"])) as sandbox:
        yield sandbox


def run(pool: SandboxPool, code: str, settings: dict[str, Any]) -> Outcome:
    return pool.run_once(function_code(code), DESTINATION, "event", event("track"), settings)


def test_get_returns_status_ok_headers_and_json(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            response = await fetch(settings["url"] + "/users?id=7")
            return {"status": response.status, "ok": response.ok,
                    "servedBy": response.headers.get("x-served-by"),
                    "body": await response.json()}
        """,
        {"url": http_server},
    )
    assert outcome["ok"], outcome["error"]
    result = outcome["result"]
    assert result["status"] == 200
    assert result["ok"] is True
    assert result["servedBy"] == "headrace-tests"
    assert result["body"]["method"] == "GET"
    assert result["body"]["path"] == "/users"
    assert result["body"]["query"] == {"id": "7"}


def test_each_request_is_traced_with_method_url_status_and_duration(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            await fetch(settings["url"] + "/one")
            await fetch(settings["url"] + "/status/503", method="PUT")
        """,
        {"url": http_server},
    )
    requests = outcome["requests"]
    assert [(r["method"], r["url"], r["status"]) for r in requests] == [
        ("GET", f"{http_server}/one", 200),
        ("PUT", f"{http_server}/status/503", 503),
    ]
    assert all(isinstance(r["durationMs"], float) and r["durationMs"] > 0 for r in requests)


def test_post_with_json_sends_the_body_and_content_type(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            response = await fetch(settings["url"] + "/events", method="POST",
                                   json={"event": event["event"]},
                                   headers={"Authorization": "Bearer " + settings["token"]})
            return await response.json()
        """,
        {"url": http_server, "token": "t-123"},
    )
    echo = outcome["result"]
    assert echo["method"] == "POST"
    assert echo["body"] == '{"event":"Order Completed"}'
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["headers"]["authorization"] == "Bearer t-123"
    assert outcome["requests"][0]["method"] == "POST"


def test_the_javascript_style_options_object_works(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            response = await fetch(settings["url"] + "/raw", {
                "method": "POST", "headers": {"X-Api-Key": "k"}, "body": "a=1&b=2"})
            return await response.json()
        """,
        {"url": http_server},
    )
    echo = outcome["result"]
    assert (echo["method"], echo["body"], echo["headers"]["x-api-key"]) == ("POST", "a=1&b=2", "k")


def test_an_error_status_is_a_response_not_an_exception(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            response = await fetch(settings["url"] + "/status/404")
            return [response.status, response.ok, await response.text()]
        """,
        {"url": http_server},
    )
    assert outcome["result"] == [404, False, "status page"]
    assert outcome["requests"][0]["status"] == 404


def test_text_decodes_the_body(allowing_pool: SandboxPool, http_server: str) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            return await (await fetch(settings["url"] + "/text")).text()
        """,
        {"url": http_server},
    )
    assert outcome["result"] == "plain text ✓"


def test_a_request_over_its_timeout_raises_fetch_error(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            try:
                await fetch(settings["url"] + "/slow?s=1", timeout=0.1)
            except FetchError as exc:
                return "timed out: " + str(exc)
        """,
        {"url": http_server},
    )
    assert outcome["result"].startswith("timed out: ")
    assert outcome["requests"][0]["status"] is None
    assert outcome["requests"][0]["error"]


def test_run_once_can_allow_hosts_for_one_call(pool: SandboxPool, http_server: str) -> None:
    code = function_code(
        """
        async def on_track(event, settings):
            return (await fetch(settings["url"] + "/x")).status
        """
    )
    outcome = pool.run_once(
        code, DESTINATION, "event", event("track"), {"url": http_server}, allow_hosts=["127.0.0.1"]
    )
    assert outcome["result"] == 200


def test_requests_of_a_batch_are_filed_under_the_event_that_made_them(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    code = function_code(
        """
        async def on_track(event, settings):
            await fetch(settings["url"] + "/" + event["event"])
        """
    )
    batch = [event("track", event="first"), event("track", event="second")]
    outcome = allowing_pool.run_once(code, DESTINATION, "batch", batch, {"url": http_server})
    assert outcome["requests"] == []
    assert [[r["url"] for r in o["requests"]] for o in outcome["result"]] == [
        [f"{http_server}/first"],
        [f"{http_server}/second"],
    ]


REFUSED = [
    ("http://127.0.0.1:{port}/x", "a loopback address"),
    ("http://localhost:{port}/x", "a loopback address"),
    ("http://[::1]:{port}/x", "a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/x", "a loopback address"),
    ("http://2130706433:{port}/x", "a loopback address"),
    ("http://0.0.0.0:{port}/x", "a private address"),
    ("http://10.0.0.1/x", "a private address"),
    ("http://192.168.1.1/x", "a private address"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_the_default_policy_refuses_private_loopback_and_metadata_addresses(
    pool: SandboxPool, instance: MakeInstance, http_server: str, url: str, reason: str
) -> None:
    spec = instance(
        """
        async def on_track(event, settings):
            try:
                await fetch(settings["url"])
            except FetchError as exc:
                return str(exc)
            return "reached"

        def on_identify(event, settings):
            return "still working"
        """
    )
    target = url.format(port=http_server.rsplit(":", 1)[1])
    outcome = pool.invoke(spec, "event", event("track"), {"url": target})
    assert outcome["ok"]
    assert "are refused: it is " + reason in outcome["result"]
    assert "HEADRACE_EGRESS_ALLOW" in outcome["result"]
    (trace,) = outcome["requests"]
    assert (trace["method"], trace["url"], trace["status"]) == ("GET", target, None)
    assert trace["error"] == outcome["result"]
    assert pool.invoke(spec, "event", event("identify"))["result"] == "still working"


def test_an_uncaught_refusal_is_a_bad_request_fetch_error(
    pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        pool,
        "async def on_track(event, settings):\n    await fetch(settings['url'])\n",
        {"url": http_server},
    )
    assert outcome["error"]["type"] == "FetchError"
    assert outcome["error"]["category"] == "bad_request"
    assert "refused" in outcome["error"]["message"]


def test_a_redirect_to_a_refused_address_is_refused(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            try:
                await fetch(settings["url"] + "/redirect?to=http://169.254.169.254/latest/")
            except FetchError as exc:
                return str(exc)
        """,
        {"url": http_server},
    )
    assert "169.254.169.254" in outcome["result"]
    assert "a link-local address" in outcome["result"]


def test_only_http_and_https_urls_can_be_fetched(allowing_pool: SandboxPool) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            try:
                await fetch("file:///etc/passwd")
            except FetchError as exc:
                return str(exc)
        """,
        {},
    )
    assert "fetch supports http and https URLs, not 'file'" in outcome["result"]


def test_credentials_in_a_url_are_left_out_of_the_trace(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    outcome = run(
        allowing_pool,
        """
        async def on_track(event, settings):
            url = settings["url"].replace("http://", "http://api:s3cret@") + "/private"
            return (await fetch(url)).status
        """,
        {"url": http_server},
    )
    assert outcome["result"] == 200
    assert outcome["requests"][0]["url"] == f"{http_server}/private"
    assert "s3cret" not in str(outcome)


def test_in_each_mode_every_events_requests_are_traced_on_that_event(
    allowing_pool: SandboxPool, http_server: str
) -> None:
    spec = FunctionSpec(
        key="test:fetch-each",
        code=function_code(
            """
            async def on_track(event, settings):
                for n in range(event["properties"]["fetches"]):
                    await fetch(settings["url"] + f"/{event['messageId']}/{n}")
            """
        ),
        kind=DESTINATION,
    )
    events = [
        event("track", messageId=m, properties={"fetches": n})
        for m, n in (("a", 0), ("b", 2), ("c", 1))
    ]
    try:
        outcome = allowing_pool.invoke(spec, "each", events, {"url": http_server})
    finally:
        allowing_pool.discard(spec.key)

    assert outcome["ok"], outcome["error"]
    assert [[r["url"] for r in o["requests"]] for o in outcome["result"]] == [
        [],
        [f"{http_server}/b/0", f"{http_server}/b/1"],
        [f"{http_server}/c/0"],
    ]
    assert outcome["requests"] == []
