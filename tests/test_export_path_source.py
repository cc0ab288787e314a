"""`--path-source`: journey and shortcut samples kept by whose correct path they stand on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hand_cases import PROBLEM, apples_nodes

from journeygen.cli import main
from journeygen.config import RunConfig
from journeygen.derive.samples import PathSourceFilter, SampleKind, SampleSettings, samples
from journeygen.models import Tree
from journeygen.prompts import load_prompts
from journeygen.store import Manifest, RunStore

SOURCES = {"apples": "policy", "apples-ref": "reference"}


def policy_tree() -> Tree:
    """The apples hand tree: the model's own steps 1 → 1.1 reach the gold answer."""
    return Tree(problem=PROBLEM, nodes=apples_nodes(), config=RunConfig(seed=0))


def reference_tree() -> Tree:
    """The same tree with 1 → 1.1 as the reference solution the model's detours hang on."""
    nodes = apples_nodes()
    for node in nodes:
        if node.id in ("1", "1.1"):
            node.source = "reference"
    problem = PROBLEM.model_copy(update={"id": "apples-ref"})
    return Tree(problem=problem, nodes=nodes, config=RunConfig(seed=0))


@pytest.mark.parametrize("kind", ["journey", "shortcut"])
@pytest.mark.parametrize(
    ("path_source", "kept"),
    [("any", ["apples", "apples-ref"]), ("policy", ["apples"]), ("reference", ["apples-ref"])],
)
def test_samples_are_kept_by_path_source(
    kind: SampleKind, path_source: PathSourceFilter, kept: list[str]
) -> None:
    trees = [policy_tree(), reference_tree()]
    settings = SampleSettings(path_source=path_source)
    found = list(samples(trees, kind, load_prompts(), run="hand", settings=settings))
    origins = [(sample.provenance.problem_id, sample.provenance.path_source) for sample in found]
    assert origins == [(problem_id, SOURCES[problem_id]) for problem_id in kept]


@pytest.fixture
def hand_run(tmp_path: Path) -> Path:
    """A run folder `hand` holding the policy and the reference tree."""
    store = RunStore(tmp_path, "hand")
    trees = [policy_tree(), reference_tree()]
    for tree in trees:
        store.save_tree(tree)
    config = RunConfig()
    store.write_manifest(
        Manifest(
            run="hand",
            config=config,
            config_hash="hand",
            source="hand",
            problems=[tree.problem.id for tree in trees],
        )
    )
    return tmp_path


def test_export_path_source_policy_drops_the_reference_sample(hand_run: Path) -> None:
    out = hand_run / "out"
    args = ["export", "hand", "--trees-dir", str(hand_run), "--out-dir", str(out)]
    done = CliRunner().invoke(main, [*args, "--path-source", "policy"])
    assert done.exit_code == 0, done.output
    for kind in ("journey", "shortcut"):
        side = (out / "hand" / f"{kind}.provenance.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in side]
        assert [(row["problem_id"], row["path_source"]) for row in rows] == [("apples", "policy")]
    everything = CliRunner().invoke(main, args)
    assert everything.exit_code == 0, everything.output
    assert "journey: 2 rows" in everything.output and "shortcut: 2 rows" in everything.output


def test_path_source_is_refused_for_pair_and_label_rows(hand_run: Path) -> None:
    args = ["export", "hand", "--trees-dir", str(hand_run), "--format", "trl", "--kind", "dpo"]
    done = CliRunner().invoke(main, [*args, "--path-source", "reference"])
    assert done.exit_code == 2
    assert "--path-source applies to journey and shortcut rows only" in done.stderr
