"""Keep benchmark questions out of training data: an index of benchmark questions that says
whether a problem copies one, by a shared word 13-gram or a near-identical text.

The n-gram rule is the one of the GPT-3 and Llama 2 contamination analyses: any shared
13-gram of normalised words (a question shorter than 13 words is one gram, so it matches
only the same whole question). The fuzzy rule (rapidfuzz `fuzz.ratio`, as OpenThoughts
does) catches near copies that change a word or two too often for a 13-gram to survive; it
compares only questions with the same numbers, since a copy with other numbers is another
problem, and that also keeps the comparisons few.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from journeygen.models import Problem, Tree
from journeygen.problems import RowError, iter_numbered, jsonl_lines, normalize_row, parse_line
from journeygen.problems.normalize import normalized_words
from journeygen.store import atomic_open

__all__ = [
    "DECONTAMINATED_FILE",
    "FUZZY_THRESHOLD",
    "NGRAM",
    "BenchmarkError",
    "BenchmarkQuestion",
    "Contamination",
    "ContaminationIndex",
    "Match",
    "TreeFilter",
    "problem_lines",
    "read_benchmark",
    "read_report",
    "write_report",
]

NGRAM = 13
FUZZY_THRESHOLD = 95.0  # README, "Decontamination": why 95
DECONTAMINATED_FILE = "decontaminated.jsonl"

Rule = Literal["ngram", "fuzzy"]


class BenchmarkError(ValueError):
    """A benchmark file that cannot be read whole: checking against part of it would let
    contaminated problems through unnoticed."""


@dataclass(frozen=True)
class BenchmarkQuestion:
    """One benchmark question and where it is: the file and the line its row starts on."""

    file: str
    line: int
    question: str


@dataclass(frozen=True)
class Match:
    """Why a problem counts as a copy: the shared n-gram, or the fuzzy ratio."""

    rule: Rule
    benchmark: BenchmarkQuestion
    ngram: str | None = None
    ratio: float | None = None


@dataclass(frozen=True)
class Contamination:
    """A problem kept out because of a match; one row of `decontaminated.jsonl`."""

    problem: Problem
    file: str
    line: int | None
    match: Match
    stage: Literal["generate", "export"]

    def row(self) -> dict[str, Any]:
        """The jsonl row: the problem and where it is, the rule, the benchmark row it copies."""
        found = self.match
        row: dict[str, Any] = {
            "id": self.problem.id,
            "file": self.file,
            "line": self.line,
            "stage": self.stage,
            "rule": found.rule,
        }
        row.update({"ngram": found.ngram} if found.rule == "ngram" else {"ratio": found.ratio})
        row.update(
            benchmark_file=found.benchmark.file,
            benchmark_line=found.benchmark.line,
            question=self.problem.question,
            benchmark_question=found.benchmark.question,
        )
        return row


@dataclass
class _Group:
    """The benchmark questions that share one multiset of numbers (fuzzy candidates), kept
    sorted by length so a check compares only the lengths that can reach the threshold."""

    texts: list[str] = field(default_factory=list)
    entries: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    ordered: bool = True

    def add(self, text: str, entry: int) -> None:
        self.ordered = self.ordered and (not self.lengths or self.lengths[-1] <= len(text))
        self.texts.append(text)
        self.entries.append(entry)
        self.lengths.append(len(text))

    def band(self, length: int, threshold: float) -> tuple[int, int]:
        """The slice of texts whose length allows a ratio >= threshold: the Indel distance is
        at least the length difference, so ratio <= 100 * (1 - |L - M| / (L + M))."""
        if not self.ordered:
            order = sorted(range(len(self.texts)), key=self.lengths.__getitem__)
            self.texts = [self.texts[i] for i in order]
            self.entries = [self.entries[i] for i in order]
            self.lengths = [self.lengths[i] for i in order]
            self.ordered = True
        slack = 1.0 - threshold / 100.0
        low = int(length * (1.0 - slack) / (1.0 + slack))
        high = int(length * (1.0 + slack) / (1.0 - slack)) + 1  # threshold > 0: slack < 1
        return bisect_left(self.lengths, low), bisect_right(self.lengths, high)


class ContaminationIndex:
    """Benchmark questions indexed once: n-gram → first question holding it, and the
    normalised texts grouped by their numbers, so each check is a few look-ups."""

    def __init__(self, *, n: int = NGRAM, threshold: float = FUZZY_THRESHOLD) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not 0.0 < threshold <= 100.0:
            raise ValueError(f"fuzzy threshold must be in (0, 100], got {threshold}")
        from rapidfuzz import fuzz, process  # ~80 ms: paid only by runs that decontaminate

        self._extract_one = process.extractOne
        self._ratio = fuzz.ratio
        self.n = n
        self.threshold = threshold
        self.files: list[str] = []
        self.questions: list[BenchmarkQuestion] = []
        self._grams: dict[str, int] = {}
        self._groups: dict[tuple[str, ...], _Group] = {}

    @classmethod
    def from_files(
        cls, paths: Iterable[str | Path], *, n: int = NGRAM, threshold: float = FUZZY_THRESHOLD
    ) -> ContaminationIndex:
        """An index of every question in the benchmark files (jsonl or a JSON list)."""
        index = cls(n=n, threshold=threshold)
        for path in paths:
            index.files.append(str(path))
            for question in read_benchmark(path):
                index.add(question)
        return index

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def gram_count(self) -> int:
        """Distinct n-grams (and whole short questions) held: the index's size in memory."""
        return len(self._grams)

    def add(self, question: BenchmarkQuestion) -> None:
        """Index one benchmark question (one with no words left after normalising is skipped)."""
        words = normalized_words(question.question)
        if not words:
            return
        entry = len(self.questions)
        self.questions.append(question)
        for gram in self._grams_of(words):
            self._grams.setdefault(gram, entry)
        self._groups.setdefault(_numbers(words), _Group()).add(" ".join(words), entry)

    def match(self, question: str) -> Match | None:
        """The first benchmark question that `question` copies: a shared n-gram first (the
        first in `question`'s word order), else the closest near copy; None if neither."""
        words = normalized_words(question)
        if not words:
            return None
        for gram in self._grams_of(words):
            entry = self._grams.get(gram)
            if entry is not None:
                return Match("ngram", self.questions[entry], ngram=gram)
        group = self._groups.get(_numbers(words))
        if group is None:
            return None
        text = " ".join(words)
        start, stop = group.band(len(text), self.threshold)
        best = self._extract_one(
            text, group.texts[start:stop], scorer=self._ratio, score_cutoff=self.threshold
        )
        if best is None:
            return None
        _, score, position = best
        entry = group.entries[start + position]
        return Match("fuzzy", self.questions[entry], ratio=round(score, 2))

    def _grams_of(self, words: Sequence[str]) -> Iterator[str]:
        """Every n-gram of `words` as text, or the whole text when it is shorter than n."""
        if len(words) < self.n:
            yield " ".join(words)
            return
        for start in range(len(words) - self.n + 1):
            yield " ".join(words[start : start + self.n])


