"""What every command shares: the consoles and the working-folder options."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

__all__ = ["out_dir_option", "stderr", "stdout", "trees_dir_option"]

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)

trees_dir_option = click.option(
    "--trees-dir",
    default="trees",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder that holds one folder of trees per run.",
)
out_dir_option = click.option(
    "--out-dir",
    default="outputs",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder that holds one folder of exports per run.",
)
