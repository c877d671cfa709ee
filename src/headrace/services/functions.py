"""Functions and their versions: create, edit (each save a new immutable version), restore,
deploy to instances, delete. Saving never changes what instances run; deploying does."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from headrace.runtime import MAX_TIMEOUT_S, check_code
from headrace.security import Principal, Role
from headrace.services import audit
from headrace.services.authorization import (
    can_view_function,
    require,
    require_each,
    require_view_function,
)
from headrace.services.errors import Conflict, NotFound, Unprocessable
from headrace.services.function_settings import (
    FunctionSetting,
    check_schema,
    schema_from_json,
    schema_to_json,
)
from headrace.services.pinning import (
    PinnedInstance,
    ResourceType,
    SecretBoxSource,
    find_function,
    instances_of_function,
    latest_version,
    move_to_version,
)
from headrace.store.functions import (
    DESCRIPTION_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    DuplicateDisplayName,
    Function,
    FunctionRepository,
    FunctionVersion,
)

LANGUAGE_PYTHON = "python"
DEFAULT_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = int(MAX_TIMEOUT_S * 1000)
MAX_CODE_CHARS = 256 * 1024
"""A function is one file; anything bigger is not something a person wrote in an editor."""


@dataclass(frozen=True)
class VersionRef:
    id: str
    version: int


@dataclass(frozen=True)
class DeployedVersion:
    id: str
    version: int
    instance_ids: list[str]


@dataclass(frozen=True)
class FunctionView:
    id: str
    display_name: str
    description: str
    resource_type: str
    language: str
    code: str
    settings: list[FunctionSetting]
    timeout_ms: int
    created_at: datetime
    created_by: str | None
    latest_version: VersionRef
    deployed_versions: list[DeployedVersion]


@dataclass(frozen=True)
class VersionView:
    id: str
    version: int
    author: str | None
    created_at: datetime
    is_latest: bool
    is_deployed: bool
    restored_from: int | None
    code: str
    settings: list[FunctionSetting]
    timeout_ms: int


@dataclass(frozen=True)
class DeployResult:
    function_id: str
    version: VersionRef
    instance_ids: list[str]


@dataclass(frozen=True)
class NewFunction:
    display_name: str
    resource_type: ResourceType
    code: str
    description: str = ""
    settings: list[FunctionSetting] = field(default_factory=list)
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class FunctionChanges:
    """A PATCH: None leaves a field as it is."""

    display_name: str | None = None
    description: str | None = None
    code: str | None = None
    settings: list[FunctionSetting] | None = None
    timeout_ms: int | None = None

    @property
    def makes_version(self) -> bool:
        return self.code is not None or self.settings is not None or self.timeout_ms is not None


class FunctionService:
    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBoxSource) -> None:
        self._sessions = sessions
        self._secrets = secrets

    # -- reading ---------------------------------------------------------------------------

    def list_visible(
        self, principal: Principal, resource_type: ResourceType | None = None
    ) -> list[FunctionView]:
        """The functions the caller may view, oldest first."""
        with self._sessions() as session:
            repository = FunctionRepository(session)
            functions = [
                f
                for f in repository.in_workspace(principal.workspace_id, resource_type)
                if can_view_function(principal, f.id)
            ]
            return [_view(session, f) for f in functions]

    def get(self, principal: Principal, function_id: str) -> FunctionView:
        with self._sessions() as session:
            function = find_function(session, principal, function_id)
            require_view_function(principal, function.id)
            return _view(session, function)

    def versions(self, principal: Principal, function_id: str) -> list[VersionView]:
        """Newest first."""
        with self._sessions() as session:
            function = find_function(session, principal, function_id)
            require_view_function(principal, function.id)
            deployed = _deployed_version_ids(session, function.id)
            return [
                _version_view(v, function, deployed)
                for v in FunctionRepository(session).versions(function.id)
            ]

    def version(self, principal: Principal, function_id: str, version_id: str) -> VersionView:
        with self._sessions() as session:
            function = find_function(session, principal, function_id)
            require_view_function(principal, function.id)
            version = FunctionRepository(session).version(function.id, version_id)
            if version is None:
                raise NotFound(f"Function {function_id} has no version {version_id}.")
            return _version_view(version, function, _deployed_version_ids(session, function.id))

    # -- saving ----------------------------------------------------------------------------

    def create(self, principal: Principal, new: NewFunction) -> FunctionView:
        require(principal, Role.FUNCTIONS_ADMIN)
        display_name = check_display_name(new.display_name)
        _check_description(new.description)
        _check_code(new.code, new.resource_type)
        check_schema(new.settings)
        _check_timeout(new.timeout_ms)
        with self._sessions.begin() as session:
            repository = FunctionRepository(session)
            try:
                function = repository.add(
                    principal.workspace_id,
                    display_name=display_name,
                    description=new.description,
                    resource_type=new.resource_type.value,
                    language=LANGUAGE_PYTHON,
                    created_by=principal.member_id,
                )
            except DuplicateDisplayName:
                raise _duplicate(display_name) from None
            version = repository.add_version(
                function,
                code=new.code,
                settings=schema_to_json(new.settings),
                timeout_ms=new.timeout_ms,
                author=principal.member_id,
            )
            audit.record(
                session,
                principal,
                "function.created",
                "function",
                function.id,
                {
                    "displayName": display_name,
                    "resourceType": function.resource_type,
                    "version": version.version,
                    "codeLines": len(new.code.splitlines()),
                },
            )
            return _view(session, function)

    def update(
        self, principal: Principal, function_id: str, changes: FunctionChanges
    ) -> FunctionView:
        """Rename or describe in place; code, settings or timeout make a new latest version."""
        with self._sessions.begin() as session:
            function = find_function(session, principal, function_id)
            require(principal, Role.FUNCTIONS_ADMIN, function.id)
            repository = FunctionRepository(session)
            details: dict[str, object] = {"changed": _changed_fields(changes)}
            if changes.display_name is not None:
                display_name = check_display_name(changes.display_name)
                try:
                    repository.rename(function, display_name)
                except DuplicateDisplayName:
                    raise _duplicate(display_name) from None
                details["displayName"] = display_name
            if changes.description is not None:
                _check_description(changes.description)
                function.description = changes.description
            if changes.makes_version:
                latest = latest_version(session, function)
                code = changes.code if changes.code is not None else latest.code
                _check_code(code, ResourceType(function.resource_type))
                settings = (
                    schema_to_json(changes.settings)
                    if changes.settings is not None
                    else latest.settings
                )
                if changes.settings is not None:
                    check_schema(changes.settings)
                timeout_ms = (
                    changes.timeout_ms if changes.timeout_ms is not None else latest.timeout_ms
                )
                _check_timeout(timeout_ms)
                version = repository.add_version(
                    function,
                    code=code,
                    settings=settings,
                    timeout_ms=timeout_ms,
                    author=principal.member_id,
                )
                details["version"] = version.version
                details["codeLines"] = _diff_summary(latest.code, code)
            audit.record(session, principal, "function.updated", "function", function.id, details)
            session.flush()
            return _view(session, function)

    def restore(self, principal: Principal, function_id: str, version_id: str) -> VersionView:
        """A new latest version with the code, settings and timeout of an old one."""
        with self._sessions.begin() as session:
            function = find_function(session, principal, function_id)
            require(principal, Role.FUNCTIONS_ADMIN, function.id)
            repository = FunctionRepository(session)
            old = repository.version(function.id, version_id)
            if old is None:
                raise NotFound(
                    f"Function {function_id} has no version {version_id}.", field="versionId"
                )
            _check_code(old.code, ResourceType(function.resource_type))
            version = repository.add_version(
                function,
                code=old.code,
                settings=old.settings,
                timeout_ms=old.timeout_ms,
                author=principal.member_id,
                restored_from=old.version,
            )
            audit.record(
                session,
                principal,
                "function.restored",
                "function",
                function.id,
                {"restoredVersion": old.version, "version": version.version},
            )
            return _version_view(version, function, _deployed_version_ids(session, function.id))

    def deploy(
        self, principal: Principal, function_id: str, instance_ids: Sequence[str] | None = None
    ) -> DeployResult:
        """Move the given instances (default: every one) to the latest version."""
        with self._sessions.begin() as session:
            function = find_function(session, principal, function_id)
            require(principal, Role.FUNCTIONS_ADMIN, function.id)
            instances = instances_of_function(session, function.id)
            by_id = {instance.id: instance for instance in instances}
            if instance_ids is None:
                chosen: list[PinnedInstance] = instances
            else:
                for index, instance_id in enumerate(instance_ids):
                    if instance_id not in by_id:
                        raise Unprocessable(
                            f"{instance_id} is not an instance of function {function.id}.",
                            field=f"instanceIds[{index}]",
                        )
                chosen = [by_id[i] for i in dict.fromkeys(instance_ids)]
            require_each(principal, Role.SOURCE_ADMIN, [instance.id for instance in chosen])
            latest = latest_version(session, function)
            box = self._secrets()
            for instance in chosen:
                move_to_version(box, instance, latest)
            moved = [instance.id for instance in chosen]
            audit.record(
                session,
                principal,
                "function.deployed",
                "function",
                function.id,
                {"version": latest.version, "instanceIds": moved},
            )
            return DeployResult(
                function_id=function.id,
                version=VersionRef(id=latest.id, version=latest.version),
                instance_ids=moved,
            )

    def delete(self, principal: Principal, function_id: str) -> None:
        """Refused (Conflict, naming them) while any instance uses the function."""
        with self._sessions.begin() as session:
            function = find_function(session, principal, function_id)
            require(principal, Role.FUNCTIONS_ADMIN, function.id)
            instances = instances_of_function(session, function.id)
            if instances:
                names = ", ".join(instance.id for instance in instances)
                raise Conflict(
                    f"Function {function.id} still has instances: {names}; delete them first."
                )
            audit.record(
                session,
                principal,
                "function.deleted",
                "function",
                function.id,
                {"displayName": function.display_name},
            )
            FunctionRepository(session).delete(function)


def _deployed_version_ids(session: Session, function_id: str) -> dict[str, list[str]]:
    """version id -> the instances pinned to it."""
    deployed: dict[str, list[str]] = {}
    for instance in instances_of_function(session, function_id):
        if instance.version_id is not None:
            deployed.setdefault(instance.version_id, []).append(instance.id)
    return deployed


def _view(session: Session, function: Function) -> FunctionView:
    latest = latest_version(session, function)
    deployed = _deployed_version_ids(session, function.id)
    versions = FunctionRepository(session).versions_by_id(list(deployed))
    return FunctionView(
        id=function.id,
        display_name=function.display_name,
        description=function.description,
        resource_type=function.resource_type,
        language=function.language,
        code=latest.code,
        settings=schema_from_json(latest.settings),
        timeout_ms=latest.timeout_ms,
        created_at=function.created_at,
        created_by=function.created_by,
        latest_version=VersionRef(id=latest.id, version=latest.version),
        deployed_versions=sorted(
            (
                DeployedVersion(id=vid, version=versions[vid].version, instance_ids=sorted(ids))
                for vid, ids in deployed.items()
                if vid in versions
            ),
            key=lambda d: d.version,
            reverse=True,
        ),
    )


def _version_view(
    version: FunctionVersion, function: Function, deployed: dict[str, list[str]]
) -> VersionView:
    return VersionView(
        id=version.id,
        version=version.version,
        author=version.author,
        created_at=version.created_at,
        is_latest=version.id == function.latest_version_id,
        is_deployed=version.id in deployed,
        restored_from=version.restored_from,
        code=version.code,
        settings=schema_from_json(version.settings),
        timeout_ms=version.timeout_ms,
    )


def check_display_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Unprocessable("displayName must not be empty.", field="displayName")
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise Unprocessable(
            f"displayName must be at most {DISPLAY_NAME_MAX_LENGTH} characters long.",
            field="displayName",
        )
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise Unprocessable("displayName must not contain control characters.", field="displayName")
    return name


def _check_description(description: str) -> None:
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise Unprocessable(
            f"description must be at most {DESCRIPTION_MAX_LENGTH} characters long.",
            field="description",
        )


def _check_code(code: str, resource_type: ResourceType) -> None:
    if len(code) > MAX_CODE_CHARS:
        raise Unprocessable(f"code must be at most {MAX_CODE_CHARS // 1024} KB.", field="code")
    problem = check_code(code, resource_type.kind)
    if problem is not None:
        raise Unprocessable(
            f"The code does not load as a {resource_type.value} function: {problem}",
            field="code",
            line=problem.line,
        )


def _check_timeout(timeout_ms: int) -> None:
    if not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        raise Unprocessable(f"timeoutMs must be between 1 and {MAX_TIMEOUT_MS}.", field="timeoutMs")


def _duplicate(display_name: str) -> Conflict:
    return Conflict(
        f"A function named {display_name!r} already exists in this workspace.",
        field="displayName",
    )


def _changed_fields(changes: FunctionChanges) -> list[str]:
    names = {
        "displayName": changes.display_name,
        "description": changes.description,
        "code": changes.code,
        "settings": changes.settings,
        "timeoutMs": changes.timeout_ms,
    }
    return [name for name, value in names.items() if value is not None]


def _diff_summary(before: str, after: str) -> dict[str, int]:
    """Lines added and removed: the audit trail keeps a summary, never the code."""
    added = removed = 0
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return {"added": added, "removed": removed}
