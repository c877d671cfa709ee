"""What every subcommand shares: the --data-dir option, settings, one-sentence errors."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from headrace.config import ConfigError, Settings
from headrace.log import configure_logging
from headrace.services import ServiceError, StartupError
from headrace.store import StoreError

F = TypeVar("F", bound=Callable[..., Any])

DATA_DIR_HELP = (
    "Directory for the database and the owner token [env HEADRACE_DATA_DIR; default ./.headrace]."
)


def data_dir_option(command: F) -> F:
    decorator = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=DATA_DIR_HELP,
    )
    return decorator(command)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors users can cause into one sentence on stderr and exit status 1."""
    try:
        yield
    except (ConfigError, StartupError, StoreError, ServiceError) as exc:
        raise click.ClickException(str(exc)) from None


def load_settings(**overrides: Any) -> Settings:
    with user_errors():
        return Settings.load(**overrides)


def configure_quiet_logging(settings: Settings) -> None:
    """Commands other than serve print results, so only warnings are logged unless debugging."""
    configure_logging("debug" if settings.log_level == "debug" else "warning")


GC_THRESHOLDS = (10_000, 20, 20)
"""The garbage collector's generation thresholds in long-running processes. Python's
(700, 10, 10) run a collection every few events, since each event is a few dozen dicts and
lists that live as long as its request or claim: ingest spent about 17 % of its CPU in
them. Raising them brings that close to nothing; the garbage is cycles, and rare."""


def tune_garbage_collector() -> None:
    """Leave what startup built (imported modules, the app, the services) out of the garbage
    collector's passes from now on: a long-running process otherwise walks all of it on
    every full collection. Then collect less often (GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
