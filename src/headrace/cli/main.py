"""The `headrace` command: one click group, one module per subcommand.

A subcommand's module is imported only when that subcommand runs (or help lists it): the
pipeline's `headrace worker` and a local `headrace run` start without loading the HTTP API.
"""

from __future__ import annotations

import importlib

import click

import headrace

SUBCOMMANDS = {
    "deliveries": "headrace.cli.deliveries",
    "doctor": "headrace.cli.doctor",
    "run": "headrace.cli.run",
    "serve": "headrace.cli.serve",
    "worker": "headrace.cli.worker",
    "workspace": "headrace.cli.workspace",
}
"""Each subcommand's module, which defines it under the subcommand's name."""


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *SUBCOMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = SUBCOMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """headrace: self-hosted functions on customer event data."""


@cli.command()
def version() -> None:
    """Print the headrace version."""
    click.echo(f"headrace {headrace.__version__}")


def main() -> None:
    cli(prog_name="headrace")


if __name__ == "__main__":
    main()
