"""Episodes end to end on scripted fakes: `generate` with critique or dialogue writes
episode.jsonl beside journeys and shortcuts (the model's own reflections, in order), `stats`
counts whose words they are, and `export` writes them in any format; other strategies write
no episode file."""

from __future__ import annotations

import json
from pathlib import Path

from agent_cases import PROBLEM, act
from click.testing import CliRunner, Result

from journeygen.cli import main

STEPS_AND_ACTIONS = [
    "Tom starts with 3 apples.",
    act("Right so far.", "continue"),
    "He buys 5 more, so 3 + 4 = 7.",
    act("I added 4 apples, but Tom buys 5.", "backtrack to step 1"),
    "He buys 5 more, so 3 + 5 = 8.",
    act("Right so far.", "continue"),
    "The answer is 8.",
    act("That is the total.", "terminate"),
]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def write(tmp_path: Path, name: str, replies: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(replies))
    return path


def generate(tmp_path: Path, *args: str | Path) -> Result:
    problems = tmp_path / "problems.jsonl"
    problems.write_text(json.dumps(PROBLEM.model_dump(exclude={"meta"})) + "\n")
    folders = ("--trees-dir", tmp_path / "trees", "--out-dir", tmp_path / "out")
    return invoke("generate", problems, "--run", "r", "--backend", "fake", *folders, *args)


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_critique_writes_the_episode_beside_journeys_and_shortcuts(tmp_path: Path) -> None:
    script = write(tmp_path, "script.json", STEPS_AND_ACTIONS)
    done = generate(tmp_path, "--model", script, "--strategy", "critique")
    assert done.exit_code == 0, done.output
    assert "episodes 1 · " in done.output
    assert "journey.jsonl, shortcut.jsonl and episode.jsonl" in done.output
    out = tmp_path / "out" / "r"
    (row,) = rows(out / "episode.jsonl")
    thought = row["messages"][-1]["content"]  # type: ignore[index]
    wrong = thought.index("3 + 4 = 7")
    said = thought.index("I added 4 apples, but Tom buys 5.")
    assert wrong < said < thought.index("3 + 5 = 8")  # in the order it happened
    (provenance,) = rows(out / "episode.provenance.jsonl")
    assert provenance["kind"] == "episode" and provenance["path_source"] == "policy"

    stats = invoke(
        "stats", "r", "--trees-dir", tmp_path / "trees", "--out-dir", tmp_path / "out", "--json"
    )
    assert stats.exit_code == 0, stats.output
    figures = json.loads(stats.output)
    assert figures["episodes"] == 1
    assert figures["episode_reflection_sources"] == {"self": 1}

    exported = invoke(
        "export", "r", "--format", "trl", "--kind", "episode", "--trees-dir", tmp_path / "trees",
        "--out-dir", tmp_path / "out",
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert "episode: 1 rows" in exported.output
    again = invoke("export", "r", "--trees-dir", tmp_path / "trees", "--out-dir", tmp_path / "o2")
    assert again.exit_code == 0, again.output
    assert "episode: 1 rows" in again.output  # by default too, for a critique run
    assert (tmp_path / "o2" / "r" / "episode.jsonl").read_bytes() == (
        out / "episode.jsonl"
    ).read_bytes()


def test_dialogue_with_a_critic_model_of_its_own(tmp_path: Path) -> None:
    steps = [reply for reply in STEPS_AND_ACTIONS[::2] if not reply.startswith("The answer")]
    policy = write(tmp_path, "policy.json", [*steps, "So he has 8 apples. The answer is 8."])
    critic = write(
        tmp_path, "critic.json", [STEPS_AND_ACTIONS[1], STEPS_AND_ACTIONS[3], STEPS_AND_ACTIONS[5]]
    )
    done = generate(
        tmp_path, "--model", policy, "--strategy", "dialogue", "--critic-backend", "fake",
        "--critic-model", critic,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (tmp_path / "trees" / "r" / "critic-cache.sqlite").is_file()
    (row,) = rows(tmp_path / "out" / "r" / "episode.jsonl")
    assert "I added 4 apples, but Tom buys 5." in row["messages"][-1]["content"]  # type: ignore[index]
    stats = invoke("stats", "r", "--trees-dir", tmp_path / "trees", "--out-dir", tmp_path / "out")
    assert stats.exit_code == 0 and "in episodes" in stats.output


def test_a_critic_model_needs_the_dialogue_strategy(tmp_path: Path) -> None:
    done = generate(tmp_path, "--critic-model", "big")
    assert done.exit_code != 0
    assert "critic agent of the dialogue strategy, not of 'beam'" in done.output


def test_beam_writes_no_episode_file(tmp_path: Path) -> None:
    done = generate(tmp_path, "--depth", "1", "--width", "1")
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "out" / "r" / "episode.jsonl").exists()
    assert "episodes" not in done.output
    exported = invoke(
        "export", "r", "--trees-dir", tmp_path / "trees", "--out-dir", tmp_path / "out"
    )
    assert exported.exit_code == 0 and "episode:" not in exported.output
