"""`journeygen export --workers N`: worker processes make the lines and the files are the same
bytes for any number of them, whichever way the workers start; a bad tree stops the export
with its path and leaves the last complete files in place."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import journeygen

from journeygen.derive.samples import SampleSettings
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.export import ExportKind, Options
from journeygen.export.parallel import TREES_PER_WORKER, _context, auto_workers, export_run_trees
from journeygen.prompts import load_prompts
from journeygen.store import RunStore

PROBLEMS = 24
# Cycled by the fake backend: wrong steps, wrong and right answers, so trees have detours
RESPONSES = [
    "First add 3 and 5 to get 8.",
    "The answer is 9.",
    "Then 8 minus 1 is 7.",
    "So 3 + 5 = 8. The answer is 8.",
    "The answer is 7.",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run `many`: 24 fake-backend trees with wrong branches, built by `generate`."""
    cwd = tmp_path_factory.mktemp("export-workers")
    rows = (
        {"id": f"p{i:02d}", "question": f"Tom has 3 apples and buys 5 more ({i}).", "answer": "8"}
        for i in range(PROBLEMS)
    )
    (cwd / "many.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (cwd / "script.json").write_text(json.dumps({"responses": RESPONSES, "cycle": True}))
    args = ("--backend", "fake", "--model", "script.json", "--width", "3", "--depth", "3")
    done = journeygen("generate", "many.jsonl", *args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.*"))}


@pytest.mark.parametrize("fmt", ["openai", "trl"])  # provenance in a side file; in a column
def test_any_number_of_workers_writes_the_same_bytes(run_dir: Path, fmt: str) -> None:
    written = {}
    for workers in ("1", "3"):
        out = f"out-{fmt}-{workers}"
        done = journeygen(
            "export", "many", "--format", fmt, "--workers", workers, "--out-dir", out, cwd=run_dir
        )
        assert done.returncode == 0, done.stderr
        written[workers] = (files_under(run_dir / out), done.stdout.replace(out, "OUT"))
    files, stdout = written["1"]
    assert written["3"] == written["1"]
    journeys = files["many/journey.jsonl" if fmt == "openai" else "many/trl/journey.jsonl"]
    rows = [json.loads(line) for line in journeys.splitlines()]
    assert rows and f"journey: {len(rows)} rows" in stdout
    assert len({json.dumps(row) for row in rows}) == len(rows)  # 24 problems, no row twice


@pytest.fixture
def second_thread() -> Iterator[None]:
    """A thread alive beside the test's, as a backend's can be: forking is then unsafe."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait)
    thread.start()
    yield
    done.set()
    thread.join()


def export_in_process(run_dir: Path, out: Path, workers: int) -> dict[str, bytes]:
    store = RunStore(run_dir / "trees", "many")
    kinds: tuple[ExportKind, ...] = ("journey", "shortcut")
    targets = {kind: out / f"{kind}.jsonl" for kind in kinds}
    counts = export_run_trees(
        store,
        store.read_manifest().problems,
        targets,
        fmt="openai",
        options=Options(),
        prompts=load_prompts(),
        settings=SampleSettings(texts=TextCache(store.dir / TEXTS_FILE)),
        workers=workers,
    )
    assert counts["journey"] > 0 and counts["shortcut"] > 0
    return files_under(out)


@pytest.mark.usefixtures("second_thread")
def test_workers_spawned_beside_a_thread_write_the_same_bytes(
    run_dir: Path, tmp_path: Path
) -> None:
    assert _context().get_start_method() == "spawn"
    alone = export_in_process(run_dir, tmp_path / "one", workers=1)
    assert export_in_process(run_dir, tmp_path / "two", workers=2) == alone


def test_a_broken_tree_stops_the_export_and_keeps_the_last_files(
    run_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(run_dir / "trees", tmp_path / "trees")
    first = journeygen("export", "many", "--workers", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = files_under(tmp_path / "outputs")
    broken = tmp_path / "trees" / "many" / "p17.json"  # a worker's tree, not the first
    broken.write_text('{"schema_version": 1, "problem": {"id": "p17"}}')

    again = journeygen("export", "many", "--workers", "2", cwd=tmp_path)
    assert again.returncode == 1
    assert f"{broken.relative_to(tmp_path)}: not a valid tree" in again.stderr
    assert "Traceback" not in again.stderr
    assert files_under(tmp_path / "outputs") == before  # no file replaced, no temp file left


def children_file(pid: int) -> Path:
    """Where Linux lists the live child processes of `pid`."""
    return Path(f"/proc/{pid}/task/{pid}/children")


def children(pid: int) -> list[int]:
    found = children_file(pid)
    return [int(child) for child in found.read_text().split()] if found.exists() else []


@pytest.mark.skipif(
    not children_file(os.getpid()).exists(), reason="needs /proc/PID/task/PID/children (Linux)"
)
def test_ctrl_c_ends_the_workers_even_one_stuck_on_a_read(run_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(run_dir / "trees", tmp_path / "trees")
    first = journeygen("export", "many", "--workers", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = files_under(tmp_path / "outputs")
    stuck = tmp_path / "trees" / "many" / "p05.json"
    stuck.unlink()
    os.mkfifo(stuck)  # its reader waits for a writer that never comes, as on a hung disk

    command = [sys.executable, "-m", "journeygen", "export", "many", "--workers", "2"]
    export = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(workers := children(export.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2, "the export started no workers"
    time.sleep(0.5)  # every tree but the stuck one is done; one worker waits on the pipe
    export.send_signal(signal.SIGINT)
    _, stderr = export.communicate(timeout=30)

    assert export.returncode != 0 and "Aborted!" in stderr and "Traceback" not in stderr
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert files_under(tmp_path / "outputs") == before  # no file replaced, no temp file left


def test_workers_by_default_one_per_core_and_500_trees() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert auto_workers(0) == auto_workers(2 * TREES_PER_WORKER - 1) == 1
    assert auto_workers(2 * TREES_PER_WORKER) == min(2, cores or 1)
    assert auto_workers(10**9) == cores
