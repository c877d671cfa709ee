"""`headrace run`: run a function file once, locally, in the same sandbox as the service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from headrace.cli.common import load_settings
from headrace.config import ENV_EGRESS_ALLOW
from headrace.runtime import (
    MAX_TIMEOUT_S,
    EgressPolicy,
    FunctionKind,
    SandboxPool,
    SandboxUnavailable,
)

EXIT_OK = 0
EXIT_FUNCTION_FAILED = 1
# Bad usage exits 2: click's own status for a BadParameter.

SAMPLE_TRACK_EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "user-1",
    "messageId": "sample-message-1",
    "timestamp": "2026-01-01T00:00:00.000Z",
    "properties": {"orderId": "o-1", "revenue": 42.5, "currency": "USD"},
    "context": {"ip": "203.0.113.7"},
}
SAMPLE_REQUEST: dict[str, Any] = {
    "headers": {"content-type": "application/json"},
    "body": {"event": "Order Completed", "userId": "user-1"},
    "queryParameters": {},
}


def _json_argument(value: str, what: str) -> Any:
    """Inline JSON, `-` for stdin, or a path to a JSON file."""
    text: str
    if value == "-":
        text = sys.stdin.read()
    elif value.lstrip()[:1] in ("{", "["):
        text = value
    else:
        path = Path(value)
        if not path.is_file():
            raise click.BadParameter(
                f"{value!r} is neither JSON nor a readable file", param_hint=what
            )
        text = path.read_text(encoding="utf-8")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=what) from None


def _guess_kind(code: str) -> FunctionKind:
    has_request = "def on_request" in code or "def onRequest" in code
    return FunctionKind.SOURCE if has_request else FunctionKind.DESTINATION


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice([k.value for k in FunctionKind]),
    default=None,
    help="Function kind [default: source if the file defines on_request, else destination].",
)
@click.option(
    "--event",
    "event_arg",
    metavar="EVENT",
    default=None,
    help="Inline JSON, a path, or - for stdin. An object is one event (or, for sources, a "
    "request); an array is a batch. [default: a sample event or request]",
)
@click.option(
    "--settings",
    "settings_arg",
    metavar="SETTINGS",
    default=None,
    help="The function's settings: inline JSON object or a path.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.001, MAX_TIMEOUT_S),
    default=None,
    help="Deadline for the call in seconds [default: 5].",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="H",
    help="Let fetch reach this host or CIDR even if private (repeatable; adds to "
    f"${ENV_EGRESS_ALLOW}).",
)
def run(
    file: Path,
    kind: str | None,
    event_arg: str | None,
    settings_arg: str | None,
    timeout: float | None,
    allow_hosts: tuple[str, ...],
) -> None:
    """Run FILE once against an event and print the outcome as JSON.

    Exit status: 0 when the function succeeded, 1 when it failed (the outcome's error
    says why, with its category), 2 for bad usage.
    """
    try:
        code = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {file}: {exc}", param_hint="FILE") from None
    function_kind = FunctionKind(kind) if kind else _guess_kind(code)
    if event_arg is None:
        payload: Any = (
            SAMPLE_REQUEST if function_kind is FunctionKind.SOURCE else SAMPLE_TRACK_EVENT
        )
        click.echo("(no --event given: using a sample one)", err=True)
    else:
        payload = _json_argument(event_arg, "--event")
    settings = _json_argument(settings_arg, "--settings") if settings_arg else {}
    if not isinstance(settings, dict):
        raise click.BadParameter("settings must be a JSON object", param_hint="--settings")
    if isinstance(payload, list):
        if function_kind is FunctionKind.SOURCE:
            raise click.BadParameter(
                "a source function takes one request object", param_hint="--event"
            )
        mode = "batch"
    elif isinstance(payload, dict):
        mode = "request" if function_kind is FunctionKind.SOURCE else "event"
    else:
        raise click.BadParameter("the event must be a JSON object or array", param_hint="--event")

    policy = EgressPolicy.allowing(load_settings().egress_allow)
    try:
        with SandboxPool(policy, max_workers=2, workers_per_function=1) as pool:
            outcome = pool.run_once(
                code, function_kind, mode, payload, settings,
                timeout_s=timeout, allow_hosts=allow_hosts,
            )  # fmt: skip
    except SandboxUnavailable as exc:
        raise click.ClickException(f"The sandbox could not start: {exc}") from None
    click.echo(orjson.dumps(outcome, option=orjson.OPT_INDENT_2).decode())
    sys.exit(EXIT_OK if outcome["ok"] else EXIT_FUNCTION_FAILED)
