"""`headrace worker`: the pipeline alone (routing and delivery), without the HTTP API.

Run as many as the database can feed, on this machine or others sharing the database:
they claim work with leases, so none steals another's jobs and a dead one's come back.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from headrace.cli.common import data_dir_option, load_settings, user_errors
from headrace.log import configure_logging, get_logger
from headrace.services import Services, open_store, prepare_data_dir

_log = get_logger("worker")


@click.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Route and deliver queued events until SIGTERM or SIGINT.

    `headrace serve` runs these workers too; start more with this command to deliver
    apart from the HTTP API.
    """
    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_level)
    with user_errors():
        prepare_data_dir(settings.data_dir)
        services = Services(settings, open_store(settings))
    stop = threading.Event()
    received: list[str] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    services.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        services.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _log.info("shut down", extra={"signal": received[0] if received else None})
