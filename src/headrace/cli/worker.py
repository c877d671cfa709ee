"""`headrace worker`: the pipeline alone (routing and delivery), without the HTTP API.

Run as many as the database can feed, on this machine or others sharing the database:
they claim work with leases, so none steals another's jobs and a dead one's come back.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from headrace.cli.common import (
    data_dir_option,
    load_settings,
    tune_garbage_collector,
    user_errors,
)
from headrace.log import configure_logging, get_logger
from headrace.services import Services, open_store, prepare_data_dir

_log = get_logger("worker")


@click.command()
@data_dir_option
@click.option(
    "--attached",
    is_flag=True,
    hidden=True,
    help="Run as `headrace serve`'s pipeline: wake on input, exit when stdin closes.",
)
def worker(data_dir: Path | None, attached: bool) -> None:
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

    if attached:
        # serve's Ctrl-C reaches its whole process group: serve stops this process itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    signals = (signal.SIGTERM,) if attached else (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, note) for sig in signals}
    tune_garbage_collector()
    services.start()
    if attached:
        threading.Thread(
            target=_follow_parent, args=(services, stop), name="parent", daemon=True
        ).start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        services.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _log.info("shut down", extra={"signal": received[0] if received else None})


def _follow_parent(services: Services, stop: threading.Event) -> None:
    """Wake the pipeline for every byte on stdin; stop when it ends (the parent is gone)."""
    fd = sys.stdin.fileno()
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            stop.set()
            return
        services.wake_pipeline()
