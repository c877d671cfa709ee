"""The `headrace` command: one click group, one module per subcommand."""

from __future__ import annotations

import click

import headrace
from headrace.cli.deliveries import deliveries
from headrace.cli.doctor import doctor
from headrace.cli.run import run
from headrace.cli.serve import serve
from headrace.cli.worker import worker
from headrace.cli.workspace import workspace


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """headrace: self-hosted functions on customer event data."""


@cli.command()
def version() -> None:
    """Print the headrace version."""
    click.echo(f"headrace {headrace.__version__}")


cli.add_command(serve)
cli.add_command(workspace)
cli.add_command(doctor)
cli.add_command(run)
cli.add_command(worker)
cli.add_command(deliveries)


def main() -> None:
    cli(prog_name="headrace")


if __name__ == "__main__":
    main()
