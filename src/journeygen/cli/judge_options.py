"""`--judges answer,arithmetic,...`: which judges label the steps, as a validated list."""

from __future__ import annotations

import click

from journeygen.config import JudgeConfig
from journeygen.judges import JUDGE_NAMES

__all__ = ["judge_names", "judges_option"]


def judge_names(values: tuple[str, ...] | str | None, *, allowed: tuple[str, ...]) -> list[str]:
    """Names from repeated or comma-separated values, in order, each once; unknown ones are
    a `click.BadParameter` that lists the allowed names."""
    if values is None:
        return []
    items = (values,) if isinstance(values, str) else values
    names = [name.strip() for item in items for name in item.split(",") if name.strip()]
    for name in names:
        if name not in allowed:
            raise click.BadParameter(f"unknown judge {name!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def _parse(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = judge_names(value, allowed=JUDGE_NAMES)
    if not names:
        raise click.BadParameter("name at least one judge")
    return names


judges_option = click.option(
    "--judges",
    callback=_parse,
    metavar="NAMES",
    help=f"Judges that label the steps, comma-separated ({', '.join(JUDGE_NAMES)}).  "
    f"[default: {','.join(JudgeConfig().use)}]",
)
