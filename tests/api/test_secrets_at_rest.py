"""Sensitive settings: encrypted in the database, never returned, never logged."""

from __future__ import annotations

import logging

import pytest

from headrace.config import Settings
from headrace.services import Services
from tests.api.support import SECRET, Caller


def _database_bytes(settings: Settings) -> bytes:
    # WAL mode: recent pages may still sit in the -wal file rather than the main file.
    return b"".join(path.read_bytes() for path in settings.data_dir.glob("headrace.db*"))


def test_the_raw_database_file_never_holds_a_secret_in_plaintext(
    owner: Caller, settings: Settings
) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    owner.patch(f"/destinations/{destination['id']}", {"settings": {"apiKey": SECRET + "-2"}})
    owner.data(
        owner.post(
            "/destinations",
            {
                "name": "hook",
                "kind": "WEBHOOK",
                "settings": {"url": "https://example.com", "headers": {"Authorization": SECRET}},
            },
        ),
        201,
    )

    raw = _database_bytes(settings)

    assert raw
    assert SECRET.encode() not in raw


def test_no_endpoint_returns_a_secret(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])

    for path in (
        "/destinations",
        f"/destinations/{destination['id']}",
        f"/functions/{function['id']}",
        "/audit",
    ):
        assert SECRET not in owner.get(path).text, path


def test_secrets_are_never_logged(owner: Caller, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    function = owner.create_function()
    owner.create_destination(function["id"])

    assert SECRET not in caplog.text


def test_the_pipeline_gets_the_decrypted_value(owner: Caller, services: Services) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])

    invocation = services.invocations.instance(destination["id"])

    assert invocation is not None
    assert invocation.settings == {"apiKey": SECRET, "region": "eu"}
    assert SECRET not in repr(invocation)


def test_a_generated_key_lives_in_the_data_directory_with_mode_0600(
    owner: Caller, settings: Settings
) -> None:
    function = owner.create_function()
    owner.create_destination(function["id"])

    key_file = settings.secret_key_path
    assert key_file.is_file()
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_setting_made_sensitive_by_a_later_version_is_sealed_on_deploy(
    owner: Caller, services: Services
) -> None:
    function = owner.create_function(
        settings=[{"name": "token", "type": "STRING", "sensitive": False}]
    )
    destination = owner.create_destination(function["id"], settings={"token": SECRET})
    owner.patch(
        f"/functions/{function['id']}",
        {"settings": [{"name": "token", "type": "STRING", "sensitive": True}]},
    )

    owner.data(owner.post(f"/functions/{function['id']}/deploy"))

    shown = owner.data(owner.get(f"/destinations/{destination['id']}"))
    assert shown["settings"] == {"token": "••••••"}
    # The row now holds it sealed. (Its old plaintext may linger in free pages of the file
    # until SQLite reuses them: it was stored as a value that was not sensitive then.)
    with services.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT settings || secrets FROM destinations WHERE id = ?", (destination["id"],)
        ).scalar_one()
    assert SECRET not in stored


def test_a_sealed_value_stays_hidden_when_a_version_drops_the_sensitive_flag(
    owner: Caller,
) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    owner.patch(
        f"/functions/{function['id']}",
        {"settings": [{"name": "apiKey", "type": "STRING"}, {"name": "region", "type": "STRING"}]},
    )
    owner.post(f"/functions/{function['id']}/deploy")

    response = owner.get(f"/destinations/{destination['id']}")

    assert SECRET not in response.text
    assert response.json()["data"]["settings"]["apiKey"] == "••••••"
