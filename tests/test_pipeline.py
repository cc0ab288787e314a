"""The whole pipeline on real parts: the embedded model, a real llama.cpp server, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from journeygen.backends.local import LocalBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Problem
from journeygen.prompts import load_prompts
from journeygen.search.tree import search
from journeygen.store import RunStore

EXAMPLES = Path(__file__).parent.parent / "examples"
GSM8K_SAMPLE = Path(__file__).parent / "data" / "gsm8k_sample.jsonl"


def run_cli(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_tree_is_whole(nodes: list[dict[str, Any]]) -> None:
    """What holds for any tree whatever the model wrote: unique ids, each parent before its
    children, one line of text a step, known labels, an answer only on a finished step."""
    seen: set[str] = set()
    for node in nodes:
        assert node["id"] not in seen and (node["parent"] is None or node["parent"] in seen)
        seen.add(node["id"])
        assert node["text"].strip() and "\n" not in node["text"]
        assert node["label"] in ("correct", "incorrect", "unknown")
        assert node["terminal"] or node["answer"] is None


@pytest.mark.model
async def test_embedded_model_builds_a_judged_tree(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    problem = Problem(
        id="apples",
        question="Tom has 3 apples and buys 5 more. How many apples does he have?",
        answer="8",
    )
    config = RunConfig(search=SearchConfig(width=3, keep=1, depth=2, reference_path="never"))
    tree = await search(problem, local_backend, [AnswerJudge()], config, load_prompts())

    # What the model writes differs by CPU (llama.cpp's sampling): assert the tree's shape.
    assert tree.status == "complete"
    assert_tree_is_whole([node.model_dump() for node in tree.nodes])
    assert len(tree.nodes) <= 3 + 3
    second = [n for n in tree.nodes if n.parent is not None]
    assert len({n.parent for n in second}) <= 1  # keep 1: one first step goes on
    assert all(n.terminal for n in second)  # the last level closes every kept path
    expansions = tree.stats.counters["expansions"]  # the first level, and the kept step's
    assert expansions in (1, 2) and (expansions == 2 or not second)
    assert tree.stats.usage.calls == 3 * expansions  # llama.cpp: one request per sample
    for node in tree.nodes:  # every finished step is judged against the gold answer, with a reason
        answer_verdicts = [v for v in node.verdicts if v.judge == "answer"]
        assert len(answer_verdicts) == (1 if node.terminal else 0)
        for verdict in answer_verdicts:
            assert verdict.reason  # a step cut by max_tokens is unknown whatever it states
            assert node.label == ("unknown" if node.finish_reason == "length" else verdict.label)
            if verdict.label == "correct":
                assert verdict.reason == f"final answer {node.answer} matches the gold answer 8"
            elif verdict.label == "incorrect":
                assert "gold answer" in verdict.reason or "no final answer" in verdict.reason
    store = RunStore(tmp_path, "demo")
    store.save_tree(tree)
    assert store.load_tree("apples") == tree


def path_to(by_id: dict[str, dict[str, Any]], node_id: str) -> list[str]:
    """The ids from a first step down to `node_id`."""
    path: list[str] = []
    current: str | None = node_id
    while current is not None:
        path.append(current)
        current = by_id[current]["parent"]
    return path[::-1]


def assert_walks_a_correct_path(node_ids: list[str], by_id: dict[str, dict[str, Any]]) -> None:
    """The walk ends on a final step whose whole path is correct and meets that path's steps
    in order (a step that adds nothing may be left out of a walk's text and its ids)."""
    assert len(set(node_ids)) == len(node_ids) and set(node_ids) <= set(by_id)
    path = path_to(by_id, node_ids[-1])
    assert by_id[path[-1]]["terminal"] and all(by_id[i]["label"] == "correct" for i in path)
    on_path = [path.index(i) for i in node_ids if i in path]
    assert on_path == sorted(on_path)


def assert_journey_walks_its_tree(node_ids: list[str], by_id: dict[str, dict[str, Any]]) -> None:
    """A journey: a correct path, and wrong steps off it. Each wrong step branches off the
    path at some step, comes after the path's steps above that branch and the wrong steps
    above it, and before the path goes on below the branch."""
    assert_walks_a_correct_path(node_ids, by_id)
    path = path_to(by_id, node_ids[-1])
    assert set(node_ids) - set(path), "a journey has at least one wrong detour"
    for index, node_id in enumerate(node_ids):
        if node_id in path:
            continue
        above = path_to(by_id, node_id)
        branch = next(depth for depth, step in enumerate(above) if step not in path)
        assert all(by_id[step]["label"] == "incorrect" for step in above[branch:])
        assert all(node_ids.index(step) < index for step in above[branch:-1] if step in node_ids)
        for depth, step in enumerate(path):
            if step in node_ids:
                assert (node_ids.index(step) < index) == (depth < branch), (node_id, step)


def assert_samples_fit_their_trees(
    trees_dir: Path, out_dir: Path, golds: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """What holds for a run whatever the model wrote: every tree is whole and has a shortcut
    (the reference solution when the model found no correct answer) along a path of its own;
    a tree has a journey exactly when a wrong step sits beside that path; each journey walks
    its tree, says why it went wrong and goes back; every solution ends with the gold answer.
    Returns the rows of each file, for more checks."""
    manifest = json.loads((trees_dir / "manifest.json").read_text(encoding="utf-8"))
    names = ("journey", "journey.provenance", "shortcut", "shortcut.provenance")
    out = {name: rows(out_dir / f"{name}.jsonl") for name in names}
    journeys = {str(o["problem_id"]): o for o in out["journey.provenance"]}
    shortcuts = {str(o["problem_id"]): o for o in out["shortcut.provenance"]}
    assert len(out["journey"]) == len(journeys) == len(out["journey.provenance"])
    assert len(out["shortcut"]) == len(shortcuts) == len(manifest["problems"])
    for problem_id in manifest["problems"]:
        nodes = json.loads((trees_dir / f"{problem_id}.json").read_text(encoding="utf-8"))["nodes"]
        assert_tree_is_whole(nodes)
        by_id = {node["id"]: node for node in nodes}
        assert_walks_a_correct_path(shortcuts[problem_id]["node_ids"], by_id)
        path = path_to(by_id, shortcuts[problem_id]["node_ids"][-1])
        beside = [
            n for n in nodes if n["label"] == "incorrect" and n["parent"] in (None, *path[:-1])
        ]
        assert (problem_id in journeys) == bool(beside), problem_id
        if problem_id in journeys:  # on the same correct path as the shortcut
            assert journeys[problem_id]["node_ids"][-1] == path[-1]
            assert_journey_walks_its_tree(journeys[problem_id]["node_ids"], by_id)
    phrases = load_prompts().phrases
    reflections = [
        p.split("{")[0] for key in phrases if key.startswith("reflection") for p in phrases[key]
    ]
    backtracks = [
        p.split("{")[0] for key in ("backtrack_step", "backtrack_start") for p in phrases[key]
    ]
    for kind in ("journey", "shortcut"):
        for row, origin in zip(out[kind], out[f"{kind}.provenance"], strict=True):
            content = row["messages"][-1]["content"]
            thought, solution = content.removeprefix("<think>\n").split("\n</think>\n\n")
            assert solution.endswith(f"$\\boxed{{{golds[str(origin['problem_id'])]}}}$.")
            if kind == "journey":
                assert any(r in thought for r in reflections), thought
                assert any(b in thought for b in backtracks), thought
    return out


@pytest.mark.server
def test_generate_through_a_real_openai_compatible_server(
    llama_server: str, server_model: str, tmp_path: Path
) -> None:
    done = run_cli(
        "generate", EXAMPLES / "problems.jsonl", "--run", "srv", "--limit", "2",
        "--backend", "openai", "--base-url", llama_server, "--model", server_model,
        "--width", "3", "--keep", "1", "--depth", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "problems 2 · trees 2" in done.stdout
    golds = {str(r["id"]): str(r["answer"]) for r in rows(EXAMPLES / "problems.jsonl")}
    trees_dir = tmp_path / "trees" / "srv"
    assert_samples_fit_their_trees(trees_dir, tmp_path / "outputs" / "srv", golds)
    for problem_id in ("apples", "pencils"):  # llama_cpp.server ignores n: a request a sample
        stats = json.loads((trees_dir / f"{problem_id}.json").read_text(encoding="utf-8"))["stats"]
        assert stats["counters"]["expansions"] in (1, 2)
        assert stats["usage"]["calls"] == 3 * stats["counters"]["expansions"]


@pytest.mark.model
def test_generate_on_gsm8k_rows_with_the_embedded_model(tmp_path: Path) -> None:
    done = run_cli(
        "generate", GSM8K_SAMPLE, "--run", "gsm", "--limit", "2",
        "--width", "3", "--keep", "1", "--depth", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "problems 2 · trees 2" in done.stdout
    golds = {"gsm8k_sample-000001": "18", "gsm8k_sample-000002": "3"}
    out_dir = tmp_path / "outputs" / "gsm"
    out = assert_samples_fit_their_trees(tmp_path / "trees" / "gsm", out_dir, golds)
    for row, origin in zip(out["shortcut"], out["shortcut.provenance"], strict=True):
        if origin["path_source"] == "reference":  # the model itself may write "<<…>>"
            assert "<<" not in json.dumps(row)  # GSM8K calculator marks never reach the data
    written = {path.name: path.read_bytes() for path in out_dir.glob("*.jsonl")}

    again = run_cli(
        "generate", GSM8K_SAMPLE, "--run", "gsm", "--limit", "2",
        "--width", "3", "--keep", "1", "--depth", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "(reused 2;" in again.stdout and "tokens 0 in 0 calls" in again.stdout
    assert {path.name: path.read_bytes() for path in out_dir.glob("*.jsonl")} == written
