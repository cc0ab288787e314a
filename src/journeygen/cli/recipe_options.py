"""`--config recipe.yaml` and `--strategy`: a recipe gives every stage's settings, and a flag
overrides it only when the user typed the flag (click's parameter source says which)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from journeygen.config import RunConfig, SearchConfig
from journeygen.config.recipe import RecipeError, load_recipe, resolve_config
from journeygen.search import STRATEGIES

__all__ = ["FLAG_FIELDS", "SEARCH_DEFAULTS", "config_option", "resolved_config", "strategy_option"]

SEARCH_DEFAULTS = SearchConfig()  # search flags take their defaults from here, stated once

# command-line parameter -> where its value goes in RunConfig
FLAG_FIELDS: dict[str, tuple[str, ...]] = {
    "seed": ("seed",),
    "backend": ("backend", "name"),
    "model": ("backend", "model"),
    "base_url": ("backend", "base_url"),
    "strategy": ("search", "strategy"),
    "width": ("search", "width"),
    "keep": ("search", "keep"),
    "depth": ("search", "depth"),
    "reference_path": ("search", "reference_path"),
    "judges": ("judges", "use"),
    "system": ("journey", "system_prompt"),
}

config_option = click.option(
    "--config",
    "recipe",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipe YAML with every stage's settings (seed, backend, search, judges, journey); "
    "flags given on the command line override it.",
)
strategy_option = click.option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    default=SEARCH_DEFAULTS.strategy,
    show_default=True,
    help="How the tree grows: beam, rollout (Math-Shepherd/OmegaPRM), mcts, best_of_n.",
)


def _explicit_flags(ctx: click.Context) -> dict[str, Any]:
    """The settings the user typed (or set through the environment), nested like RunConfig."""
    overrides: dict[str, Any] = {}
    for name, path in FLAG_FIELDS.items():
        source = ctx.get_parameter_source(name)
        if source is None or source == ParameterSource.DEFAULT:
            continue
        target = overrides
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = ctx.params[name]
    return overrides


def resolved_config(recipe: Path | None) -> RunConfig:
    """Defaults, then the recipe, then the explicit flags of the running command."""
    ctx = click.get_current_context()
    try:
        return resolve_config(load_recipe(recipe) if recipe else None, _explicit_flags(ctx))
    except RecipeError as exc:
        raise click.ClickException(str(exc)) from exc
