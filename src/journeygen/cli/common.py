"""What every command shares: the consoles and the working-folder options.

The rich consoles `stdout` and `stderr` are made on first use (rich takes 20-50 ms to
import), so a command that prints plain lines with `click.echo` never loads rich.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    stderr: Console
    stdout: Console

__all__ = ["out_dir_option", "stderr", "stdout", "trees_dir_option"]

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


@functools.cache
def _console(name: str) -> Console:
    """The one console of each stream, as `stdout` and `stderr` give it."""
    from rich.console import Console

    # emoji=False: nothing we print uses ":name:" codes, and rich then never loads its table
    return Console(stderr=name == "stderr", highlight=False, soft_wrap=True, emoji=False)


def __getattr__(name: str) -> Any:
    """`stdout` and `stderr`: rich consoles, made when a command first imports one."""
    if name in ("stdout", "stderr"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
