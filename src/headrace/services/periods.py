"""The `from`/`to` periods of the delivery endpoints: zoned, ordered, with a default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headrace.services.errors import InvalidInput

DELIVERY_DEFAULT_PERIOD = timedelta(hours=24)
"""The period the delivery endpoints cover when `from` is not given."""


def require_zones(since: datetime | None, until: datetime | None) -> None:
    for field, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"'{field}' must include a time zone, as in 2026-01-01T00:00:00Z.", field=field
            )


def delivery_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until), by default the DELIVERY_DEFAULT_PERIOD up to now."""
    require_zones(since, until)
    until = until or datetime.now(UTC)
    since = since or until - DELIVERY_DEFAULT_PERIOD
    if since >= until:
        raise InvalidInput("'from' must be before 'to'.", field="from")
    return since, until
