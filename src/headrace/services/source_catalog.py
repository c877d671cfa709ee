"""The source runner's catalog (headrace.pipeline.SourceCatalog) on the store: each FUNCTION
source with its pinned function version and settings decrypted for the call."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from headrace.pipeline import FunctionSourcePlan
from headrace.services.invocation import InvocationService
from headrace.services.sources import SourceKind
from headrace.store.sources import Source


class StoreSourceCatalog:
    def __init__(self, sessions: sessionmaker[Session], invocations: InvocationService) -> None:
        self._sessions = sessions
        self._invocations = invocations

    def function_source(self, source_id: str) -> FunctionSourcePlan | None:
        with self._sessions() as session:
            source = session.get(Source, source_id)
            if source is None or source.kind != SourceKind.FUNCTION:
                return None
            workspace_id, enabled = source.workspace_id, source.enabled
        # A disabled source's settings stay sealed: nothing will run.
        invocation = self._invocations.instance(source_id) if enabled else None
        return FunctionSourcePlan(
            id=source_id,
            workspace_id=workspace_id,
            enabled=enabled,
            function=invocation.plan() if invocation is not None else None,
        )
