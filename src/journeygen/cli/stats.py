"""`journeygen stats`: what a run's data looks like, as tables or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from journeygen.cli.common import out_dir_option, stderr, stdout, trees_dir_option
from journeygen.cli.journey_options import journey_options, sample_settings
from journeygen.cli.reflection_tables import reflection_tables
from journeygen.derive.samples import samples
from journeygen.prompts import load_prompts
from journeygen.store import RunStore, StoreError
from journeygen.view.evidence import EvidenceStats
from journeygen.view.plots import PlotError, write_plots
from journeygen.view.stats import Distribution, RunStats, compute_stats

__all__ = ["run_stats", "stats_command"]


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def run_stats(
    store: RunStore, out_dir: Path, journey: dict[str, Any], prompts_dir: Path | None = None
) -> RunStats:
    """Rebuild the run's samples offline (cached LLM texts only) and compute its stats."""
    prompts = load_prompts(prompts_dir)
    settings = sample_settings(store, prompts, journey)
    trees = list(store.trees())
    return compute_stats(
        store.run,
        problems=len(store.read_manifest().problems),
        trees=trees,
        journeys=list(samples(trees, "journey", prompts, run=store.run, settings=settings)),
        shortcuts=list(samples(trees, "shortcut", prompts, run=store.run, settings=settings)),
        rejects=_count_lines(out_dir / store.run / "rejects.jsonl"),
        episodes=list(samples(trees, "episode", prompts, run=store.run, settings=settings)),
        prompts=prompts,
        journey=journey,
    )


def _dist(d: Distribution) -> list[str]:
    return [str(d.count), f"{d.mean:g}", str(d.min), f"{d.median:g}", str(d.p90), str(d.max)]


def _tables(stats: RunStats) -> list[Table]:
    counts = Table(title=f"run {stats.run}", show_header=False)
    status = ", ".join(f"{k} {v}" for k, v in stats.tree_status.items()) or "none"
    fidelity = stats.fidelity
    rate = "n/a" if fidelity.pass_rate is None else f"{fidelity.pass_rate:.0%}"
    rows = [
        ("problems", str(stats.problems)),
        ("trees", f"{stats.trees} ({status})"),
        ("journeys", f"{stats.journeys} from {stats.trees_with_journey} trees"),
        ("shortcuts", str(stats.shortcuts)),
        *([("episodes", str(stats.episodes))] if stats.episodes else []),
        ("rejects", str(stats.rejects)),
        ("linearize", ", ".join(f"{k} {v}" for k, v in stats.linearize_modes.items()) or "-"),
        (
            "rewrite fidelity",
            f"{fidelity.passed}/{fidelity.checked} passed ({rate}); "
            f"no rewrite {fidelity.no_rewrite}"
            + "".join(f"; {rule} {n}" for rule, n in fidelity.failures.items()),
        ),
    ]
    for name, value in rows:
        counts.add_row(name, value)

    detours = Table(title="detours per journey")
    for column in ("detours", "journeys"):
        detours.add_column(column, justify="right")
    for count in sorted(set(stats.detours_per_journey.values)):
        detours.add_row(str(count), str(stats.detours_per_journey.values.count(count)))

    sources = Table(title="reflection sources")
    sources.add_column("source")
    sources.add_column("reflections", justify="right")
    own = stats.episode_reflection_sources
    if stats.episodes:  # critique, dialogue: the model's own words (self, critic) and others
        sources.add_column("in episodes", justify="right")
    for source in dict.fromkeys([*stats.reflection_sources, *own]):
        row = [source, str(stats.reflection_sources.get(source, 0))]
        if stats.episodes:
            row.append(str(own.get(source, 0)))
        sources.add_row(*row)

    lengths = Table(title="long-thought length", caption=f"tokens: {stats.tokenizer}")
    for column in ("kind", "unit", "n", "mean", "min", "median", "p90", "max"):
        lengths.add_column(column, justify="left" if column in ("kind", "unit") else "right")
    for kind, length in stats.lengths.items():
        lengths.add_row(kind, "chars", *_dist(length.chars))
        lengths.add_row(kind, "tokens", *_dist(length.tokens))
    reflections = reflection_tables(stats.reflections)
    return [counts, detours, sources, lengths, *reflections, *_trust_tables(stats.evidence)]


EVIDENCE_NAMES = {
    "answer": "stated final answer matches",
    "llm": "LLM judge",
    "value": "value ≥ threshold (backup/rollout)",
    "reference": "reference path",
    "human": "human label (import)",
    "none": "no evidence",
}


def _trust_tables(evidence: EvidenceStats) -> list[Table]:
    """How far the labels can be trusted: evidence behind the correct paths, and the rest."""
    earned = Table(
        title=f"evidence behind the {evidence.correct_path_steps} correct-path steps",
        caption="distinct steps of the samples' correct paths; a step can have several kinds",
    )
    for column in ("evidence", "steps", "only this"):
        earned.add_column(column, justify="left" if column == "evidence" else "right")
    for kind, count in evidence.by_evidence.items():
        name = EVIDENCE_NAMES.get(kind, kind)
        earned.add_row(name, str(count), str(evidence.only_evidence.get(kind, 0)))

    trust = Table(title="labels", show_header=False)
    paths = ", ".join(f"{source} {n}" for source, n in evidence.paths.items()) or "none"
    share = evidence.cut_steps / evidence.model_steps if evidence.model_steps else 0.0
    statements = ", ".join(f"{kind} {n}" for kind, n in evidence.answer_statements.items())
    rows = [
        ("correct paths", f"{paths}; trees without one {evidence.trees_without_path}"),
        (
            "cut by max_tokens",
            f"{evidence.cut_steps} of {evidence.model_steps} model steps ({share:.0%})",
        ),
        ("adds nothing", f"{evidence.redundant_steps} steps restate the question or a step"),
        ("final answers stated as", statements or "-"),
        ("journeys failing arithmetic", str(evidence.journeys_failing_arithmetic)),
    ]
    rows += [("  at", failure) for failure in evidence.arithmetic_failures]
    rows += [("hint", hint) for hint in evidence.hints]
    for name, value in rows:
        trust.add_row(name, Text(value))
    return [earned, trust]


@click.command(name="stats")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write PNG plots into this folder (needs the plots extra).",
)
@click.option(
    "--prompts",
    "prompts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder whose prompt files replace the built-in ones.",
)
@trees_dir_option
@out_dir_option
@journey_options
def stats_command(
    run: str,
    as_json: bool,
    plots_dir: Path | None,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
    journey: dict[str, Any],
) -> None:
    """Problems, trees, journeys and shortcuts of RUN; detours per journey; where the
    reflections came from, how many say why, how varied their wording is, and why a journey
    has fewer detours than asked; long-thought lengths (chars, tokens) of journeys vs shortcuts;
    the rewrite fidelity pass rate; rejects; and how far the labels can be trusted: the
    evidence behind each correct-path step, policy vs reference paths, cut and padding
    steps, how final answers are stated, journeys whose path fails the arithmetic check.
    Samples are rebuilt offline from the saved trees with the run's settings (journey
    options override them)."""
    try:
        stats = run_stats(RunStore(trees_dir, run), out_dir, journey, prompts_dir)
        if plots_dir is not None:
            plots = write_plots(RunStore(trees_dir, run).trees(), stats, plots_dir)
            stderr.print(f"plots: {', '.join(str(path) for path in plots)}", markup=False)
    except (StoreError, ValueError, PlotError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(stats.model_dump_json(indent=1))
        return
    for table in _tables(stats):
        stdout.print(table, soft_wrap=False)
