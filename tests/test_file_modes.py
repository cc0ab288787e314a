"""Files journeygen writes get the mode a plain `open(path, "w")` gives: 0666 less the umask
for a new file, the old mode for a file written again (atomic writes used to force 0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hand_cases import fake_run_inputs

from journeygen.store import atomic_open


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_077() -> Iterator[None]:
    """Run the test under umask 077 and put the old umask back after it."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o027, 0o640)])
def test_run_files_follow_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    problems, script = fake_run_inputs(tmp_path)
    for args in (
        ("generate", problems, "--backend", "fake", "--model", script, "--width", "2"),
        ("export", "demo", "--format", "trl"),
        ("view", "demo", "-o", "report.html"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "journeygen", *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            umask=umask,
        )
        assert done.returncode == 0, done.stderr
    written = [
        tmp_path / "trees" / "demo" / "apples.json",
        tmp_path / "trees" / "demo" / "manifest.json",
        tmp_path / "trees" / "demo" / "cache.sqlite",
        tmp_path / "outputs" / "demo" / "journey.jsonl",
        tmp_path / "outputs" / "demo" / "journey.provenance.jsonl",
        tmp_path / "outputs" / "demo" / "rejects.jsonl",
        tmp_path / "outputs" / "demo" / "trl" / "shortcut.jsonl",
        tmp_path / "report.html",
    ]
    assert {path.name: oct(mode(path)) for path in written} == {
        path.name: oct(expected) for path in written
    }
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp")]
    assert leftovers == []


@pytest.mark.usefixtures("umask_077")
def test_a_file_written_again_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out" / "rows.jsonl"
    with atomic_open(path) as handle:
        handle.write("one\n")
    assert mode(path) == 0o600
    path.chmod(0o640)
    with atomic_open(path) as handle:
        handle.write("two\n")
    assert path.read_text() == "two\n"
    assert mode(path) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as handle:
        handle.write("half")
        raise RuntimeError("stop")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]
