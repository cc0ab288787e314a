"""Benchmark 8: how long `journeygen` takes to start, command by command.

Times `journeygen --help`, `show` (a run, and one tree), `stats RUN` and `export RUN` as real
subprocesses next to floors measured in the same run: `python -c pass`, `import click,
pydantic`, and that with rich and one pydantic model built (the least a command that reads a
tree and prints it needs). Rows are interleaved, several repeats. The run is built once in a
temporary folder with `journeygen generate` on the scripted fake backend (3 problems). Each
command is also run once under `python -X importtime` for its module count and the packages
whose import code took longest. Run: `.venv/bin/python bench/cli_startup.py [--repeat 15]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBLEMS = [
    {"id": f"p{i}", "question": f"Tom has {i} apples and buys 5 more. How many?", "answer": i + 5}
    for i in range(3)
]
SCRIPT = {
    "responses": ["First I add the numbers.", "The answer is 9.", "The answer is 5.", "So 0 + 5."],
    "cycle": True,
}
# The least a command that reads a tree and prints it with rich can import and build.
ONE_MODEL = (
    "import click, pydantic, rich.console, rich.table\n"
    "class Step(pydantic.BaseModel):\n    text: str"
)
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)")


def journeygen() -> list[str]:
    """The console script a user runs, or `python -m journeygen` when it is not installed."""
    script = shutil.which("journeygen", path=str(Path(sys.executable).parent))
    return [sys.executable, script] if script else [sys.executable, "-m", "journeygen"]


def build_run(folder: Path) -> None:
    """A small run `bench` in `folder` (trees/, outputs/), made by the real CLI."""
    problems, script = folder / "bench.jsonl", folder / "script.json"
    problems.write_text("".join(json.dumps(row) + "\n" for row in PROBLEMS))
    script.write_text(json.dumps(SCRIPT))
    command = [*journeygen(), "generate", str(problems), "--run", "bench", "--backend", "fake"]
    subprocess.run(
        [*command, "--model", str(script), "--width", "2", "--depth", "2"],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def commands() -> dict[str, list[str]]:
    """Each timed command line; the floors first."""
    cli = journeygen()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click, pydantic'": [sys.executable, "-c", "import click, pydantic"],
        "python -c 'import click, rich, pydantic; one model'": [sys.executable, "-c", ONE_MODEL],
        "journeygen --help": [*cli, "--help"],
        "journeygen show bench": [*cli, "show", "bench"],
        "journeygen show bench p0": [*cli, "show", "bench", "p0"],
        "journeygen stats bench": [*cli, "stats", "bench"],
        "journeygen export bench": [*cli, "export", "bench"],
    }


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of `command`, which must succeed.
    On a shared machine CPU time varies much less than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def imports(command: list[str], cwd: Path) -> tuple[int, str]:
    """Modules imported by `command`, and the four packages whose modules took longest to
    run their own import code (`-X importtime` self time, summed by top-level package)."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = [IMPORT_LINE.match(line) for line in done.stderr.splitlines()]
    rows = [match for match in found if match]
    totals: dict[str, int] = {}
    for match in rows:
        package = match.group(2).split(".")[0]
        totals[package] = totals.get(package, 0) + int(match.group(1))
    top = sorted(totals.items(), key=lambda item: -item[1])[:4]
    return len(rows), ", ".join(f"{name} {micros / 1e6:.2f}" for name, micros in top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_run(folder)
        table = commands()
        walls: dict[str, list[float]] = {name: [] for name in table}
        cpus: dict[str, list[float]] = {name: [] for name in table}
        for command in table.values():  # one untimed run each: warm the file cache
            timed(command, folder)
        for _ in range(args.repeat):  # interleaved, so load changes hit every row alike
            for name, command in table.items():
                wall, cpu = timed(command, folder)
                walls[name].append(wall)
                cpus[name].append(cpu)
        floor = statistics.median(walls["python -c 'import click, pydantic'"])
        load = os.getloadavg()[0]
        print(f"{args.repeat} runs each, {os.cpu_count()} CPUs, load average {load:.1f}")
        print(
            "| command | median s | min s | max s | vs click+pydantic | CPU s (median) "
            "| modules | slowest, self s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, command in table.items():
            count, top = imports(command, folder)
            runs, median = walls[name], statistics.median(walls[name])
            print(
                f"| `{name}` | {median:.3f} | {min(runs):.3f} | {max(runs):.3f} | "
                f"{median / floor:.2f}x | {statistics.median(cpus[name]):.3f} | {count} | {top} |"
            )


if __name__ == "__main__":
    main()
