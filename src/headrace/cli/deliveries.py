"""`headrace deliveries`: a destination's recent delivery records, read from a running
headrace over its HTTP API, as a table (live with --follow) or as JSON lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import httpx
import orjson
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from headrace.config import DEFAULT_HOST, DEFAULT_PORT
from headrace.errors import ErrorCategory
from headrace.store.deliveries import DELIVERY_STATUSES
from headrace.store.delivery_queries import RECENT_LIMIT_MAX

ENV_URL = "HEADRACE_URL"
ENV_TOKEN = "HEADRACE_TOKEN"
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"  # where `headrace serve` listens by default
API_PREFIX = "/api/v1"

DEFAULT_LIMIT = 20
DEFAULT_INTERVAL_S = 2.0
MIN_INTERVAL_S = 0.5  # a lower one would only load the server, records settle in batches
REQUEST_TIMEOUT_S = 10.0
SUMMARY_PERIOD = timedelta(hours=1)  # the summary line covers the last hour

TIME_WIDTH = len("HH:MM:SS")
TRIES_WIDTH = len("tries")
CATEGORY_WIDTH_MAX = 12  # "unsupported_event_type" is cut to leave room for the error
MESSAGE_ID_WIDTH_MIN = 12
MIN_TEXT_WIDTH = 8  # error and last step keep this much even on a narrow terminal
COLUMN_GAP = 2
LAST_STEP = "last step"  # the header of the last log line or request answer
STATUS_STYLES = {
    "delivered": "green",
    "retrying": "yellow",
    "filtered": "cyan",
    "expired": "magenta",
    "failed": "red",
}

Record = dict[str, Any]


class ApiError(Exception):
    """headrace answered with an error (bad token, missing role, no such destination)."""


class Unreachable(Exception):
    """No answer from headrace at all: not running, wrong URL, timed out."""


class DeliveryApi:
    """The few read-only routes of the management API this command needs."""

    def __init__(self, url: str, token: str) -> None:
        self._url = url
        self._client = httpx.Client(
            base_url=url + API_PREFIX,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=REQUEST_TIMEOUT_S,
        )

    def close(self) -> None:
        self._client.close()

    def destinations(self) -> list[Record]:
        found: list[Record] = self._get("/destinations")
        return found

    def summary(self, destination_id: str, since: datetime, until: datetime) -> Record:
        params = {"from": since.isoformat(), "to": until.isoformat()}
        summary: Record = self._get(f"/destinations/{destination_id}/delivery", params)
        return summary

    def records(
        self, destination_id: str, status: str | None, category: str | None, limit: int
    ) -> list[Record]:
        """Newest first, as the API keeps them."""
        params: dict[str, str | int] = {"limit": limit}
        if status:
            params["status"] = status
        if category:
            params["category"] = category
        records: list[Record] = self._get(f"/destinations/{destination_id}/delivery/events", params)
        return records

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        try:
            response = self._client.get(path, params=params)
        except httpx.TransportError as exc:
            raise Unreachable(f"Cannot reach headrace at {self._url}: {exc}.") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict) and "data" in body:
            return body["data"]
        raise ApiError(_error_message(response, body))


def _error_message(response: httpx.Response, body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
        if any(messages):
            return " ".join(m for m in messages if m)
    return (
        f"headrace answered {response.status_code} {response.reason_phrase} to "
        f"GET {response.request.url.path}; is {response.request.url.host}:"
        f"{response.request.url.port} a headrace server?"
    )


def resolve_destination(destinations: Sequence[Record], wanted: str) -> Record:
    """The destination whose id is `wanted`, else the one whose name is exactly `wanted`."""
    for destination in destinations:
        if destination.get("id") == wanted:
            return destination
    named = [d for d in destinations if d.get("name") == wanted]
    if len(named) == 1:
        return named[0]
    if not named:
        raise click.BadParameter(
            f"no destination has the id or name {wanted!r} in this token's workspace.",
            param_hint="DESTINATION",
        )
    ids = ", ".join(str(d.get("id")) for d in named)
    raise click.BadParameter(
        f"{len(named)} destinations are named {wanted!r}; give one of their ids: {ids}.",
        param_hint="DESTINATION",
    )


# -- rendering ----------------------------------------------------------------------------


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def _milliseconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:.1f}s"
    return f"{value:.0f}ms"


def summary_line(summary: Record, width: int) -> Text:
    """`last hour: 3 delivered  1 retrying ... 2 failed (bad_request 2)  p50/p95 12ms/40ms`."""
    totals = summary.get("totals") or {}
    line = Text("last hour:", style="bold")
    for status in DELIVERY_STATUSES:
        count = int(totals.get(status) or 0)
        line.append(" " if status == DELIVERY_STATUSES[0] else "  ")
        line.append(f"{count} {status}", style=STATUS_STYLES[status] if count else "dim")
        if status == "failed" and count:
            by_category = totals.get("failedByCategory") or {}
            parts = [f"{name} {n}" for name, n in sorted(by_category.items()) if n]
            if parts:
                line.append(f" ({', '.join(parts)})", style=STATUS_STYLES[status])
    latency = summary.get("latencyMs") or {}
    p50, p95 = latency.get("p50"), latency.get("p95")
    latency_part = f"p50/p95 {_milliseconds(p50)}/{_milliseconds(p95)}"
    # Too long for one line: the latency goes whole onto the next rather than split.
    fits = len(line.plain) + 2 + len(latency_part) <= width
    line.append(("  " if fits else "\n") + latency_part)
    return line


def _last_step(record: Record) -> str:
    """The last line the function logged, else the answer to its last request."""
    logs = [line for entry in record.get("logs") or [] for line in str(entry).splitlines()]
    if logs:
        return logs[-1].strip()
    requests = record.get("requests") or []
    if not requests:
        return ""
    last = requests[-1]
    return f"{last.get('method', '')} {last.get('status') or 'no response'}"


def records_table(records: Sequence[Record], width: int) -> Table:
    """Newest first, fitted to `width` columns: time, status, messageId and tries are never
    cut (they find the event); category, error and the last step share what is left, the
    error most of it. The whole texts are in --json."""
    rows = [
        (
            _local_time(str(record.get("at", ""))),
            str(record.get("status", "")),
            str(record.get("category") or ""),
            str(record.get("messageId", "")),
            str(record.get("attempts", "")),
            " ".join(str(record.get("error") or "").split()),
            _last_step(record),
        )
        for record in records
    ]
    has_last = any(row[6] for row in rows)
    columns = 7 if has_last else 6
    gaps = COLUMN_GAP * (columns - 1)
    status_w = max(len("status"), *(len(r[1]) for r in rows))
    category_w = min(max(len("category"), *(len(r[2]) for r in rows)), CATEGORY_WIDTH_MAX)
    text_columns = columns - 5
    others = TIME_WIDTH + status_w + category_w + TRIES_WIDTH + gaps
    # On a narrow terminal a long messageId folds onto a second line rather than being cut.
    message_w = min(
        max(len("messageId"), *(len(r[3]) for r in rows)),
        max(MESSAGE_ID_WIDTH_MIN, width - others - MIN_TEXT_WIDTH * text_columns),
    )
    rest = max(width - others - message_w, MIN_TEXT_WIDTH * text_columns)
    last_w = max(len(LAST_STEP), min(max(len(r[6]) for r in rows), rest * 2 // 5))
    error_w = rest - last_w if has_last else rest
    table = Table(box=None, padding=(0, COLUMN_GAP // 2), pad_edge=False, header_style="bold")
    table.add_column("time", no_wrap=True, width=TIME_WIDTH)
    table.add_column("status", no_wrap=True, width=status_w)
    table.add_column("category", no_wrap=True, overflow="ellipsis", width=category_w)
    table.add_column("messageId", overflow="fold", width=message_w)
    table.add_column("tries", justify="right", no_wrap=True, width=TRIES_WIDTH)
    table.add_column("error", no_wrap=True, overflow="ellipsis", width=error_w)
    if has_last:
        table.add_column(LAST_STEP, no_wrap=True, overflow="ellipsis", width=last_w)
    for row in rows:
        cells: list[RenderableType] = list(row[:columns])
        cells[1] = Text(row[1], style=STATUS_STYLES.get(row[1], ""))
        table.add_row(*cells)
    return table


def snapshot(
    destination: Record, summary: Record, records: Sequence[Record], width: int, note: str = ""
) -> RenderableType:
    title = Text(str(destination.get("name")), style="bold")
    title.append(f"  {destination.get('id')}", style="dim")
    if note:
        title.append(f"  {note}", style="dim")
    body: RenderableType
    if records:
        body = records_table(records, width)
    else:
        body = Text(
            "No delivery records match. Plain deliveries are only counted, not kept, unless "
            "debug capture is on.",
            style="dim",
        )
    return Group(title, summary_line(summary, width), Text(""), body)


# -- the command --------------------------------------------------------------------------


def _record_key(record: Record) -> tuple[Any, ...]:
    return (record.get("messageId"), record.get("at"), record.get("status"), record.get("attempts"))


def _polls(interval_s: float) -> Iterator[None]:
    """Yields now, then every `interval_s` seconds, until interrupted."""
    while True:
        yield
        time.sleep(interval_s)


def _print_json_lines(records: Sequence[Record]) -> None:
    for record in records:
        sys.stdout.write(orjson.dumps(record).decode() + "\n")
    sys.stdout.flush()


def _follow_json(fetch: Callable[[], list[Record]], interval_s: float) -> None:
    """Prints the records once, oldest first, then each new one as it appears."""
    seen: set[tuple[Any, ...]] = set()
    for _ in _polls(interval_s):
        try:
            records = fetch()
        except Unreachable as exc:
            click.echo(f"{exc} Trying again in {interval_s:g}s.", err=True)
            continue
        _print_json_lines([r for r in reversed(records) if _record_key(r) not in seen])
        seen = {_record_key(r) for r in records}


def _follow_table(
    console: Console, render: Callable[[str], RenderableType], interval_s: float
) -> None:
    """Redraws in place on a terminal; elsewhere (a pipe, a file) prints one table per poll.

    A server that stops answering (a restart) does not end the watch: it says so and polls
    again. An error answer (a revoked token, a deleted destination) does."""
    every = f"every {interval_s:g}s, Ctrl-C to stop"
    if not console.is_terminal:
        for _ in _polls(interval_s):
            try:
                console.print(render(f"at {_now()}"))
                console.print()
            except Unreachable as exc:
                click.echo(f"{exc} Trying again in {interval_s:g}s.", err=True)
        return
    last: RenderableType | None = None
    with Live(console=console, auto_refresh=False) as live:
        for _ in _polls(interval_s):
            try:
                last = render(f"updated {_now()}, {every}")
                live.update(last, refresh=True)
            except Unreachable as exc:
                problem = Text(f"{exc} Trying again in {interval_s:g}s.", style="red")
                live.update(problem if last is None else Group(last, problem), refresh=True)


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")


@click.command()
@click.argument("destination")
@click.option(
    "--status",
    type=click.Choice(DELIVERY_STATUSES, case_sensitive=False),
    default=None,
    help="Only records with this status.",
)
@click.option(
    "--category",
    type=click.Choice([c.value for c in ErrorCategory], case_sensitive=False),
    default=None,
    metavar="CATEGORY",
    help=f"Only records with this error category: {', '.join(c.value for c in ErrorCategory)}.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, RECENT_LIMIT_MAX),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="The most records to show.",
)
@click.option("--follow", "-f", is_flag=True, help="Keep polling and redraw until Ctrl-C.")
@click.option(
    "--interval",
    type=click.FloatRange(min=MIN_INTERVAL_S),
    default=DEFAULT_INTERVAL_S,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between two polls with --follow.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the records as JSON lines, oldest first, instead of a table (with --follow, "
    "then each new record as it comes).",
)
@click.option(
    "--url",
    envvar=ENV_URL,
    default=DEFAULT_URL,
    show_default=True,
    help=f"Base URL of the running headrace [env {ENV_URL}].",
)
@click.option(
    "--token",
    envvar=ENV_TOKEN,
    default=None,
    help=f"An API token of the destination's workspace [env {ENV_TOKEN}; required].",
)
def deliveries(
    destination: str,
    status: str | None,
    category: str | None,
    limit: int,
    follow: bool,
    interval: float,
    as_json: bool,
    url: str,
    token: str | None,
) -> None:
    """Show the recent delivery records of DESTINATION (its id or exact name).

    Above the table, a summary of the last hour: events delivered, retrying, filtered,
    expired and failed (by category), and the p50/p95 delivery latency. The table lists
    records newest first; a plain delivery is kept only while the destination's debug capture is on.

    Exit status: 0 on success (and on Ctrl-C with --follow), 1 when headrace refuses or
    cannot be reached, 2 for bad usage or an unknown or ambiguous DESTINATION.
    """
    if not token:
        raise click.UsageError(
            f"No API token: pass --token or set {ENV_TOKEN} (the owner token is in "
            "DATA_DIR/owner.token)."
        )
    base_url = url.strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://.", param_hint="--url")
    api = DeliveryApi(base_url, token)
    console = Console(highlight=False)
    try:
        chosen = resolve_destination(api.destinations(), destination)
        destination_id = str(chosen["id"])

        def fetch_records() -> list[Record]:
            return api.records(destination_id, status, category, limit)

        def render(note: str = "") -> RenderableType:
            until = datetime.now(UTC)
            summary = api.summary(destination_id, until - SUMMARY_PERIOD, until)
            return snapshot(chosen, summary, fetch_records(), console.width, note)

        if as_json and follow:
            _follow_json(fetch_records, interval)
        elif as_json:
            _print_json_lines(list(reversed(fetch_records())))
        elif follow:
            _follow_table(console, render, interval)
        else:
            console.print(render())
    except KeyboardInterrupt:
        if not follow:
            raise
    except (ApiError, Unreachable) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        api.close()
