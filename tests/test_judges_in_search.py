"""Configured judges run on every new step while the tree grows; `--judges` picks them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from journeygen.backends.fake import FakeBackend
from journeygen.cli import main
from journeygen.config import JudgeConfig, RunConfig, SearchConfig
from journeygen.judges.base import make_judges
from journeygen.models import Problem
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

PROBLEM = Problem(
    id="clips", question="48 clips in April, half as many in May. Total?", answer="72"
)


async def test_an_inner_step_with_a_wrong_claim_is_wrong_and_ranked_out_of_the_beam() -> None:
    config = RunConfig(
        search=SearchConfig(width=2, keep=1, depth=2),
        judges=JudgeConfig(use=["answer", "arithmetic"]),
    )
    backend = FakeBackend(
        [
            "In May she sold 48 / 2 = 25 clips.",  # the first sample: a slip
            "In May she sold 48 / 2 = 24 clips.",
            "Altogether 48 + 24 = 72. The answer is 72.",
            "The answer is 70.",
        ]
    )
    tree = await search(PROBLEM, backend, make_judges(config), config, load_prompts())
    slip = tree.node("1")
    assert slip.label == "incorrect"
    assert [(v.judge, v.reason) for v in slip.verdicts] == [("arithmetic", "48 / 2 is 24, not 25")]
    assert tree.children("1") == []  # keep=1: the beam took the step that checks out
    assert [n.id for n in tree.children("2")] == ["2.1", "2.2"]
    assert tree.node("2.1").label == "correct"
    checked = [v for v in tree.node("2").verdicts if v.judge == "arithmetic"]
    assert [(v.label, v.reason) for v in checked] == [("unknown", "checked 48 / 2 = 24")]


def test_generate_judges_flag_goes_into_the_tree_config(tmp_path: Path) -> None:
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        json.dumps({"id": "clips", **PROBLEM.model_dump(include={"question", "answer"})}) + "\n"
    )
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps({"responses": ["So 48 + 24 = 70. The answer is 70."], "cycle": True})
    )
    args = ["generate", str(problems), "--backend", "fake", "--model", str(script), "--width", "1",
            "--depth", "1", "--judges", "arithmetic,answer", "--trees-dir", str(tmp_path / "t"),
            "--out-dir", str(tmp_path / "o")]  # fmt: skip
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    tree = json.loads((tmp_path / "t" / "p" / "clips.json").read_text())
    assert tree["config"]["judges"]["use"] == ["arithmetic", "answer"]
    (leaf,) = tree["nodes"]
    assert [v["judge"] for v in leaf["verdicts"]] == ["arithmetic", "answer"]
    assert leaf["verdicts"][0]["reason"] == "48 + 24 is 72, not 70"
    bad = CliRunner().invoke(main, [*args[:-4], "--judges", "answer,oracle"])
    assert bad.exit_code == 2 and "unknown judge 'oracle'" in bad.output
