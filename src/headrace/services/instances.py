"""What sources, destinations and insert function instances share: names, who may change
them, and their settings checked against the schema of what they run."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from headrace.security import Principal, Role
from headrace.security.secrets import SecretBox
from headrace.services.authorization import require
from headrace.services.errors import Unprocessable
from headrace.services.function_settings import (
    FunctionSetting,
    SettingType,
    StoredSettings,
    check_values,
    masked_values,
    merged_with,
    schema_from_json,
    sealed_names,
    store_values,
)
from headrace.services.pinning import (
    PinnedInstance,
    pinned_version,
    settings_place,
    stored_settings,
)

NAME_MAX_LENGTH = 120

WEBHOOK_SETTINGS = [
    FunctionSetting(
        name="url",
        label="URL",
        description="Each event is POSTed here as JSON.",
        type=SettingType.STRING,
        required=True,
        sensitive=False,
    ),
    FunctionSetting(
        name="headers",
        label="Headers",
        description="Extra request headers; sensitive, as they usually carry credentials.",
        type=SettingType.TEXT_MAP,
        required=False,
        sensitive=True,
    ),
    FunctionSetting(
        name="sendBatches",
        label="Send batches",
        description=(
            "POST a JSON array of up to batch.maxEvents events per request instead of one "
            "event per request."
        ),
        type=SettingType.BOOLEAN,
        required=False,
        sensitive=False,
    ),
]
"""The settings of a WEBHOOK destination, checked like a function's."""


def check_name(name: str, field: str = "name") -> str:
    name = name.strip()
    if not name:
        raise Unprocessable(f"{field} must not be empty.", field=field)
    if len(name) > NAME_MAX_LENGTH:
        raise Unprocessable(
            f"{field} must be at most {NAME_MAX_LENGTH} characters long.", field=field
        )
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise Unprocessable(f"{field} must not contain control characters.", field=field)
    return name


def require_change(principal: Principal, instance: PinnedInstance, resource_id: str) -> None:
    """Changing a source or destination needs SOURCE_ADMIN for it; when it runs a function,
    FUNCTIONS_ADMIN for that function too."""
    require(principal, Role.SOURCE_ADMIN, resource_id)
    if instance.function_id is not None:
        require(principal, Role.FUNCTIONS_ADMIN, instance.function_id)


def schema_of(session: Session, instance: PinnedInstance) -> list[FunctionSetting]:
    """The setting schema an instance's values must fit: its pinned version's, the
    webhook settings, or none (a tracking source)."""
    version = pinned_version(session, instance)
    if version is not None:
        return schema_from_json(version.settings)
    if getattr(instance, "kind", None) == "WEBHOOK":
        return WEBHOOK_SETTINGS
    return []


def set_initial_settings(
    box: SecretBox,
    instance: PinnedInstance,
    schema: Sequence[FunctionSetting],
    values: Mapping[str, Any],
) -> list[str]:
    """Check `values` and store them on a new instance; the names set, for the audit."""
    checked = check_values(schema, values)
    _check_webhook(schema, checked.values)
    stored = store_values(box, settings_place(instance), schema, checked, StoredSettings.empty())
    instance.settings, instance.secrets = stored.plain, stored.secrets
    return sorted(checked.values)


def change_settings(
    box: SecretBox,
    instance: PinnedInstance,
    schema: Sequence[FunctionSetting],
    changes: Mapping[str, Any],
) -> list[str]:
    """Merge a PATCH's settings into the stored ones; the names changed, for the audit."""
    stored = stored_settings(instance)
    checked = check_values(schema, merged_with(stored, changes), sealed=sealed_names(stored))
    _check_webhook(schema, checked.values)
    new = store_values(box, settings_place(instance), schema, checked, stored)
    instance.settings, instance.secrets = new.plain, new.secrets
    return sorted(changes)


def shown_settings(
    session: Session, instance: PinnedInstance
) -> tuple[dict[str, Any], dict[str, bool]]:
    """What endpoints show: values with sensitive ones masked, and which of those are set."""
    return masked_values(schema_of(session, instance), stored_settings(instance))


def _check_webhook(schema: Sequence[FunctionSetting], values: Mapping[str, Any]) -> None:
    if schema is not WEBHOOK_SETTINGS:
        return
    url = urlsplit(str(values.get("url", "")))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise Unprocessable(
            "Setting 'url' must be an http:// or https:// URL with a host.", field="settings.url"
        )
