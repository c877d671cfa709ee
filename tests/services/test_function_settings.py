"""Instance settings checked, sealed and masked by a function's setting schema."""

from __future__ import annotations

import secrets

import pytest

from headrace.security.secrets import SecretBox
from headrace.services import Unprocessable
from headrace.services.function_settings import (
    MASK,
    FunctionSetting,
    SettingType,
    StoredSettings,
    check_values,
    masked_values,
    merged_with,
    open_values,
    sealed_names,
    store_values,
)

SCHEMA = [
    FunctionSetting("apiKey", "API key", "", SettingType.STRING, required=True, sensitive=True),
    FunctionSetting("debug", "Debug", "", SettingType.BOOLEAN, required=False, sensitive=False),
]
BOX = SecretBox(secrets.token_bytes(32))


def _stored(values: dict[str, object]) -> StoredSettings:
    return store_values(BOX, "ws/ins", SCHEMA, check_values(SCHEMA, values), StoredSettings.empty())


def test_sensitive_values_are_sealed_and_others_stay_plain() -> None:
    stored = _stored({"apiKey": "k-123", "debug": True})

    assert "k-123" not in stored.plain + stored.secrets
    assert stored.plain_values() == {"debug": True}
    assert open_values(BOX, "ws/ins", stored) == {"apiKey": "k-123", "debug": True}


def test_masked_values_hide_sealed_ones_and_say_which_are_set() -> None:
    values, is_set = masked_values(SCHEMA, _stored({"apiKey": "k-123"}))

    assert values == {"apiKey": MASK}
    assert is_set == {"apiKey": True}


def test_a_mask_sent_back_keeps_the_stored_secret() -> None:
    stored = _stored({"apiKey": "k-123"})

    changed = check_values(
        SCHEMA, merged_with(stored, {"debug": False}), sealed=sealed_names(stored)
    )
    again = store_values(BOX, "ws/ins", SCHEMA, changed, stored)

    assert open_values(BOX, "ws/ins", again) == {"apiKey": "k-123", "debug": False}


def test_a_mask_without_a_stored_value_is_refused() -> None:
    with pytest.raises(Unprocessable, match="no stored value"):
        check_values(SCHEMA, {"apiKey": MASK})


def test_none_removes_a_setting_and_a_required_one_cannot_go() -> None:
    stored = _stored({"apiKey": "k-123", "debug": True})

    with pytest.raises(Unprocessable) as raised:
        check_values(SCHEMA, merged_with(stored, {"apiKey": None}), sealed=sealed_names(stored))

    assert raised.value.field == "settings.apiKey"


def test_required_is_not_checked_for_a_draft() -> None:
    assert check_values(SCHEMA, {}, check_required=False).values == {}
