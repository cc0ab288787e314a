"""The reflections section of `journeygen stats` as tables: whether the reflections say why,
how varied their wording is, and detours per journey against those asked."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from journeygen.derive.journey import SHORT_REASONS
from journeygen.view.reflections import ReflectionStats

__all__ = ["reflection_tables"]


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def reflection_tables(stats: ReflectionStats) -> list[Table]:
    """Summary rows, then the phrase bank's use by list."""
    summary = Table(title="reflections", show_header=False)
    total = stats.reflections
    sources = ", ".join(f"{name} {n} ({n / total:.0%})" for name, n in stats.sources.items())
    kinds = ", ".join(f"{kind} {n}" for kind, n in stats.kinds.items())
    per = max(stats.journeys, 1)
    rows = [
        ("reflections", str(total)),
        ("sources", sources or "-"),
        ("says why", f"{stats.says_why} of {total} ({_percent(stats.says_why_share)}): {kinds}"),
        ("distinct texts", f"{stats.distinct} of {total} ({_percent(stats.distinct_share)})"),
        *((f"  said {n} times", text) for text, n in stats.top_phrasings),
        (
            "detours per journey",
            f"{stats.detours_taken / per:.2f} of {stats.detours_asked / per:.2f} asked "
            f"({stats.detours_taken} of {stats.detours_asked} in {stats.journeys} journeys)",
        ),
        ("journeys short of it", str(stats.short_journeys)),
        *((f"  {why} {n}", SHORT_REASONS[why]) for why, n in stats.short_reasons.items()),
    ]
    for name, value in rows:
        summary.add_row(name, Text(value))

    bank = Table(title="phrase bank use", caption="even: each phrasing of a list alike")
    for column in ("list", "uses", "phrasings used", "most used", "share", "even"):
        bank.add_column(column, justify="left" if column in ("list", "most used") else "right")
    for key, use in stats.phrase_use.items():
        if use.uses:
            bank.add_row(
                key,
                str(use.uses),
                f"{use.used}/{use.options}",
                Text(use.top),
                _percent(use.top_share),
                _percent(use.even_share),
            )
    return [summary, bank]
