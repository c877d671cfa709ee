"""A function's setting schema, and an instance's values checked, sealed and masked by it.

Sensitive values are sealed one by one (security/secrets.py) into the instance's `secrets`
column; everything else sits in plain JSON in `settings`. A value once sealed stays
sealed, even if a later version stops marking its setting sensitive: otherwise turning
the flag off would be a way to read a secret back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from headrace.security.secrets import SecretBox
from headrace.services.errors import Unprocessable

MASK = "••••••"
"""What every endpoint shows instead of a sensitive value; sent back, it keeps the value."""

SETTING_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SETTING_NAME_MAX_LENGTH = 64
SETTING_LABEL_MAX_LENGTH = 120
SETTING_DESCRIPTION_MAX_LENGTH = 1000
MAX_SETTINGS = 100
"""Settings one function may declare."""
MAX_VALUE_CHARS = 10_000
"""The longest string a setting (or one item, key or value of it) may hold."""
MAX_ITEMS = 500
"""The most items an ARRAY or entries a TEXT_MAP setting may hold."""


class SettingType(StrEnum):
    STRING = "STRING"
    BOOLEAN = "BOOLEAN"
    ARRAY = "ARRAY"
    """A list of strings."""
    TEXT_MAP = "TEXT_MAP"
    """An object of string values."""


@dataclass(frozen=True)
class FunctionSetting:
    name: str
    label: str
    description: str
    type: SettingType
    required: bool
    sensitive: bool


def check_schema(settings: Sequence[FunctionSetting]) -> None:
    """Unprocessable unless every name is an identifier, unique, and the rest fits."""
    if len(settings) > MAX_SETTINGS:
        raise Unprocessable(
            f"A function may declare at most {MAX_SETTINGS} settings.", field="settings"
        )
    seen: set[str] = set()
    for index, setting in enumerate(settings):
        where = f"settings[{index}].name"
        if not SETTING_NAME_PATTERN.match(setting.name):
            raise Unprocessable(
                f"Setting name {setting.name!r} must be an identifier: letters, digits and "
                "underscores, not starting with a digit.",
                field=where,
            )
        if len(setting.name) > SETTING_NAME_MAX_LENGTH:
            raise Unprocessable(
                f"Setting name {setting.name[:20]!r}... is longer than "
                f"{SETTING_NAME_MAX_LENGTH} characters.",
                field=where,
            )
        if setting.name in seen:
            raise Unprocessable(f"Setting name {setting.name!r} is declared twice.", field=where)
        seen.add(setting.name)


def schema_to_json(settings: Sequence[FunctionSetting]) -> str:
    return orjson.dumps(
        [
            {
                "name": s.name,
                "label": s.label,
                "description": s.description,
                "type": s.type.value,
                "required": s.required,
                "sensitive": s.sensitive,
            }
            for s in settings
        ]
    ).decode()


def schema_from_json(raw: str) -> list[FunctionSetting]:
    return [
        FunctionSetting(
            name=item["name"],
            label=item["label"],
            description=item["description"],
            type=SettingType(item["type"]),
            required=bool(item["required"]),
            sensitive=bool(item["sensitive"]),
        )
        for item in orjson.loads(raw)
    ]


@dataclass(frozen=True)
class StoredSettings:
    """An instance's settings as stored: plain JSON and sealed values (name -> sealed)."""

    plain: str
    secrets: str

    @classmethod
    def empty(cls) -> StoredSettings:
        return cls(plain="{}", secrets="{}")

    def plain_values(self) -> dict[str, Any]:
        values: dict[str, Any] = orjson.loads(self.plain)
        return values

    def sealed_values(self) -> dict[str, str]:
        values: dict[str, str] = orjson.loads(self.secrets)
        return values


def _where(place: str, name: str) -> str:
    return f"{place}/{name}"


@dataclass(frozen=True)
class CheckedValues:
    values: dict[str, Any]
    """The values to store, by name."""
    keep: frozenset[str]
    """Sealed settings sent as MASK: their stored values stay."""


def check_values(
    schema: Sequence[FunctionSetting],
    values: Mapping[str, Any],
    *,
    sealed: frozenset[str] = frozenset(),
    check_required: bool = True,
) -> CheckedValues:
    """`values` checked against `schema`.

    A setting with a sealed value (`sealed` names them) sent as MASK keeps that value;
    None means "not set". Unprocessable, naming the setting, for an unknown name, a value
    of the wrong type or a required setting without a value.
    """
    by_name = {setting.name: setting for setting in schema}
    checked: dict[str, Any] = {}
    keep: set[str] = set()
    for name, value in values.items():
        field = f"settings.{name}"
        setting = by_name.get(name)
        if setting is None:
            raise Unprocessable(f"Setting {name!r} is not defined by the function.", field=field)
        if value is None:
            continue
        if value == MASK and name in sealed:
            keep.add(name)
            continue
        if value == MASK and setting.sensitive:
            raise Unprocessable(
                f"Setting {name!r} has no stored value to keep; send the value itself.",
                field=field,
            )
        checked[name] = _check_type(setting, value, field)
    if check_required:
        for setting in schema:
            if setting.required and setting.name not in checked and setting.name not in keep:
                raise Unprocessable(
                    f"Setting {setting.name!r} is required.", field=f"settings.{setting.name}"
                )
    return CheckedValues(values=checked, keep=frozenset(keep))


