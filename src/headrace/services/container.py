"""The running service: the store and the use cases, started and stopped as one."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from headrace.config import Settings
from headrace.log import get_logger
from headrace.services.access import AccessService
from headrace.services.health import HealthService
from headrace.services.workspaces import WorkspaceService
from headrace.store import open_engine, session_factory

_log = get_logger("service")


class Services:
    """Everything the API calls into, built on one engine.

    `start` and `stop` bracket the life of the process: the pipeline workers (ingest,
    delivery, retry) are started in `start` and drained in `stop`, so that `headrace serve`
    runs the HTTP API and the workers in one process tree.
    """

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        """Built on `engine` (default: one opened from `settings`), which `stop` disposes."""
        self.settings = settings
        self.engine = engine if engine is not None else open_engine(settings.effective_database_url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.workspaces = WorkspaceService(self.sessions)
        self.access = AccessService(self.sessions)
        self.health = HealthService(self.engine)

    def start(self) -> None:
        # Pipeline workers start here, once they exist.
        _log.info("service started")

    def stop(self) -> None:
        # Pipeline workers are drained here, before the engine goes away.
        self.engine.dispose()
        _log.info("service stopped")
