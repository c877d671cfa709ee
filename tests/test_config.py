"""Settings: defaults, environment variables, command-line overrides, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.config import ConfigError, Settings


def test_defaults() -> None:
    settings = Settings.load({})

    assert settings.data_dir == Path(".headrace")
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.effective_database_url == "sqlite:///.headrace/headrace.db"


def test_environment_variables_are_read() -> None:
    settings = Settings.load(
        {
            "HEADRACE_DATA_DIR": "/srv/headrace",
            "HEADRACE_HOST": "0.0.0.0",
            "HEADRACE_PORT": "9000",
            "HEADRACE_LOG_LEVEL": "DEBUG",
        }
    )

    assert settings.data_dir == Path("/srv/headrace")
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 9000, "debug")


def test_webhook_concurrency_is_read_and_shown_with_its_source() -> None:
    default = Settings.load({})
    settings = Settings.load({"HEADRACE_WEBHOOK_CONCURRENCY": "64"})

    assert default.webhook_concurrency is None
    assert settings.webhook_concurrency == 64
    assert ("webhook_concurrency", "64", "env HEADRACE_WEBHOOK_CONCURRENCY") in (
        settings.public_items()
    )


def test_options_override_environment() -> None:
    settings = Settings.load({"HEADRACE_PORT": "9000"}, port=9001, data_dir="elsewhere")

    assert settings.port == 9001
    assert settings.data_dir == Path("elsewhere")
    assert settings.sources["port"] == "option --port"


def test_database_url_overrides_the_sqlite_file() -> None:
    settings = Settings.load({"HEADRACE_DATABASE_URL": "postgresql://u:p@db/headrace"})

    assert settings.effective_database_url == "postgresql://u:p@db/headrace"
    assert not settings.uses_embedded_database


def test_public_items_hide_the_database_password() -> None:
    settings = Settings.load({"HEADRACE_DATABASE_URL": "postgresql://u:hunter2@db/headrace"})

    rendered = " ".join(value for _, value, _ in settings.public_items())

    assert "hunter2" not in rendered


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HEADRACE_PORT": "http"}, "must be a number"),
        ({"HEADRACE_PORT": "70000"}, "between 1 and 65535"),
        ({"HEADRACE_LOG_LEVEL": "loud"}, "log level"),
        ({"HEADRACE_WEBHOOK_CONCURRENCY": "0"}, "HEADRACE_WEBHOOK_CONCURRENCY must be"),
        ({"HEADRACE_WEBHOOK_CONCURRENCY": "many"}, "HEADRACE_WEBHOOK_CONCURRENCY must be"),
    ],
)
def test_unusable_values_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env)


def test_egress_allow_is_a_comma_separated_list() -> None:
    settings = Settings.load({"HEADRACE_EGRESS_ALLOW": "hooks.local, 10.0.0.0/8,,"})

    assert settings.egress_allow == ("hooks.local", "10.0.0.0/8")


def test_public_items_show_the_secret_key_only_as_set() -> None:
    key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk"
    settings = Settings.load({"HEADRACE_SECRET_KEY": key})

    items = {name: value for name, value, _ in settings.public_items()}

    assert items["secret_key"] == "set"
    assert key not in repr(settings)
    assert key not in " ".join(items.values())


def test_public_items_say_where_a_generated_key_lives(tmp_path: Path) -> None:
    settings = Settings.load({}, data_dir=tmp_path)

    items = {name: value for name, value, _ in settings.public_items()}

    assert items["secret_key"].startswith("generated")
    assert str(tmp_path / "secret.key") in items["secret_key"]
