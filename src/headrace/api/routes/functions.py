"""`/api/v1/functions`: functions, their versions, deploys, and preview (the Run button)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, JsonValue, StrictBool, StrictInt, StrictStr

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, DeletedOut, Envelope
from headrace.services.function_settings import (
    SETTING_DESCRIPTION_MAX_LENGTH,
    SETTING_LABEL_MAX_LENGTH,
    FunctionSetting,
    SettingType,
)
from headrace.services.functions import DEFAULT_TIMEOUT_MS, FunctionChanges, NewFunction
from headrace.services.pinning import ResourceType

router = APIRouter(tags=["functions"])


class FunctionSettingIn(ApiIn):
    name: StrictStr
    label: StrictStr | None = Field(default=None, max_length=SETTING_LABEL_MAX_LENGTH)
    description: StrictStr = Field(default="", max_length=SETTING_DESCRIPTION_MAX_LENGTH)
    type: SettingType
    required: StrictBool = False
    sensitive: StrictBool = False

    def setting(self) -> FunctionSetting:
        return FunctionSetting(
            name=self.name,
            label=self.label if self.label is not None else self.name,
            description=self.description,
            type=self.type,
            required=self.required,
            sensitive=self.sensitive,
        )


class FunctionSettingOut(ApiOut):
    name: str
    label: str
    description: str
    type: SettingType
    required: bool
    sensitive: bool


class FunctionIn(ApiIn):
    display_name: StrictStr
    resource_type: ResourceType
    code: StrictStr
    description: StrictStr = ""
    settings: list[FunctionSettingIn] = Field(default_factory=list)
    timeout_ms: StrictInt = DEFAULT_TIMEOUT_MS


class FunctionPatch(ApiIn):
    display_name: StrictStr | None = None
    description: StrictStr | None = None
    code: StrictStr | None = None
    settings: list[FunctionSettingIn] | None = None
    timeout_ms: StrictInt | None = None


class VersionRefOut(ApiOut):
    id: str
    version: int


class DeployedVersionOut(ApiOut):
    id: str
    version: int
    instance_ids: list[str]


class FunctionOut(ApiOut):
    id: str
    display_name: str
    description: str
    resource_type: ResourceType
    language: str
    code: str
    settings: list[FunctionSettingOut]
    timeout_ms: int
    created_at: datetime
    created_by: str | None
    latest_version: VersionRefOut
    deployed_versions: list[DeployedVersionOut]


class VersionOut(ApiOut):
    id: str
    version: int
    author: str | None
    created_at: datetime
    is_latest: bool
    is_deployed: bool
    restored_from: int | None


class VersionDetailOut(VersionOut):
    code: str
    settings: list[FunctionSettingOut]
    timeout_ms: int


class RestoreIn(ApiIn):
    version_id: StrictStr


class DeployIn(ApiIn):
    instance_ids: list[StrictStr] | None = None


class DeployOut(ApiOut):
    function_id: str
    version: VersionRefOut
    instance_ids: list[str]


class PreviewIn(ApiIn):
    function_id: StrictStr | None = None
    code: StrictStr | None = None
    resource_type: ResourceType | None = None
    settings: dict[str, JsonValue] = Field(default_factory=dict)
    payload: JsonValue


class PreviewErrorOut(ApiOut):
    type: str
    category: str
    message: str
    stack: str = ""
    line: int | None = None


class PreviewOut(ApiOut):
    ok: bool
    result: JsonValue = None
    error: PreviewErrorOut | None = None
    logs: list[str] = Field(default_factory=list)
    requests: list[dict[str, JsonValue]] = Field(default_factory=list)
    duration_ms: float


def _settings(items: list[FunctionSettingIn] | None) -> list[FunctionSetting] | None:
    return None if items is None else [item.setting() for item in items]


@router.post("/functions", status_code=201, response_model=Envelope[FunctionOut])
def create_function(
    body: FunctionIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[FunctionOut]:
    view = services.functions.create(
        principal,
        NewFunction(
            display_name=body.display_name,
            resource_type=body.resource_type,
            code=body.code,
            description=body.description,
            settings=_settings(body.settings) or [],
            timeout_ms=body.timeout_ms,
        ),
    )
    return Envelope(data=FunctionOut.model_validate(view))


@router.get("/functions", response_model=Envelope[list[FunctionOut]])
def list_functions(
    principal: CurrentPrincipal,
    services: ServicesDep,
    resource_type: Annotated[ResourceType | None, Query(alias="resourceType")] = None,
) -> Envelope[list[FunctionOut]]:
    views = services.functions.list_visible(principal, resource_type)
    return Envelope(data=[FunctionOut.model_validate(v) for v in views])


@router.post("/functions/preview", response_model=Envelope[PreviewOut])
def preview_function(
    body: PreviewIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[PreviewOut]:
    # A sync route: FastAPI runs it in its threadpool, so the sandbox call never blocks
    # the event loop.
    outcome: dict[str, Any] = services.preview.run(
        principal,
        payload=body.payload,
        settings=body.settings,
        function_id=body.function_id,
        code=body.code,
        resource_type=body.resource_type,
    )
    return Envelope(data=PreviewOut.model_validate(outcome))


@router.get("/functions/{function_id}", response_model=Envelope[FunctionOut])
def get_function(
    function_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[FunctionOut]:
    return Envelope(data=FunctionOut.model_validate(services.functions.get(principal, function_id)))


@router.patch("/functions/{function_id}", response_model=Envelope[FunctionOut])
def update_function(
    function_id: str, body: FunctionPatch, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[FunctionOut]:
    view = services.functions.update(
        principal,
        function_id,
        FunctionChanges(
            display_name=body.display_name,
            description=body.description,
            code=body.code,
            settings=_settings(body.settings),
            timeout_ms=body.timeout_ms,
        ),
    )
    return Envelope(data=FunctionOut.model_validate(view))


@router.delete("/functions/{function_id}", response_model=Envelope[DeletedOut])
def delete_function(
    function_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.functions.delete(principal, function_id)
    return Envelope(data=DeletedOut(id=function_id))


@router.get("/functions/{function_id}/versions", response_model=Envelope[list[VersionOut]])
def list_versions(
    function_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[list[VersionOut]]:
    views = services.functions.versions(principal, function_id)
    return Envelope(data=[VersionOut.model_validate(v) for v in views])


@router.get(
    "/functions/{function_id}/versions/{version_id}", response_model=Envelope[VersionDetailOut]
)
def get_version(
    function_id: str, version_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[VersionDetailOut]:
    view = services.functions.version(principal, function_id, version_id)
    return Envelope(data=VersionDetailOut.model_validate(view))


@router.post(
    "/functions/{function_id}/versions",
    status_code=201,
    response_model=Envelope[VersionDetailOut],
)
def restore_version(
    function_id: str, body: RestoreIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[VersionDetailOut]:
    view = services.functions.restore(principal, function_id, body.version_id)
    return Envelope(data=VersionDetailOut.model_validate(view))


@router.post("/functions/{function_id}/deploy", response_model=Envelope[DeployOut])
def deploy_function(
    function_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    body: DeployIn | None = None,
) -> Envelope[DeployOut]:
    instance_ids = body.instance_ids if body is not None else None
    result = services.functions.deploy(principal, function_id, instance_ids)
    return Envelope(data=DeployOut.model_validate(result))
