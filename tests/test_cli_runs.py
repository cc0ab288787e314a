"""Commands about runs that may not exist: `export` of an unknown run makes nothing, and
`show` with no RUN lists the runs in the trees folder (or says how to make one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hand_cases import fake_run_inputs

from journeygen.cli import main


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def everything_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--format", "trl"),
        ("--format", "llamafactory", "--think", "stratos"),
        ("--kind", "journey", "-o", "sub/rows.jsonl"),
    ],
)
def test_export_of_an_unknown_run_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "nosuchrun", *args)
    assert result.exit_code == 1
    assert "no run at" in result.stderr and "nosuchrun" in result.stderr
    assert everything_under(tmp_path) == []


@pytest.fixture
def two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`demo` (2 trees) and `one` (1 tree) built with the fake backend, plus a folder that is
    no run; the working folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    problems, script = fake_run_inputs(tmp_path)
    fake = ("--backend", "fake", "--model", script, "--width", "2", "--depth", "2")
    for extra in ((), ("--run", "one", "--limit", "1")):
        result = invoke("generate", problems, *fake, *extra)
        assert result.exit_code == 0, result.output
    (tmp_path / "trees" / "stray").mkdir()
    return tmp_path


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of a rich table as printed (no terminal: plain box characters), by first cell."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def test_show_without_a_run_lists_the_runs(two_runs: Path) -> None:
    (two_runs / "trees" / "demo" / "pens.json").unlink()  # counted from the disk, not the log
    result = invoke("show")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert list(rows) == ["demo", "one"]
    assert rows["demo"][:2] == ["1", "complete 2"]
    assert rows["one"][:2] == ["1", "complete 1"]
    assert rows["one"][2].startswith("20")  # a date, YYYY-MM-DD HH:MM
    assert "stray" not in result.stdout


def test_show_lists_a_broken_manifest_instead_of_failing(two_runs: Path) -> None:
    (two_runs / "trees" / "one" / "manifest.json").write_text("{not json")
    result = invoke("show")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows["one"][:2] == ["?", "unreadable manifest.json"]
    assert rows["demo"][0] == "2"


@pytest.mark.parametrize("make_folder", [False, True])
def test_show_without_runs_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_folder: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    if make_folder:
        (tmp_path / "trees" / "stray").mkdir(parents=True)
    result = invoke("show")
    assert result.exit_code == 0, result.output
    assert "No runs in trees/" in result.stdout
    assert "journeygen generate PROBLEMS.jsonl" in result.stdout
