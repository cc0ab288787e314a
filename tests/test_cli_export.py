"""`journeygen export` as a subprocess on a fake-backend run: every format and kind, the
same bytes every time, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hand_cases import fake_run_inputs
from test_cli import journeygen

from journeygen.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the run `demo`, built once with the scripted fake backend."""
    cwd = tmp_path_factory.mktemp("cli-export")
    problems, script = fake_run_inputs(cwd)
    args = ("--backend", "fake", "--model", script, "--width", "2", "--depth", "2")
    done = journeygen("generate", problems, *args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    for name in ("journey.jsonl", "journey.provenance.jsonl"):  # before any export rewrites them
        (cwd / f"generated-{name}").write_bytes((cwd / "outputs" / "demo" / name).read_bytes())
    return cwd


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("args", "written"),
    [
        ((), ["journey.jsonl", "shortcut.jsonl"]),
        (("--format", "trl", "--kind", "dpo"), ["trl/dpo.jsonl"]),
        (("--format", "trl", "--kind", "prm"), ["trl/prm.jsonl"]),
        (
            ("--format", "llamafactory", "--think", "stratos"),
            [
                "llamafactory/journey-stratos.jsonl",
                "llamafactory/shortcut-stratos.jsonl",
                "llamafactory/dataset_info.json",
            ],
        ),
    ],
)
def test_export_twice_gives_the_same_bytes(
    run_dir: Path, args: tuple[str, ...], written: list[str]
) -> None:
    out = run_dir / "outputs" / "demo"
    first = journeygen("export", "demo", *args, cwd=run_dir)
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in written}
    assert all(before.values()), f"empty export for {args}"
    again = journeygen("export", "demo", *args, cwd=run_dir)
    assert again.returncode == 0, again.stderr
    assert {name: (out / name).read_bytes() for name in written} == before
    assert first.stdout == again.stdout


def test_default_export_is_what_generate_wrote(run_dir: Path) -> None:
    out = run_dir / "outputs" / "demo"
    done = journeygen("export", "demo", cwd=run_dir)
    assert done.returncode == 0, done.stderr
    for name in ("journey.jsonl", "journey.provenance.jsonl"):
        assert (out / name).read_bytes() == (run_dir / f"generated-{name}").read_bytes()
    assert "messages" in lines(out / "journey.jsonl")[0]


def test_dpo_and_prm_rows_trace_back_to_their_trees(run_dir: Path) -> None:
    target = run_dir / "pairs.jsonl"
    done = journeygen(
        "export", "demo", "--format", "trl", "--kind", "dpo", "-o", target, cwd=run_dir
    )
    assert done.returncode == 0, done.stderr
    trees = {
        name: json.loads((run_dir / "trees" / "demo" / f"{name}.json").read_text())
        for name in ("apples", "pens")
    }
    for row in lines(target):
        meta = row["metadata"]
        assert isinstance(meta, dict)
        labels = {n["id"]: n["label"] for n in trees[meta["problem_id"]]["nodes"]}
        assert labels[meta["chosen_id"]] == "correct"
        assert labels[meta["rejected_id"]] == "incorrect"
        assert all(labels[i] == "correct" for i in meta["node_ids"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "prm"), "openai has no per-step label format"),
        (("--format", "trl", "--kind", "dpo", "--think", "plain"), "--think applies"),
        (("--prompt-completion",), "--prompt-completion applies"),
        (("--format", "trl", "-o", "x.jsonl"), "-o/--output needs --kind"),
    ],
)
def test_refusals_name_the_option(run_dir: Path, args: tuple[str, ...], message: str) -> None:
    """In process (refusals come before any file is read, so a subprocess adds nothing)."""
    trees = str(run_dir / "trees")
    result = CliRunner().invoke(main, ["export", "demo", "--trees-dir", trees, *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (run_dir / "x.jsonl").exists()
