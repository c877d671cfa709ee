"""Sensitive settings at rest: AES-256-GCM with one key per installation.

The key comes from HEADRACE_SECRET_KEY, or is generated once into DATA_DIR/secret.key
(mode 0600). Each value is sealed with a fresh 96-bit nonce and bound to where it lives
(workspace, owner, setting name) as associated data, so a ciphertext copied onto another
instance or setting does not open.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from headrace.config import SECRET_KEY_BYTES, Settings, decode_secret_key

NONCE_BYTES = 12
SEALED_PREFIX = "v1."
"""Marks the format of a sealed value, so that a later key rotation can tell them apart."""
KEY_FILE_MODE = 0o600


class SecretError(Exception):
    """A sealed value cannot be opened: another key, or it was moved or tampered with."""


class SecretBox:
    """Seals and opens setting values; `where` names the place a value belongs to."""

    def __init__(self, key: bytes) -> None:
        if len(key) != SECRET_KEY_BYTES:
            raise ValueError(f"the key must be {SECRET_KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, where: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), where.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, where: str) -> str:
        if not sealed.startswith(SEALED_PREFIX):
            raise SecretError("the value is not in a known sealed format")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(SEALED_PREFIX) :])
            plaintext = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], where.encode())
        except (InvalidTag, ValueError):
            raise SecretError(
                "a sensitive setting cannot be decrypted: the secret key differs from the one "
                "that encrypted it, or the value was altered"
            ) from None
        return plaintext.decode()


def load_secret_key(settings: Settings) -> bytes:
    """HEADRACE_SECRET_KEY if set, else the key in DATA_DIR/secret.key, made on first use."""
    if settings.secret_key is not None:
        return decode_secret_key(settings.secret_key)
    return _key_file(settings.secret_key_path)


def _key_file(path: Path) -> bytes:
    if not path.exists():
        _write_new_key(path)
    return decode_secret_key(path.read_text())


def _write_new_key(path: Path) -> None:
    """Write a fresh key to `path` unless another process got there first.

    The key is written in full to a private temporary file, then linked into place: a
    second process starting at the same moment either wins the link or reads the winner's
    complete key, never a half-written one.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        try:
            os.fchmod(fd, KEY_FILE_MODE)
            os.write(fd, (secrets.token_urlsafe(SECRET_KEY_BYTES) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        # Another process's key already in place wins; this one is thrown away.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
