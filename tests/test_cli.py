"""The command line, run as a real subprocess on a scripted fake backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hand_cases import fake_run_inputs


def journeygen(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generate_export_show(tmp_path: Path) -> None:
    problems, script = fake_run_inputs(tmp_path)
    args = (
        "generate",
        problems,
        "--backend",
        "fake",
        "--model",
        script,
        "--width",
        "2",
        "--depth",
        "2",
    )
    done = journeygen(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "demo.jsonl:2:" in done.stderr and "invalid JSON" in done.stderr
    assert "problems 2 · trees 2" in done.stdout
    assert "rejects 1" in done.stdout

    run_out = tmp_path / "outputs" / "demo"
    rejects = [json.loads(line) for line in (run_out / "rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2]
    assert sorted(p.name for p in (tmp_path / "trees" / "demo").iterdir()) == [
        ".lock",  # the run's lock file: held while a process writes the run
        "apples.json",
        "cache.sqlite",
        "manifest.json",
        "pens.json",
    ]
    journeys = [json.loads(line) for line in (run_out / "journey.jsonl").read_text().splitlines()]
    shortcuts = [json.loads(line) for line in (run_out / "shortcut.jsonl").read_text().splitlines()]
    assert len(journeys) == 2 and len(shortcuts) == 2
    for row in journeys:
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        thought = assistant["content"].split("</think>")[0]
        assert thought.startswith("<think>\n")
        assert "The answer is 9." in thought or "The answer is 7." in thought
        assert assistant["content"].endswith("$\\boxed{8}$.")

    first_journeys = (run_out / "journey.jsonl").read_bytes()
    again = journeygen(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "reused 2" in again.stdout
    assert "tokens 0 in 0 calls" in again.stdout
    assert (run_out / "journey.jsonl").read_bytes() == first_journeys

    exported = tmp_path / "again.jsonl"
    done = journeygen("export", "demo", "--kind", "journey", "-o", exported, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert exported.read_bytes() == (run_out / "journey.jsonl").read_bytes()

    shown = journeygen("show", "demo", "apples", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "✗" in shown.stdout and "✓" in shown.stdout
    assert "why: final answer 9 does not match the gold answer 8" in shown.stdout
    listing = journeygen("show", "demo", cwd=tmp_path)
    assert "apples" in listing.stdout and "pens" in listing.stdout


def test_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    done = journeygen("export", "nothing-here", cwd=tmp_path)
    assert done.returncode != 0
    assert "no run at" in done.stderr and "nothing-here" in done.stderr


def test_unsafe_run_name_is_refused(tmp_path: Path) -> None:
    problems, script = fake_run_inputs(tmp_path)
    done = journeygen(
        "generate",
        problems,
        "--run",
        "../escape",
        "--backend",
        "fake",
        "--model",
        script,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "run name" in done.stderr
    assert not (tmp_path.parent / "escape").exists()


def test_a_rerun_with_other_tree_settings_stops_and_the_same_one_resumes(tmp_path: Path) -> None:
    problems, script = fake_run_inputs(tmp_path)
    args = ("generate", problems, "--backend", "fake", "--model", script, "--depth", "2")
    first = journeygen(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "resuming" not in first.stderr  # a new run
    trees = tmp_path / "trees" / "demo"
    before = {p.name: p.read_bytes() for p in trees.iterdir()}

    changed = journeygen(*args, "--strategy", "best_of_n", "--width", "3", cwd=tmp_path)
    assert changed.returncode == 1
    message = changed.stderr
    assert "run 'demo' was built with other settings" in message
    assert "search.strategy: beam → best_of_n" in message and "search.width: 4 → 3" in message
    assert "--fresh" in message and "--run NAME" in message
    assert {p.name: p.read_bytes() for p in trees.iterdir()} == before  # nothing touched

    # journey knobs change exports, not trees: that is the same run, resumed
    again = journeygen(*args, "--detours", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming: 2 of 2 trees saved" in again.stderr
    assert "reused 2" in again.stdout

    fresh = journeygen(*args, "--strategy", "best_of_n", "--fresh", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads((trees / "apples.json").read_text())["strategy"] == "best_of_n"


def test_one_writer_per_run_and_a_killed_holder_leaves_the_run_usable(tmp_path: Path) -> None:
    problems, script = fake_run_inputs(tmp_path)
    args = ("generate", problems, "--backend", "fake", "--model", script, "--depth", "2")
    assert journeygen(*args, cwd=tmp_path).returncode == 0
    trees = tmp_path / "trees" / "demo"
    before = {p.name: p.read_bytes() for p in trees.iterdir() if p.name != ".lock"}
    # another process holds the run's lock (as a running `generate` does) …
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from journeygen.store import RunLock, RunStore\n"
            "with RunLock(RunStore(sys.argv[1], 'demo'), 'generate'):\n"
            "    print('held', flush=True); time.sleep(60)\n",
            str(tmp_path / "trees"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        for second in (args, ("export", "demo")):
            busy = journeygen(*second, cwd=tmp_path)
            assert busy.returncode == 1
            assert f"run 'demo' is in use by pid {holder.pid} (generate, started " in busy.stderr
        # readers work during a run
        shown = journeygen("show", "demo", cwd=tmp_path)
        assert shown.returncode == 0 and "apples" in shown.stdout
        assert {p.name: p.read_bytes() for p in trees.iterdir() if p.name != ".lock"} == before
    finally:
        holder.kill()  # … and dies without letting go: the OS releases the lock
        holder.communicate()
    again = journeygen(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming: 2 of 2 trees saved" in again.stderr
