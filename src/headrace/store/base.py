"""The declarative base, id and timestamp conventions shared by every table."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Dialect, LargeBinary, MetaData, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID_LENGTH = 32
"""Column width for ids: a short prefix, an underscore and 26 base32 characters."""

# Names for constraints so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


class Payload(LargeBinary):
    """Bytes stored and read as they are: the drivers take and give `bytes` themselves, so
    the per-row conversion of LargeBinary (a measurable cost on the queue's hot path) is
    left out."""

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: Any) -> None:
        return None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id(prefix: str) -> str:
    """An opaque random id such as `ws_7n2k...`: 130 random bits, readable prefix."""
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database.

    SQLite has no time zones: values are stored as naive UTC and made aware when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ConfiguredInstance:
    """Columns of everything configured with settings: sources, destinations, insert
    function instances (mixed into each of their tables)."""

    settings: Mapped[str] = mapped_column(Text)
    """JSON object of the settings that are not sensitive."""
    secrets: Mapped[str] = mapped_column(Text)
    """JSON object: sensitive setting name -> sealed value (see security/secrets.py)."""
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
