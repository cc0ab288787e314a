"""Benchmark 3: peak memory of a whole `generate` run as the number of problems grows.

Each run is its own subprocess (`journeygen generate` on the scripted fake backend: no model,
so the figure is the runtime's own memory), and its peak RSS comes from `os.wait4`, for that
child alone. Problems are streamed and only the trees in flight are held, so 10,000 problems
should need the same memory as 1,000.

Run: `.venv/bin/python bench/memory_scale.py [--sizes 1000,10000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = {
    "responses": [
        "First add 3 and 5 to get 8.",
        "The answer is 9.",
        "So 3 + 5 = 8. The answer is 8.",
        "The answer is 7.",
    ],
    "cycle": True,
}


def run(folder: Path, count: int) -> tuple[float, float]:
    """Peak RSS in MiB and wall seconds of one `generate` run over `count` problems."""
    problems = folder / f"p{count}.jsonl"
    with problems.open("w") as handle:
        for i in range(count):
            row = {
                "id": f"p{i}",
                "question": f"Tom has 3 apples and buys 5 more. Problem {i}: how many?",
                "answer": "8",
                "solution": "3 + 5 = 8.\nThe answer is 8.",
            }
            handle.write(json.dumps(row) + "\n")
    script = folder / "script.json"
    script.write_text(json.dumps(SCRIPT))
    command = [
        sys.executable, "-m", "journeygen", "generate", str(problems),
        "--backend", "fake", "--model", str(script), "--width", "2", "--depth", "2",
        "--concurrency", "8", "--trees-dir", str(folder / "trees"),
        "--out-dir", str(folder / "outputs"),
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"generate failed ({child.returncode}) on {count} problems")
    written = len(list((folder / "trees" / problems.stem).glob("p*.json")))
    assert written == count, f"{written} trees for {count} problems"
    return usage.ru_maxrss / 1024, time.perf_counter() - started  # Linux: ru_maxrss in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="numbers of problems")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            folder = Path(tmp) / str(count)
            folder.mkdir()
            rows.append((count, *run(folder, count)))
    base = rows[0][1]
    print("| problems | peak RSS (MiB) | vs first | wall (s) | trees/s |")
    print("|---:|---:|---:|---:|---:|")
    for count, rss, wall in rows:
        print(f"| {count} | {rss:.1f} | {rss / base:.2f}x | {wall:.1f} | {count / wall:.0f} |")


if __name__ == "__main__":
    main()
