"""Start-up of the command line: subcommands are imported only when they run, so `--help`
and the commands that read a saved run load no SDK, llama.cpp, math-verify or sympy. Timing
is for `bench/cli_startup.py`; these tests check what was imported, which does not vary."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hand_cases import fake_run_inputs

from journeygen.cli import COMMANDS, main

HEAVY = ("math_verify", "sympy", "openai", "anthropic", "llama_cpp")
# Runs `journeygen ARGS` (sys.argv[1:]) and, on the way out, prints which packages it loaded
# and the state of the cyclic garbage collector (on? how many objects frozen?).
PROBE = """
import atexit, gc, json, sys

def report():
    packages = sorted({name.split(".")[0] for name in sys.modules})
    print("LOADED " + json.dumps(packages), file=sys.stderr)
    print("GC " + json.dumps([gc.isenabled(), gc.get_freeze_count()]), file=sys.stderr)

atexit.register(report)
from journeygen.cli import main
main()
"""


def probe(*args: str, cwd: Path) -> dict[str, Any]:
    """What `journeygen ARGS`, run in a fresh interpreter, reported on its way out."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line.partition(" ") for line in done.stderr.splitlines()]
    return {key: json.loads(value) for key, _, value in lines if key in ("LOADED", "GC")}


def loaded(*args: str, cwd: Path) -> set[str]:
    """Top-level packages imported by `journeygen ARGS` run in a fresh interpreter."""
    return set(probe(*args, cwd=cwd)["LOADED"])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the run `demo` (two trees), built with the scripted fake backend."""
    cwd = tmp_path_factory.mktemp("cli-startup")
    problems, script = fake_run_inputs(cwd)
    args = ["generate", str(problems), "--backend", "fake", "--model", str(script)]
    result = CliRunner().invoke(main, [*args, "--trees-dir", str(cwd / "trees"),
                                       "--out-dir", str(cwd / "outputs")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return cwd


def test_help_loads_no_command_module_and_no_pydantic(tmp_path: Path) -> None:
    packages = loaded("--help", cwd=tmp_path)
    assert not packages & {*HEAVY, "pydantic", "rich", "yaml", "networkx"}


@pytest.mark.parametrize(
    "args",
    [
        ("show", "demo"),
        ("show", "demo", "apples"),
        ("stats", "demo"),
        ("export", "demo"),
        # the modules that search and judge: SDKs, the model and math-verify wait for a run
        ("generate", "--help"),
        ("eval-judge", "--help"),
        ("import", "prm800k", "--help"),
    ],
)
def test_commands_load_no_sdk_model_or_math_verify_they_do_not_use(
    run_dir: Path, args: tuple[str, ...]
) -> None:
    assert not loaded(*args, cwd=run_dir) & set(HEAVY)


def test_a_command_runs_with_its_imports_frozen_and_the_collector_back_on(run_dir: Path) -> None:
    """The command's module is imported with the collector paused and then frozen; a collector
    left off would let a long `generate` grow without bound."""
    enabled, frozen = probe("show", "demo", cwd=run_dir)["GC"]
    assert enabled and frozen > 10_000  # the modules, classes and functions of ~300 modules


def test_a_collector_switched_off_by_the_caller_stays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "journeygen.cli.graph", raising=False)  # imported anew
    gc.disable()
    try:
        assert main.get_command(click.Context(main), "graph") is not None
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_help_lists_every_command_with_its_short_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = " ".join(result.output.split("Commands:")[1].split())  # whatever the wrapping
    assert listed == " ".join(f"{name} {short}" for name, (_, short) in COMMANDS.items())


def test_each_name_loads_the_command_of_that_name() -> None:
    context = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert isinstance(command, click.Command) and command.name == name
    assert main.get_command(context, "nope") is None
    result = CliRunner().invoke(main, ["nope"])
    assert result.exit_code == 2 and "No such command 'nope'" in result.output
