"""The reflections report of a run: sources, how many say why, distinct texts, the most
repeated phrasings, phrase-bank spread, detours per journey against asked and why some are
short. For before/after comparisons, `dump` writes the journeys that the journeygen on the
path builds (an older checkout, run with PYTHONPATH=/that/checkout/src), and `report
--samples` measures those with this checkout's statistics.

    PYTHONPATH=/tmp/jg-before/src .venv/bin/python bench/reflections.py dump RUN --out before.jsonl
    .venv/bin/python bench/reflections.py report RUN --samples before.jsonl --label before \
        --prompts /tmp/jg-before/src/journeygen/prompts
    .venv/bin/python bench/reflections.py report RUN --label after
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any


def _journeys(run: str, trees_dir: Path) -> list[Any]:
    """The run's journeys built offline (cached LLM texts only) by the journeygen on the path;
    only long-standing APIs here, so an older checkout can run it."""
    from journeygen.cli.journey_options import sample_settings
    from journeygen.derive.samples import samples
    from journeygen.prompts import load_prompts
    from journeygen.store import RunStore

    store = RunStore(trees_dir, run)
    prompts = load_prompts(None)
    journey = {"seed": None}
    settings = sample_settings(store, prompts, journey)
    return list(samples(store.trees(), "journey", prompts, run=run, settings=settings))


def dump(args: argparse.Namespace) -> None:
    rows = [sample.model_dump_json() for sample in _journeys(args.run, args.trees_dir)]
    args.out.write_text("".join(f"{row}\n" for row in rows), encoding="utf-8")
    print(f"{len(rows)} journeys -> {args.out}")


def report(args: argparse.Namespace) -> None:
    from journeygen.cli.common import stdout
    from journeygen.cli.reflection_tables import reflection_tables
    from journeygen.judges.reasons import reason_flaw
    from journeygen.models import Sample
    from journeygen.prompts import load_prompts
    from journeygen.store import RunStore
    from journeygen.view.reflections import reflection_stats

    trees = list(RunStore(args.trees_dir, args.run).trees())
    if args.samples is None:
        journeys = _journeys(args.run, args.trees_dir)
    else:
        lines = args.samples.read_text(encoding="utf-8").splitlines()
        journeys = [Sample.model_validate_json(line) for line in lines if line.strip()]
    stats = reflection_stats(trees, journeys, load_prompts(args.prompts))
    per = max(stats.journeys, 1)
    sources = ", ".join(f"{k} {v}" for k, v in stats.sources.items())
    print(
        f"| {args.label} | {len(trees)} | {stats.journeys} | {stats.reflections} | {sources} "
        f"| {stats.says_why} ({stats.says_why_share or 0:.0%}) "
        f"| {stats.distinct} ({stats.distinct_share or 0:.0%}) "
        f"| {stats.detours_taken / per:.2f} of {stats.detours_asked / per:.2f} |"
    )
    judged = Counter(
        reason_flaw(v.reason, node.text) or "says why"
        for tree in trees
        for node in tree.nodes
        for v in node.verdicts
        if v.judge == "llm" and v.label != "unknown"
    )
    if judged:
        print("LLM-judge reasons:", ", ".join(f"{k} {n}" for k, n in judged.most_common()))
    if stats.top_phrasings:
        print("repeated:", "; ".join(f"{n}x {text!r}" for text, n in stats.top_phrasings))
    print(
        "short:",
        stats.short_journeys,
        stats.short_reasons,
        "| phrase bank top share vs even:",
        ", ".join(
            f"{k} {u.top_share:.0%}/{u.even_share:.0%} of {u.uses}"
            for k, u in stats.phrase_use.items()
            if u.uses and u.top_share and u.even_share
        ),
    )
    if args.tables:
        for table in reflection_tables(stats):
            stdout.print(table, soft_wrap=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees-dir", type=Path, default=Path("trees"))
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump", help="write the run's journeys as Sample jsonl")
    dumping.add_argument("run")
    dumping.add_argument("--out", type=Path, required=True)
    reporting = commands.add_parser("report", help="one markdown row, and the tables")
    reporting.add_argument("run")
    reporting.add_argument("--samples", type=Path, help="journeys from `dump` (else rebuilt)")
    reporting.add_argument("--label", default="")
    reporting.add_argument(
        "--prompts", type=Path, help="the phrase bank the journeys were written with"
    )
    reporting.add_argument("--tables", action="store_true", help="also the stats tables")
    args = parser.parse_args()
    {"dump": dump, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
