"""The whole pipeline on real parts: the embedded model, a real llama.cpp server, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from journeygen.backends import LocalBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.judges import AnswerJudge
from journeygen.models import Problem
from journeygen.prompts import load_prompts
from journeygen.search import search
from journeygen.store import RunStore

EXAMPLES = Path(__file__).parent.parent / "examples"
GSM8K_SAMPLE = Path(__file__).parent / "data" / "gsm8k_sample.jsonl"


def run_cli(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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

    assert tree.status == "complete"
    assert 0 < len(tree.nodes) <= 3 + 3
    assert tree.stats.usage.calls == 6 and tree.stats.usage.completion_tokens > 0
    leaves = [n for n in tree.nodes if n.terminal]
    assert leaves, "the last level must close every kept path"
    for leaf in leaves:  # every finished step is judged against the gold answer, with a reason
        answer_verdicts = [v for v in leaf.verdicts if v.judge == "answer"]
        assert len(answer_verdicts) == 1
        assert answer_verdicts[0].label in ("correct", "incorrect")
        assert (
            "gold answer 8" in answer_verdicts[0].reason
            or "no final answer" in answer_verdicts[0].reason
        )
    assert all(n.text.strip() and "\n" not in n.text for n in tree.nodes)
    store = RunStore(tmp_path, "demo")
    store.save_tree(tree)
    assert store.load_tree("apples") == tree


def assert_journeys_are_whole(run_out: Path, golds: dict[str, str]) -> None:
    """Each journey row: a wrong step, a reflection and a backtrack before the final
    solution, which ends with the gold answer; provenance names the nodes used."""
    journeys = rows(run_out / "journey.jsonl")
    provenance = rows(run_out / "journey.provenance.jsonl")
    assert len(journeys) == len(provenance) >= 1
    phrases = load_prompts().phrases
    reflections = [
        p.split("{")[0] for key in phrases if key.startswith("reflection") for p in phrases[key]
    ]
    backtracks = [
        p.split("{")[0] for key in ("backtrack_step", "backtrack_start") for p in phrases[key]
    ]
    for row, origin in zip(journeys, provenance, strict=True):
        messages = row["messages"]
        assert isinstance(messages, list)
        content = messages[-1]["content"]
        thought, solution = content.removeprefix("<think>\n").split("\n</think>\n\n")
        assert any(r in thought for r in reflections), thought
        assert any(b in thought for b in backtracks), thought
        assert solution.endswith(f"$\\boxed{{{golds[str(origin['problem_id'])]}}}$.")
        assert isinstance(origin["node_ids"], list) and len(origin["node_ids"]) >= 3


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
    assert_journeys_are_whole(tmp_path / "outputs" / "srv", golds)
    trees = [json.loads(p.read_text()) for p in (tmp_path / "trees" / "srv").glob("[!m]*.json")]
    assert len(trees) == 2
    assert all(t["stats"]["usage"]["calls"] == 6 for t in trees)


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
    assert_journeys_are_whole(tmp_path / "outputs" / "gsm", golds)
    shortcuts = rows(tmp_path / "outputs" / "gsm" / "shortcut.jsonl")
    assert len(shortcuts) == 2  # the model's own correct path or the reference solution
    for row in shortcuts:
        assert "<<" not in json.dumps(row)  # GSM8K calculator marks never reach the data
