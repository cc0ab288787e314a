"""Benchmark: size and load time of the offline HTML report (`journeygen view`) for 10 and
100 trees built by `generate` on the scripted fake backend (default search: width 4, keep 2,
depth 4), opened by headless Chromium.

For each run we time `journeygen view` (build), the file size, and Chromium loading the
report (`--dump-dom` after the page's own script finished, wall time of the whole process),
next to Chromium loading an empty page in the same way (the browser's own start-up cost).
The page also records its own time from script start to the first tree drawn
(`data-render-ms` on <body>). Since the tree is fitted to its pane, that time includes the
page's first layout (reading the pane's width forces it; before, it came after the script
and was not counted). Run: `.venv/bin/python bench/view_report.py [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# Steps of realistic length; the fake backend cycles through them, so every tree has correct
# and wrong branches (final answers 8, 9, 7) and journeys.
SCRIPT = {
    "responses": [
        "First, Tom starts with 3 apples; then he buys 5 more apples at the market, so we "
        "need to add the two amounts together to find the total number of apples he has.",
        "He buys 6 more, so 3 + 6 = 9 apples in total. The answer is 9.",
        "Adding them: 3 + 5 = 8, so Tom now has 8 apples altogether. The answer is 8.",
        "Perhaps the question means he gives some away: 3 + 5 - 1 = 7. The answer is 7.",
    ],
    "cycle": True,
}


def journeygen(*args: str | Path, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - started


def chromium_load(chromium: str, url: str, profile: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return time.perf_counter() - started, done.stdout


def build_run(folder: Path, trees: int) -> tuple[Path, float, int]:
    problems = folder / "problems.jsonl"
    rows = [
        {"id": f"p{i:03d}", "question": f"Tom has 3 apples and buys 5 more ({i}). How many?",
         "answer": "8"}
        for i in range(trees)
    ]  # fmt: skip
    problems.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "script.json").write_text(json.dumps(SCRIPT))
    journeygen("generate", problems, "--run", "bench", "--backend", "fake",
               "--model", folder / "script.json", cwd=folder)  # fmt: skip
    report = folder / "report.html"
    build_s = journeygen("view", "bench", "-o", report, cwd=folder)
    nodes = sum(
        len(json.loads(path.read_text())["nodes"])
        for path in (folder / "trees" / "bench").glob("p*.json")
    )
    return report, build_s, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="Chromium loads per page")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Debian `chromium` (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        empty = root / "empty.html"
        empty.write_text("<!DOCTYPE html><title>empty</title><body data-ready=1></body>")
        base = [chromium_load(chromium, empty.as_uri(), root / "p0")[0] for _ in range(args.repeat)]
        rows = []
        for count in (10, 100):
            folder = root / f"run{count}"
            folder.mkdir()
            report, build_s, nodes = build_run(folder, count)
            walls, renders = [], []
            for i in range(args.repeat):
                wall, dom = chromium_load(chromium, report.as_uri(), root / f"p{count}-{i}")
                assert 'data-ready="1"' in dom, "the report's script did not finish"
                match = re.search(r'data-render-ms="([\d.]+)"', dom)
                assert match is not None
                walls.append(wall)
                renders.append(float(match.group(1)))
            rows.append((count, nodes, report.stat().st_size, build_s, walls, renders))

    base_s = statistics.median(base)
    print(f"chromium {subprocess.check_output([chromium, '--version'], text=True).strip()}")
    print(f"median of {args.repeat} loads each; empty page: {base_s:.2f} s (browser start-up)")
    print()
    header = ("trees", "nodes", "size", "view build", "chromium load", "minus empty", "in-page")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for count, nodes, size, build_s, walls, renders in rows:
        wall = statistics.median(walls)
        print(
            f"| {count} | {nodes} | {size / 1024:.0f} KiB | {build_s:.2f} s | {wall:.2f} s "
            f"| {wall - base_s:+.2f} s | {statistics.median(renders):.0f} ms |"
        )


if __name__ == "__main__":
    main()
