"""Preview (the editor's Run button): run a function once in a fresh sandbox instance.

Runs a saved function's latest code (or the code being edited, for that function) or
unsaved code of a given resourceType, with settings and a payload from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from headrace.runtime import Outcome, SandboxPool
from headrace.security import Principal, Role
from headrace.services.authorization import require
from headrace.services.errors import Unprocessable
from headrace.services.function_settings import check_values, schema_from_json
from headrace.services.functions import DEFAULT_TIMEOUT_MS, MAX_CODE_CHARS
from headrace.services.pinning import ResourceType, find_function, latest_version
from headrace.services.usage import UsageService


class PreviewService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        pool: Callable[[], SandboxPool],
        usage: UsageService,
    ) -> None:
        self._sessions = sessions
        self._pool = pool
        self._usage = usage

    def run(
        self,
        principal: Principal,
        *,
        payload: Any,
        settings: Mapping[str, Any] | None = None,
        function_id: str | None = None,
        code: str | None = None,
        resource_type: ResourceType | None = None,
    ) -> Outcome:
        """The runtime's outcome. The call blocks until the function ends or times out."""
        settings = dict(settings or {})
        timeout_ms = DEFAULT_TIMEOUT_MS
        if function_id is not None:
            with self._sessions() as session:
                function = find_function(session, principal, function_id, field="functionId")
                require(principal, Role.FUNCTIONS_ADMIN, function.id)
                latest = latest_version(session, function)
            kind = ResourceType(function.resource_type)
            if resource_type is not None and resource_type is not kind:
                raise Unprocessable(
                    f"Function {function.id} is a {kind.value} function, not "
                    f"{resource_type.value}.",
                    field="resourceType",
                )
            # Types are checked; required ones are not, so a half-configured draft can run.
            check_values(schema_from_json(latest.settings), settings, check_required=False)
            code = code if code is not None else latest.code
            timeout_ms = latest.timeout_ms
        else:
            require(principal, Role.FUNCTIONS_ADMIN)
            if code is None:
                raise Unprocessable("Send functionId, or code with resourceType.", field="code")
            if resource_type is None:
                raise Unprocessable(
                    "Code without functionId needs a resourceType.", field="resourceType"
                )
            kind = resource_type
        if len(code) > MAX_CODE_CHARS:
            raise Unprocessable(f"code must be at most {MAX_CODE_CHARS // 1024} KB.", field="code")
        mode = _mode(kind, payload)
        outcome = self._pool().run_once(
            code, kind.kind, mode, payload, settings, timeout_s=timeout_ms / 1000
        )
        if function_id is not None:
            self._usage.record_invocation(
                principal.workspace_id, function_id, float(outcome.get("durationMs") or 0.0)
            )
        return outcome


def _mode(kind: ResourceType, payload: Any) -> str:
    if kind is ResourceType.SOURCE:
        if not isinstance(payload, dict):
            raise Unprocessable(
                "A SOURCE function's payload is one request object: "
                '{"body": ..., "headers": {...}, "queryParameters": {...}}.',
                field="payload",
            )
        return "request"
    if isinstance(payload, dict):
        return "event"
    if isinstance(payload, list) and payload and all(isinstance(e, dict) for e in payload):
        return "batch"
    raise Unprocessable(
        "The payload must be one event (an object) or a batch (a non-empty list of objects).",
        field="payload",
    )