def _check_type(setting: FunctionSetting, value: Any, field: str) -> Any:
    name = setting.name
    if setting.type is SettingType.STRING:
        if not isinstance(value, str):
            raise Unprocessable(f"Setting {name!r} must be a string.", field=field)
        _check_length(name, value, field)
    elif setting.type is SettingType.BOOLEAN:
        if not isinstance(value, bool):
            raise Unprocessable(f"Setting {name!r} must be true or false.", field=field)
    elif setting.type is SettingType.ARRAY:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise Unprocessable(f"Setting {name!r} must be a list of strings.", field=field)
        if len(value) > MAX_ITEMS:
            raise Unprocessable(f"Setting {name!r} has over {MAX_ITEMS} items.", field=field)
        for item in value:
            _check_length(name, item, field)
    else:
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            raise Unprocessable(
                f"Setting {name!r} must be an object whose values are strings.", field=field
            )
        if len(value) > MAX_ITEMS:
            raise Unprocessable(f"Setting {name!r} has over {MAX_ITEMS} entries.", field=field)
        for key, item in value.items():
            _check_length(name, key, field)
            _check_length(name, item, field)
    return value


def _check_length(name: str, text: str, field: str) -> None:
    if len(text) > MAX_VALUE_CHARS:
        raise Unprocessable(
            f"Setting {name!r} is longer than {MAX_VALUE_CHARS} characters.", field=field
        )


def store_values(
    box: SecretBox,
    place: str,
    schema: Sequence[FunctionSetting],
    checked: CheckedValues,
    previous: StoredSettings,
) -> StoredSettings:
    """The new stored form of `checked`: sensitive values sealed, kept ones carried over."""
    sensitive = {setting.name for setting in schema if setting.sensitive}
    old_sealed = previous.sealed_values()
    plain: dict[str, Any] = {}
    sealed = {name: old_sealed[name] for name in checked.keep if name in old_sealed}
    for name, value in checked.values.items():
        if name in sensitive or name in old_sealed:
            sealed[name] = box.seal(orjson.dumps(value).decode(), _where(place, name))
        else:
            plain[name] = value
    return StoredSettings(plain=orjson.dumps(plain).decode(), secrets=orjson.dumps(sealed).decode())


def merged_with(stored: StoredSettings, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A PATCH's settings over the stored ones: sealed values as MASK (kept unless
    changed), a None removes a setting."""
    merged: dict[str, Any] = dict(stored.plain_values())
    merged.update({name: MASK for name in stored.sealed_values()})
    merged.update(changes)
    return merged


def sealed_names(stored: StoredSettings) -> frozenset[str]:
    return frozenset(stored.sealed_values())


def reseal_for(
    box: SecretBox, place: str, schema: Sequence[FunctionSetting], stored: StoredSettings
) -> StoredSettings:
    """The same values, with those now sensitive in `schema` sealed (for a deploy)."""
    sensitive = {setting.name for setting in schema if setting.sensitive}
    plain = stored.plain_values()
    sealed = stored.sealed_values()
    for name in [n for n in plain if n in sensitive]:
        sealed[name] = box.seal(orjson.dumps(plain.pop(name)).decode(), _where(place, name))
    return StoredSettings(plain=orjson.dumps(plain).decode(), secrets=orjson.dumps(sealed).decode())


def open_values(box: SecretBox, place: str, stored: StoredSettings) -> dict[str, Any]:
    """Every value in clear. Only for handing settings to the sandbox for a call."""
    values = stored.plain_values()
    for name, sealed in stored.sealed_values().items():
        values[name] = orjson.loads(box.open(sealed, _where(place, name)))
    return values


def masked_values(
    schema: Sequence[FunctionSetting], stored: StoredSettings
) -> tuple[dict[str, Any], dict[str, bool]]:
    """What endpoints show: the values with every sealed one as MASK, and for each
    sensitive setting (declared or sealed) whether it has a value."""
    values = stored.plain_values()
    sealed = stored.sealed_values()
    for name in sealed:
        values[name] = MASK
    is_set = {setting.name: setting.name in sealed for setting in schema if setting.sensitive}
    is_set.update({name: True for name in sealed})
    return values, is_set


def problem_for_call(schema: Sequence[FunctionSetting], values: Mapping[str, Any]) -> str | None:
    """Why decrypted `values` are not valid for `schema` (a reason for the pipeline), or None."""
    known = {s.name for s in schema}
    try:
        check_values(schema, {k: v for k, v in values.items() if k in known})
    except Unprocessable as exc:
        return str(exc)
    return None
