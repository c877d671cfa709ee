"""`headrace doctor`: the configuration in effect, the database, and the sandbox."""

from __future__ import annotations

import importlib
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import click

import headrace
from headrace.cli.common import configure_quiet_logging, data_dir_option, load_settings
from headrace.services import describe_database


@click.command()
@data_dir_option
def doctor(data_dir: Path | None) -> None:
    """Show the configuration in effect and what the runtime sandbox can enforce.

    Exits with status 1 if the database cannot be used or the runtime cannot load.
    """
    settings = load_settings(data_dir=data_dir)
    configure_quiet_logging(settings)
    problems = 0

    click.echo(
        f"headrace {headrace.__version__} on Python {platform.python_version()}"
        f" ({platform.system()} {platform.machine()})"
    )
    items = settings.public_items()
    value_width = max(len(value) for _, value, _ in items)
    _section(
        "Configuration",
        [(name, f"{value.ljust(value_width)}  ({source})") for name, value, source in items],
    )

    database = describe_database(settings)
    problems += not database.usable
    _section("Database", [("status", database.description)])

    isolation, ok = _isolation_status()
    problems += not ok
    _section("Sandbox", isolation)

    if problems:
        click.echo(f"\n{problems} problem(s) found.")
        sys.exit(1)


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    click.echo(f"\n{title}")
    width = max((len(name) for name, _ in rows), default=0)
    for name, value in rows:
        click.echo(f"  {name.ljust(width)}  {value}")


def _isolation_status() -> tuple[list[tuple[str, str]], bool]:
    try:
        # Imported here and by name: only this section needs the runtime, and doctor must
        # still report the rest when the runtime cannot load.
        runtime = importlib.import_module("headrace.runtime")
        describe_isolation: Callable[[], dict[str, str]] = runtime.describe_isolation
    except (ImportError, AttributeError) as exc:
        return [("runtime", f"cannot be loaded: {exc}")], False
    return sorted(describe_isolation().items()), True
