"""Use cases: what the API and the CLI can ask headrace to do."""

from headrace.services.access import AccessService
from headrace.services.container import Services
from headrace.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    StartupError,
    Unauthenticated,
    Unprocessable,
)
from headrace.services.health import HealthService, Readiness, describe_database
from headrace.services.startup import (
    DEFAULT_WORKSPACE_NAME,
    OwnerBootstrap,
    ensure_default_workspace,
    open_store,
    prepare_data_dir,
)
from headrace.services.workspaces import CreatedWorkspace, WorkspaceService, WorkspaceView

__all__ = [
    "DEFAULT_WORKSPACE_NAME",
    "AccessService",
    "Conflict",
    "CreatedWorkspace",
    "Forbidden",
    "HealthService",
    "InvalidInput",
    "NotFound",
    "OwnerBootstrap",
    "Readiness",
    "ServiceError",
    "Services",
    "StartupError",
    "Unauthenticated",
    "Unprocessable",
    "WorkspaceService",
    "WorkspaceView",
    "describe_database",
    "ensure_default_workspace",
    "open_store",
    "prepare_data_dir",
]
