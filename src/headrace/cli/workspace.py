"""`headrace workspace ...`: manage workspaces directly on the database."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from headrace.cli.common import configure_quiet_logging, data_dir_option, load_settings, user_errors
from headrace.services import Services, open_store, prepare_data_dir


@click.group()
def workspace() -> None:
    """Manage workspaces."""


@workspace.command("create")
@click.argument("name")
@data_dir_option
def create(name: str, data_dir: Path | None) -> None:
    """Create workspace NAME with an owner member and an owner API token.

    Prints one JSON object: {"workspace": {"id": ..., "name": ...}, "token": ...}.
    The token is shown only here; keep it somewhere safe.
    """
    settings = load_settings(data_dir=data_dir)
    configure_quiet_logging(settings)
    with user_errors():
        prepare_data_dir(settings.data_dir)
        services = Services(settings, open_store(settings))
        try:
            created = services.workspaces.create(name)
        finally:
            services.stop()
    document = {
        "workspace": {"id": created.workspace.id, "name": created.workspace.name},
        "token": created.token,
    }
    click.echo(orjson.dumps(document).decode())
