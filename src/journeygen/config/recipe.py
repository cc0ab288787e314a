"""Recipes: one YAML file with every stage's settings (a `RunConfig`), checked strictly, that
command-line flags given explicitly override."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from journeygen.config import RunConfig

__all__ = ["RecipeError", "load_recipe", "resolve_config"]


class RecipeError(ValueError):
    """A recipe that can't be used, named by file, line and field."""


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest key along `loc` that the YAML document holds."""
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if k.value == key]
            if not found:
                break
            line = found[0][0].start_mark.line + 1
            node = found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def load_recipe(path: str | Path) -> dict[str, Any]:
    """Read a recipe and check it against `RunConfig` (unknown keys are errors); returns the
    settings it gives, as plain data, so flags can be laid over them."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        document = yaml.compose(text)
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: recipe is not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"{path}{where}: not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(
            f"{path}: a recipe is a mapping of settings (seed, backend, search, judges, journey), "
            f"not a {type(data).__name__}"
        )
    try:
        RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            line = _line_of(document, tuple(error["loc"]))
            field = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"{path}{f':{line}' if line else ''}: {field}: {error['msg']}")
        raise RecipeError("\n".join(problems)) from None
    return data


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_config(
    recipe: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None = None
) -> RunConfig:
    """The run's settings: defaults, then the recipe, then the flags given explicitly."""
    data = _merge(recipe or {}, overrides or {})
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise RecipeError("invalid settings: " + "; ".join(problems)) from None
