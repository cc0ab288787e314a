"""`--config recipe.yaml` and the search flags of `generate`: a recipe gives every stage's
settings, and a flag overrides it only when the user typed it (an untyped flag is None).
Flag defaults are read from the config models, so each default is stated once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from journeygen.config import RunConfig, SearchConfig
from journeygen.config.recipe import RecipeError, load_recipe, resolve_config
from journeygen.search import STRATEGY_NAMES

__all__ = ["config_option", "resolved_config", "search_options"]

_SEARCH_DEFAULTS = SearchConfig()

config_option = click.option(
    "--config",
    "recipe",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipe YAML with every stage's settings (seed, backend, search, judges, journey); "
    "flags given on the command line override it.",
)


def _search_option(name: str, kind: click.ParamType[Any], text: str) -> Any:
    """A search flag whose shown default is the `SearchConfig` default."""
    field = name.lstrip("-").replace("-", "_")
    default = getattr(_SEARCH_DEFAULTS, field)
    return click.option(name, type=kind, help=f"{text}  [default: {default}]")


SEARCH_OPTIONS = [
    _search_option(
        "--strategy",
        click.Choice(STRATEGY_NAMES),
        "How the tree grows: beam, rollout (Math-Shepherd/OmegaPRM), mcts, best_of_n, "
        "critique (the model chooses its own actions), dialogue (a critic agent chooses them).",
    ),
    _search_option("--width", click.IntRange(1, 64), "Next steps sampled per frontier node."),
    _search_option("--keep", click.IntRange(1, 64), "Frontier nodes kept per depth."),
    _search_option("--depth", click.IntRange(1, 64), "Steps before a solution must end."),
    _search_option("--turns", click.IntRange(1, 1000), "critique, dialogue: most steps written."),
    _search_option(
        "--revisits",
        click.IntRange(1, 100),
        "critique, dialogue: most backtracks to one step before the search stops.",
    ),
    _search_option(
        "--reference-path",
        click.Choice(["fallback", "never", "always"]),
        "Use the reference solution as the correct path when search finds none.",
    ),
]


def search_options(command: Any) -> Any:
    """Add the search flags to a command (each arrives as a keyword, None when not typed)."""
    for option in reversed(SEARCH_OPTIONS):
        command = option(command)
    return command


def _given(value: Any) -> Any:
    """The overrides with every untyped flag (None) left out, nested mappings included."""
    if isinstance(value, dict):
        kept = {key: _given(item) for key, item in value.items() if item is not None}
        return {key: item for key, item in kept.items() if item != {}}
    return value


def resolved_config(recipe: Path | None, overrides: dict[str, Any]) -> RunConfig:
    """Defaults, then the recipe, then the flags the user typed (`overrides`, nested like
    `RunConfig`, None for a flag not given)."""
    try:
        return resolve_config(load_recipe(recipe) if recipe else None, _given(overrides))
    except RecipeError as exc:
        raise click.ClickException(str(exc)) from exc
