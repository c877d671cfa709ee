"""The parameters of the delivery endpoints: `from`/`to` periods (zoned, ordered, with a
default) and the status and category a listing is narrowed to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headrace.errors import ErrorCategory
from headrace.services.errors import InvalidInput
from headrace.store.deliveries import DELIVERY_STATUSES

DELIVERY_DEFAULT_PERIOD = timedelta(hours=24)
"""The period the delivery endpoints cover when `from` is not given."""


def _require_zones(since: datetime | None, until: datetime | None) -> None:
    for field, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"'{field}' must include a time zone, as in 2026-01-01T00:00:00Z.", field=field
            )


def delivery_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until), by default the DELIVERY_DEFAULT_PERIOD up to now."""
    _require_zones(since, until)
    until = until or datetime.now(UTC)
    since = since or until - DELIVERY_DEFAULT_PERIOD
    if since >= until:
        raise InvalidInput("'from' must be before 'to'.", field="from")
    return since, until


def check_record_filter(status: str | None, *categories: str | None) -> None:
    """A status and categories to narrow records to must be ones that exist."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput(
            f"'status' must be one of {', '.join(DELIVERY_STATUSES)}.", field="status"
        )
    known = {c.value for c in ErrorCategory}
    for category in categories:
        if category is not None and category not in known:
            raise InvalidInput(
                f"'category' must be one of {', '.join(sorted(known))}.", field="category"
            )