def _numbers(words: Sequence[str]) -> tuple[str, ...]:
    """The numbers of a question, sorted: a reworded copy keeps them, another problem not."""
    return tuple(sorted(word for word in words if word[0].isdigit()))


def read_benchmark(path: str | Path) -> list[BenchmarkQuestion]:
    """The questions of a benchmark file: jsonl, or one JSON list, of rows in any format the
    problem loader reads (generic `question`/`problem`, GSM8K, MATH). A bad row raises."""
    file = Path(path)
    if not file.is_file():
        raise BenchmarkError(f"benchmark file not found: {path}")
    with file.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    rows = _json_list_rows(file) if head.startswith(b"[") else _jsonl_rows(file)
    questions: list[BenchmarkQuestion] = []
    for line, row in rows:
        try:
            if not isinstance(row, dict):
                raise RowError(None, "row is not a JSON object")
            problem = normalize_row(row, line=line, source=str(path))
        except RowError as err:
            raise BenchmarkError(f"{path}:{line}: benchmark row: {err}") from None
        questions.append(BenchmarkQuestion(str(path), line, problem.question))
    return questions


def _jsonl_rows(file: Path) -> Iterator[tuple[int, Any]]:
    for line, data, _ in jsonl_lines(file):
        try:
            yield line, parse_line(data)
        except RowError as err:
            raise BenchmarkError(f"{file}:{line}: benchmark row: {err}") from None


def _json_list_rows(file: Path) -> Iterator[tuple[int, Any]]:
    """The items of a JSON list, each with the line it starts on."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise BenchmarkError(f"{file}: invalid UTF-8 at byte {err.start}") from None
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line, counted = 1, 0
    while True:
        pos = _skip_space(text, pos)
        if text.startswith("]", pos):
            break
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            raise BenchmarkError(f"{file}:{err.lineno}: invalid JSON: {err.msg}") from None
        yield line, item
        pos = _skip_space(text, pos)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            where = line + text.count("\n", counted, pos)
            raise BenchmarkError(f"{file}:{where}: invalid JSON: expected ',' or ']'")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


class TreeFilter:
    """Passes the trees whose question copies no benchmark question and keeps the others,
    so an export drops every sample of a copied problem and can say which and why."""

    def __init__(self, index: ContaminationIndex) -> None:
        self.index = index
        self.dropped: dict[str, tuple[Problem, Match]] = {}
        self._clean: set[str] = set()  # checked once, however many kinds are exported

    def keeps(self, tree: Tree) -> bool:
        """Whether `tree` passes; a tree that copies a benchmark question is recorded."""
        problem = tree.problem
        if problem.id in self._clean:
            return True
        if problem.id in self.dropped:
            return False
        found = self.index.match(problem.question)
        if found is None:
            self._clean.add(problem.id)
            return True
        self.dropped[problem.id] = (problem, found)
        return False

    def report(self, source: str, path: Path) -> None:
        """Rewrite `path` with the rows `generate` wrote there and this export's drops."""
        kept = [row for row in read_report(path) if row.get("stage") != "export"]
        lines = problem_lines(source) if self.dropped else {}
        rows = kept + [
            Contamination(problem, source, lines.get(pid), found, "export").row()
            for pid, (problem, found) in self.dropped.items()
        ]
        _write_rows(rows, path)


def problem_lines(path: str | Path) -> dict[str, int]:
    """Problem id → line in a problems file, for reports on trees (empty if the file is gone)."""
    if not Path(path).is_file():
        return {}
    return {item.id: line for line, item in iter_numbered(path) if isinstance(item, Problem)}


def write_report(found: Sequence[Contamination], path: Path) -> None:
    """Write the rows atomically; with none, remove a stale file from an earlier run."""
    _write_rows([each.row() for each in found], path)


def _write_rows(rows: Sequence[dict[str, Any]], path: Path) -> None:
    if not rows:
        path.unlink(missing_ok=True)
        return
    with atomic_open(path) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_report(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier report (none if there is no file)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
