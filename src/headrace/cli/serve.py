"""`headrace serve`: migrate, make the owner on first start, then run the HTTP API, with the
pipeline (routing and delivery) in a `headrace worker` child process."""

from __future__ import annotations

import errno
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
import uvicorn

from headrace.api import create_app
from headrace.cli.common import (
    data_dir_option,
    load_settings,
    tune_garbage_collector,
    user_errors,
)
from headrace.cli.pipeline_process import PipelineProcess
from headrace.config import Settings
from headrace.log import configure_logging, get_logger
from headrace.services import (
    OwnerBootstrap,
    Services,
    StartupError,
    ensure_default_workspace,
    open_store,
    prepare_data_dir,
)

GRACEFUL_SHUTDOWN_TIMEOUT_S = 10
"""How long in-flight requests may take to finish after SIGTERM/SIGINT."""

_log = get_logger("serve")


@click.command()
@data_dir_option
@click.option(
    "--host", default=None, help="Address to listen on [env HEADRACE_HOST; default 127.0.0.1]."
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on [env HEADRACE_PORT; default 8080].",
)
def serve(data_dir: Path | None, host: str | None, port: int | None) -> None:
    """Run headrace: the HTTP API and the pipeline on a database in the data directory.

    The first start creates the database, a workspace named `default` and its owner
    API token, which is printed once and saved to DATA_DIR/owner.token (mode 0600).
    Later starts migrate the database if needed and reuse all of it.
    """
    settings = load_settings(data_dir=data_dir, host=host, port=port)
    configure_logging(settings.log_level)
    with user_errors():
        prepare_data_dir(settings.data_dir)
        listener = bind_listener(settings.host, settings.port)
        pipeline = PipelineProcess(settings)
        try:
            services = Services(
                settings, open_store(settings), pipeline=False, wake_elsewhere=pipeline.wake
            )
            bootstrap = ensure_default_workspace(settings, services.sessions)
        except BaseException:
            listener.close()
            raise
    if bootstrap is not None:
        _announce_owner_token(bootstrap)
    # The pipeline starts after migrations and the first workspace: its store is up to date.
    _run(settings, services, listener, pipeline)


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, so a busy port is reported before anything starts."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StartupError(f"The host {host!r} cannot be resolved: {exc.strerror}.") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"Port {port} on {host} is already in use; stop the other process "
                "or choose another port with --port."
            ) from None
        reason = (exc.strerror or str(exc)).lower()
        raise StartupError(f"headrace cannot listen on {host}:{port}: {reason}.") from None
    sock.set_inheritable(True)
    return sock


def _announce_owner_token(bootstrap: OwnerBootstrap) -> None:
    # stdout, once: the only place the token is shown besides its 0600 file.
    click.echo(
        f"Created workspace {bootstrap.created.workspace.name!r}. Its owner API token is below;"
        f" it is also saved in {bootstrap.token_path} and will not be shown again."
    )
    click.echo(bootstrap.created.token)
    # Flushed now: with stdout on a pipe (a service manager), it would wait for exit.
    sys.stdout.flush()


def _run(
    settings: Settings, services: Services, listener: socket.socket, pipeline: PipelineProcess
) -> None:
    app = create_app(settings, services)
    tune_garbage_collector()
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_TIMEOUT_S,
        server_header=False,
    )
    server = uvicorn.Server(config)
    _log.info(
        "listening",
        extra={
            "url": f"http://{settings.host}:{settings.port}",
            "data_dir": str(settings.data_dir),
        },
    )
    received: list[str] = []
    pipeline.start()
    try:
        with _signals_end_cleanly(received):
            server.run(sockets=[listener])
    finally:
        pipeline.stop()
    _log.info("shut down", extra={"signal": received[0] if received else None})


@contextmanager
def _signals_end_cleanly(received: list[str]) -> Iterator[None]:
    """Let SIGTERM/SIGINT mean "shut down and exit 0".

    uvicorn shuts down gracefully on either signal and then re-raises it to the handler
    that was installed before it ran; the default handlers would turn a clean shutdown
    into a death by signal (SIGTERM) or a KeyboardInterrupt traceback (SIGINT).
    """

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
