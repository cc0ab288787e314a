"""The `journeygen` command; each subcommand lives in its own module of this package."""

from __future__ import annotations

import click

from journeygen.cli.eval_judge import eval_judge_command
from journeygen.cli.export import export_command
from journeygen.cli.generate import generate_command
from journeygen.cli.graph import graph_command
from journeygen.cli.import_cmd import import_group
from journeygen.cli.show import show_command
from journeygen.cli.stats import stats_command
from journeygen.cli.view import view_command

__all__ = ["main"]


@click.group()
@click.version_option(package_name="journeygen")
def main() -> None:
    """Generate journey-learning reasoning data: search trees of solution steps, keep the
    wrong branches with their reasons, and export journeys and shortcuts as SFT jsonl."""


main.add_command(generate_command)
main.add_command(export_command)
main.add_command(show_command)
main.add_command(stats_command)
main.add_command(view_command)
main.add_command(graph_command)
main.add_command(eval_judge_command)
main.add_command(import_group)
