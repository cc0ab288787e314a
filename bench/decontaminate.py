"""Benchmark: problems checked per second against benchmarks of growing size.

Writes synthetic benchmark files (jsonl, word-problem-like questions of 15-60 words from a
3,000-word vocabulary, 0-4 numbers each, a fifth with none) and one problems set in which
1% are reformatted copies (case, spacing, `1,000` vs `1000`) and 1% are near copies (one
word changed) of questions of the largest benchmark. For each benchmark size, in one run:
the index is built from the file, then every problem is checked; the table counts the
copies of questions in that benchmark, how many were found, and matches of anything else.
Run:
`.venv/bin/python bench/decontaminate.py [--problems 10000] [--sizes 500,1000,5000,20000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from journeygen.problems.decontaminate import ContaminationIndex

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gi", "bu", "fe"]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))))
    return sorted(words)


def question(rng: random.Random, vocab: list[str]) -> str:
    words = rng.choices(vocab, k=rng.randint(15, 60))
    count = 0 if rng.random() < 0.2 else rng.randint(1, 4)
    for _ in range(count):
        words[rng.randrange(len(words))] = f"{rng.randint(1, 5000):,}"
    return " ".join(words).capitalize() + "?"


def reformatted(text: str) -> str:
    """Upper case, doubled spaces, `1,000` written `1000.0`: the same question normalised."""
    words = [w.replace(",", "") + ".0" if w[0].isdigit() else w for w in text.split()]
    return "  ".join(words).upper()


def near_copy(rng: random.Random, text: str, vocab: list[str]) -> str:
    words = text.split()
    middle = len(words) // 2
    if words[middle][0].isdigit():
        middle -= 1  # change a word, not a number
    words[middle] = rng.choice(vocab)
    return " ".join(words)


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--sizes", default="500,1000,5000,20000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    rng = random.Random(args.seed)
    vocab = vocabulary(rng)
    bench = [question(rng, vocab) for _ in range(sizes[-1])]
    problems = [question(rng, vocab) for _ in range(args.problems)]
    planted = max(1, args.problems // 100)
    sources: dict[int, int] = {}  # problem index -> the benchmark question it copies
    for i in range(planted):
        source = rng.randrange(sizes[-1])
        problems[2 * i] = reformatted(bench[source])
        problems[2 * i + 1] = near_copy(rng, bench[source], vocab)
        sources[2 * i] = sources[2 * i + 1] = source

    print(f"{args.problems} problems ({planted} reformatted copies, {planted} near copies)")
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n")
    print(
        "| benchmark questions | n-grams | index build s | check s | problems/s "
        "| copies in it | found (ngram, fuzzy) | other matches |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"bench-{size}.jsonl"
            write_jsonl(path, [{"question": text} for text in bench[:size]])
            started = time.perf_counter()
            index = ContaminationIndex.from_files([path])
            built = time.perf_counter() - started
            started = time.perf_counter()
            found = {i: match for i, text in enumerate(problems) if (match := index.match(text))}
            checked = time.perf_counter() - started
            expected = {i for i, source in sources.items() if source < size}
            rules = Counter(found[i].rule for i in expected if i in found)
            print(
                f"| {size:,} | {index.gram_count:,} | {built:.2f} | {checked:.2f} | "
                f"{len(problems) / checked:,.0f} | {len(expected)} | {sum(rules.values())} "
                f"({rules['ngram']}, {rules['fuzzy']}) | {len(found.keys() - expected)} |"
            )


if __name__ == "__main__":
    main()
