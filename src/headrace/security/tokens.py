"""API token format and hashing: `hr_` + 43 url-safe characters, kept only as sha256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "hr_"
TOKEN_ENTROPY_BYTES = 32
"""256 random bits: enough that a plain sha256 (no salt, no stretching) is safe to store."""


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_ENTROPY_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    """A cheap shape check that spares the database a lookup for obvious garbage."""
    return value.startswith(TOKEN_PREFIX) and 16 <= len(value) <= 200
