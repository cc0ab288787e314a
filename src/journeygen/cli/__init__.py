"""The `journeygen` command; each subcommand lives in its own module of this package.

Subcommands are imported when they run (click's "lazy loading subcommands" pattern): the
table below names each one's module and gives the line `journeygen --help` shows, so the
help and a light command such as `show` never load the SDKs, sympy or math-verify that
`generate` needs.
"""

from __future__ import annotations

import gc
import importlib
import sys
from types import ModuleType

import click

__all__ = ["COMMANDS", "main"]

# name -> ("module:attribute", the short help listed by `journeygen --help`), in pipeline order
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": (
        "journeygen.cli.generate:generate_command",
        "Build one tree per problem; export journeys and shortcuts.",
    ),
    "export": (
        "journeygen.cli.export:export_command",
        "Write training jsonl (SFT, DPO, PRM) from a run's trees.",
    ),
    "stats": (
        "journeygen.cli.stats:stats_command",
        "Counts, detours, lengths, fidelity and rejects of a run.",
    ),
    "view": (
        "journeygen.cli.view:view_command",
        "Write an offline HTML report of a run's trees and journeys.",
    ),
    "show": (
        "journeygen.cli.show:show_command",
        "List runs, a run's trees, or draw one tree in the terminal.",
    ),
    "graph": (
        "journeygen.cli.graph:graph_command",
        "One tree as Graphviz DOT or networkx node-link JSON.",
    ),
    "eval-judge": (
        "journeygen.cli.eval_judge:eval_judge_command",
        "Precision, recall and F1 of judges against human labels.",
    ),
    "import": (
        "journeygen.cli.import_cmd:import_group",
        "Turn labelled data (PRM800K) into a run of trees.",
    ),
    "ablate": (
        "journeygen.cli.ablate:ablate_command",
        "Fine-tune on journeys vs on shortcuts and compare the models.",
    ),
}


def _import_once(module_name: str) -> ModuleType:
    """Import a command's module with the cyclic garbage collector paused, then freeze what
    exists: the modules and classes made now live to the end of the process, so collections
    during the import find nothing, and later ones (and the exit) need not walk them again.
    No collection first (unlike `runtime.loop.run_batch`): at start-up there is next to no
    garbage to keep, and a full collection would cost what the freeze saves.
    That takes 30 to 80 ms off `show`, `stats` and `export` here (bench/README.md §8)."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(module_name)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class LazyGroup(click.Group):
    """A group whose subcommands are imported from `COMMANDS` only when one is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the subcommand's module on first use; None for an unknown name."""
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name][0].split(":")
        command = getattr(_import_once(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the subcommands with the table's short help, importing none of them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


@click.group(cls=LazyGroup)
@click.version_option(package_name="journeygen")
def main() -> None:
    """Generate journey-learning reasoning data: search trees of solution steps, keep the
    wrong branches with their reasons, and export journeys and shortcuts as SFT jsonl."""
