"""AES-GCM sealing of sensitive settings, and where the key comes from."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest

from headrace.config import ConfigError, Settings
from headrace.security.secrets import SecretBox, SecretError, load_secret_key

KEY = secrets.token_bytes(32)


def test_a_sealed_value_opens_at_the_same_place() -> None:
    box = SecretBox(KEY)

    sealed = box.seal("hunter2", "ws_1/dst_1/apiKey")

    assert "hunter2" not in sealed
    assert box.open(sealed, "ws_1/dst_1/apiKey") == "hunter2"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    box = SecretBox(KEY)

    assert box.seal("same", "p") != box.seal("same", "p")


def test_a_sealed_value_moved_to_another_place_does_not_open() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("hunter2", "ws_1/dst_1/apiKey")

    with pytest.raises(SecretError):
        box.open(sealed, "ws_2/dst_9/apiKey")


def test_another_key_does_not_open_a_sealed_value() -> None:
    sealed = SecretBox(KEY).seal("hunter2", "p")

    with pytest.raises(SecretError):
        SecretBox(secrets.token_bytes(32)).open(sealed, "p")


def test_the_key_from_the_environment_is_used(tmp_path: Path) -> None:
    encoded = secrets.token_urlsafe(32)
    settings = Settings.load({"HEADRACE_SECRET_KEY": encoded}, data_dir=tmp_path)

    key = load_secret_key(settings)

    assert len(key) == 32
    assert not (tmp_path / "secret.key").exists()


def test_a_key_is_generated_once_into_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    first = load_secret_key(settings)
    second = load_secret_key(settings)

    assert first == second
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_concurrent_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    keys: list[bytes] = []

    threads = [
        threading.Thread(target=lambda: keys.append(load_secret_key(settings))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


def test_a_malformed_secret_key_is_a_config_error_without_its_value() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load({"HEADRACE_SECRET_KEY": "too-short-value"})

    assert "too-short-value" not in str(raised.value)
