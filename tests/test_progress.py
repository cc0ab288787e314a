"""Progress of commands that call a model: the ETA counted in requests, worked by hand, and
the plain lines `generate` writes when stderr is not a terminal."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hand_cases import fake_run_inputs
from rich.console import Console

from journeygen.backends.fake import FakeBackend
from journeygen.cli import main
from journeygen.cli.eta import RequestEta, format_eta, planned_requests
from journeygen.cli.progress import RequestProgress
from journeygen.config import RunConfig, SearchConfig
from journeygen.runtime import RuntimeOptions, build_stack


def test_eta_before_the_first_unit_uses_the_plan_then_the_finished_units() -> None:
    # 10 trees planned at 7 requests each; 8 are open and have had 40 answers in 20 s
    eta = RequestEta(total=10, prior=7)
    assert eta.per_unit(answered=40, open_units=8) == 7  # the plan beats 40 / 8 = 5 so far
    assert eta.requests_left(answered=40, open_units=8) == 7 * 10 - 40  # 30
    assert eta.seconds_left(answered=40, open_units=8, elapsed=20) == 30 / (40 / 20)  # 15 s

    # two trees finish after 12 and 8 requests: a mean of 10 replaces the plan; 60 answers
    # in 30 s, of which the 8 trees still open have had 60 - 20 = 40
    eta.finish(12)
    eta.finish(8)
    assert eta.per_unit(answered=60, open_units=8) == 10
    assert eta.requests_left(answered=60, open_units=8) == 10 * 8 - 40  # 40
    assert eta.seconds_left(answered=60, open_units=8, elapsed=30) == 40 / 2  # 20 s

    # the open trees are the hard ones: 6 of them have had 90 answers, 15 each, more than
    # the finished mean of 10, so 15 counts for the 6 left
    assert eta.per_unit(answered=110, open_units=6) == 15
    assert eta.requests_left(answered=110, open_units=6) == 15 * 8 - 90  # 30

    # a reused tree asks 3 texts: it leaves the mean alone and is one tree fewer to go
    eta.finish(3, typical=False)
    assert (eta.total, eta.aside) == (9, 3)
    assert eta.requests_left(answered=63, open_units=8) == 10 * 7 - 40  # 30


def test_eta_with_nothing_to_go_on_or_nothing_left() -> None:
    unplanned = RequestEta(total=4)
    assert unplanned.seconds_left(answered=12, open_units=4, elapsed=5) is None
    assert RequestEta(total=4, prior=3).seconds_left(answered=0, open_units=0, elapsed=0) is None
    done = RequestEta(total=1)
    done.finish(5)
    assert done.seconds_left(answered=5, open_units=0, elapsed=2) == 0.0
    assert [format_eta(s) for s in (None, 0.4, 75, 3725.6)] == [
        "-",
        "0:00:00",
        "0:01:15",
        "1:02:06",
    ]


def test_planned_requests_per_strategy() -> None:
    def plan(judges: str = "answer", **search: object) -> float:
        config = RunConfig.model_validate(
            {"search": SearchConfig.model_validate(search), "judges": {"use": judges.split(",")}}
        )
        return planned_requests(config)

    assert plan(width=3, keep=2, depth=3) == 1 + 2 * 2  # the root, then 2 parents a level
    assert plan("answer,llm", width=3, keep=2, depth=3) == 5 * (1 + 3)  # + one per new step
    assert plan(strategy="best_of_n", rollouts=4) == 4
    assert plan(strategy="mcts", simulations=16) == 16
    assert plan(strategy="critique", turns=24) == 48


async def test_progress_shows_an_eta_before_any_tree_is_done(tmp_path: Path) -> None:
    stack = build_stack(
        FakeBackend(["x"]), tmp_path, RuntimeOptions(), backend_name="fake", model=None
    )
    out = io.StringIO()
    progress = RequestProgress(Console(file=out, width=200), "trees")
    progress.start(4, stack, prior=5)
    stack.limits.answered = 6  # two trees open, three answers each, in 3 s
    stack.limits.answered_by.update({"a": 3, "b": 3})
    progress._started = time.monotonic() - 3
    assert progress.seconds_left() == pytest.approx((5 * 4 - 6) / 2, rel=0.01)  # 7 s
    progress.advance("a")  # tree a: its 3 requests now make the mean
    assert progress.eta.finished_requests == 3 and "a" not in stack.limits.answered_by
    assert out.getvalue().startswith("progress  trees 1/4  requests 6  tokens 0  cost $0.0000")
    assert out.getvalue().rstrip().endswith("eta 0:00:03")  # 3 x 3 left - 3 asked = 6, 2/s
    stack.close()


def test_generate_writes_tree_lines_and_progress_lines(tmp_path: Path) -> None:
    problems, script = fake_run_inputs(tmp_path)
    folders = ["--trees-dir", str(tmp_path / "trees"), "--out-dir", str(tmp_path / "out")]
    fake = ["--backend", "fake", "--model", str(script), "--depth", "2"]
    done = CliRunner().invoke(main, ["generate", str(problems), *fake, *folders])
    assert done.exit_code == 0, done.output
    lines = [line for line in done.stderr.splitlines() if not line.startswith("rejected")]
    kinds = [line.split()[0] for line in lines]
    assert kinds == ["complete", "progress", "complete", "progress"]  # one of each per tree
    assert lines[1].startswith("progress  trees 1/2  requests ")
    assert lines[3].startswith("progress  trees 2/2  requests ") and lines[3].endswith(
        "eta 0:00:00"
    )


def test_export_with_a_reflect_backend_writes_progress_lines(tmp_path: Path) -> None:
    problems, script = fake_run_inputs(tmp_path)
    folders = ["--trees-dir", str(tmp_path / "trees"), "--out-dir", str(tmp_path / "out")]
    fake = ["--backend", "fake", "--model", str(script), "--depth", "2"]
    built = CliRunner().invoke(
        main, ["generate", str(problems), *fake, "--reflection-sources", "phrase", *folders]
    )
    assert built.exit_code == 0, built.output
    texts = tmp_path / "texts.json"
    texts.write_text('{"responses": ["I added 3 and 4, not 3 and 5."], "cycle": true}')
    reflect = ["--reflect-backend", "fake", "--reflect-model", str(texts)]
    done = CliRunner().invoke(
        main, ["export", "demo", "--reflection-sources", "llm,phrase", *reflect, *folders]
    )
    assert done.exit_code == 0, done.output
    lines = done.stderr.splitlines()
    assert [line.split("  ")[1] for line in lines] == ["trees 1/2", "trees 2/2"]
    last = dict(pair.split(" ", 1) for pair in lines[-1].split("  ")[1:])
    assert int(last["requests"]) >= 2 and last["eta"] == "0:00:00"  # a reflection a journey
