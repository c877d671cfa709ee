"""Bringing a data directory to life: check it, migrate the database, make the owner."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from headrace.config import Settings
from headrace.log import get_logger
from headrace.services.errors import Conflict, StartupError
from headrace.services.workspaces import CreatedWorkspace, create_workspace
from headrace.store import (
    StoreError,
    WorkspaceRepository,
    check_connection,
    open_engine,
    upgrade_to_head,
)

DEFAULT_WORKSPACE_NAME = "default"
OWNER_TOKEN_FILE_MODE = 0o600

_log = get_logger("startup")


@dataclass(frozen=True)
class OwnerBootstrap:
    """The default workspace made on first start, with its owner token in clear."""

    created: CreatedWorkspace
    token_path: Path


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory if needed; StartupError unless headrace can write in it."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(
            f"The data directory {data_dir} cannot be created: {_reason(exc)}."
        ) from None
    try:
        with tempfile.TemporaryFile(dir=data_dir, prefix=".headrace-write-check-"):
            pass
    except OSError as exc:
        raise StartupError(
            f"The data directory {data_dir} is not writable: {_reason(exc)}."
        ) from None


def open_store(settings: Settings) -> Engine:
    """An engine on a reachable database whose schema is at the newest revision."""
    try:
        engine = open_engine(settings.effective_database_url)
        check_connection(engine)
        upgrade_to_head(engine)
    except StoreError as exc:
        raise StartupError(str(exc)) from None
    return engine


def ensure_default_workspace(
    settings: Settings, sessions: sessionmaker[Session]
) -> OwnerBootstrap | None:
    """On the first start, the `default` workspace and `owner.token`; later, nothing.

    The token file is written before the transaction commits: if writing fails, no
    workspace exists whose owner token nobody has.
    """
    token_path = settings.owner_token_path
    try:
        with sessions.begin() as session:
            if WorkspaceRepository(session).get_by_name(DEFAULT_WORKSPACE_NAME) is not None:
                return None
            created = create_workspace(session, DEFAULT_WORKSPACE_NAME)
            write_secret_file(token_path, created.token)
    except Conflict:
        # Another process starting on the same database made it first.
        return None
    except OSError as exc:
        raise StartupError(
            f"The owner token cannot be written to {token_path}: {_reason(exc)}."
        ) from None
    _log.info(
        "owner token written",
        extra={"workspace_id": created.workspace.id, "path": str(token_path)},
    )
    return OwnerBootstrap(created=created, token_path=token_path)


def write_secret_file(path: Path, content: str) -> None:
    """Write `content` to a file only its owner can read (0600), replacing any old one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_TOKEN_FILE_MODE)
    try:
        os.fchmod(fd, OWNER_TOKEN_FILE_MODE)
        os.write(fd, (content + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).rstrip(".").lower()
