"""Load problems from jsonl (generic, GSM8K, MATH rows); a bad row is a `Reject`, not a crash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from journeygen.models import Problem, is_safe_id
from journeygen.problems.normalize import normalized_text
from journeygen.problems.solution import CALC_MARK
from journeygen.store import atomic_open

__all__ = [
    "Reject",
    "RowError",
    "boxed_answer",
    "iter_numbered",
    "iter_problems",
    "jsonl_lines",
    "load_problems",
    "normalize_row",
    "parse_line",
    "safe_id",
    "write_rejects",
]

_MAX_ID = 128
_GSM8K_MARK = re.compile(r"^####", re.MULTILINE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BARE_ARG = re.compile(r"[A-Za-z0-9.+-]+")  # `\boxed 5`: an argument without braces
_MATH_KEYS = ("level", "type")


@dataclass(frozen=True)
class Reject:
    """A row that could not become a `Problem`, with enough context to find and fix it."""

    path: str
    line: int
    field: str | None
    message: str
    raw: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RowError(ValueError):
    """Why one row is not a valid problem; `field` names the offending key when there is one."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"field {field!r}: {message}" if field else message)


def load_problems(
    path: str | Path, *, limit: int | None = None
) -> tuple[list[Problem], list[Reject]]:
    """All good problems and all rejects of one file (up to `limit` good problems)."""
    problems: list[Problem] = []
    rejects: list[Reject] = []
    for item in iter_problems(path, limit=limit):
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            problems.append(item)
    return problems, rejects


def iter_problems(path: str | Path, *, limit: int | None = None) -> Iterator[Problem | Reject]:
    """Stream problems and rejects in file order; stops after `limit` good problems.

    The file is read as bytes and each line decoded on its own, so one bad line (invalid
    UTF-8 or JSON) costs that line only. A missing file raises at once: that is a user
    error, not a row error.
    """
    return (item for _, item in iter_numbered(path, limit=limit))


def iter_numbered(
    path: str | Path, *, limit: int | None = None
) -> Iterator[tuple[int, Problem | Reject]]:
    """`iter_problems` with each item's line number, for reports that point into the file."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"problems file not found: {path}")
    if file.is_dir():
        raise IsADirectoryError(f"problems path is a folder, not a jsonl file: {path}")
    return _iter_file(file, str(path), limit)


def jsonl_lines(file: Path) -> Iterator[tuple[int, bytes, str]]:
    """Each non-blank line of a jsonl file as (1-based line number, bytes, printable text),
    read as bytes so one line of bad UTF-8 spoils only itself."""
    with file.open("rb") as handle:
        for number, data in enumerate(handle, start=1):
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):  # BOM from Windows editors
                data = data[3:]
            data = data.rstrip(b"\r\n")
            raw = data.decode("utf-8", errors="backslashreplace")
            if raw.strip():
                yield number, data, raw


def _iter_file(file: Path, name: str, limit: int | None) -> Iterator[tuple[int, Problem | Reject]]:
    seen: dict[str, int] = {}
    questions: dict[bytes, int] = {}  # digests of normalised questions: flat memory at 10k rows
    count = 0
    if limit == 0:
        return
    for number, data, raw in jsonl_lines(file):
        try:
            problem = normalize_row(parse_line(data), line=number, source=name)
        except RowError as err:
            yield number, Reject(name, number, err.field, str(err), raw)
            continue
        if problem.id in seen:
            message = f"duplicate id {problem.id!r} (first on line {seen[problem.id]})"
            yield number, Reject(name, number, "id", message, raw)
            continue
        digest = _question_digest(problem.question)
        if digest in questions:
            message = f"same question as line {questions[digest]}"
            yield number, Reject(name, number, "question", message, raw)
            continue
        seen[problem.id] = number
        if digest:
            questions[digest] = number
        yield number, problem
        count += 1
        if limit is not None and count >= limit:
            return


def _question_digest(question: str) -> bytes:
    """A digest of the question after normalising (b"" when nothing is left to compare), so
    a row that only re-cases, re-spaces or re-punctuates an earlier one is caught."""
    text = normalized_text(question)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest() if text else b""


def parse_line(data: bytes) -> dict[str, Any]:
    """One line's bytes as a JSON object, or a `RowError` saying precisely what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RowError(None, f"invalid UTF-8 at byte {err.start}") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise RowError(None, f"invalid JSON: {err.msg} (column {err.colno})") from None
    except (ValueError, RecursionError) as err:
        raise RowError(None, f"invalid JSON: {err}") from None
    if not isinstance(value, dict):
        raise RowError(None, f"line is not a JSON object (got {_type_name(value)})")
    try:  # "\ud800" escapes parse fine but would crash every later UTF-8 write
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RowError(None, "invalid JSON: unpaired surrogate escape (e.g. \\ud800)") from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def normalize_row(row: dict[str, Any], *, line: int, source: str) -> Problem:
    """Turn one parsed row (generic, GSM8K or MATH, detected per row) into a `Problem`.

    `source` is the file name; its stem and `line` make the id of a row without one.
    Raises `RowError` for a row that is not a usable problem.
    """
    key = "question" if "question" in row else "problem" if "problem" in row else None
    if key is None:
        raise RowError("question", "missing (expected 'question' or 'problem')")
    question = _string(row, key)
    if question is None:
        raise RowError(key, "expected a string, got null")
    question = question.strip()
    if not question:
        raise RowError(key, "empty")
    answer = _answer(row)
    solution = _string(row, "solution")
    problem_id = _row_id(row, line=line, source=source)
    extras = {k: v for k, v in row.items() if k not in {key, "id", "answer", "solution"}}

    if isinstance(row.get("answer"), str) and _GSM8K_MARK.search(row["answer"]):
        fmt = "gsm8k"
        worked, answer = _split_gsm8k(row["answer"])
        if solution is None:
            solution = worked
    elif (solution is not None and _BOXED.search(solution)) or any(k in row for k in _MATH_KEYS):
        fmt = "math"
    else:
        fmt = "generic"
    if answer is None and solution is not None:
        answer = boxed_answer(solution)
    meta: dict[str, Any] = {"format": fmt}
    for name, value in extras.items():
        meta["row_format" if name == "format" else name] = value
    solution = solution.strip() if solution is not None else None
    try:
        return Problem(
            id=problem_id, question=question, answer=answer, solution=solution or None, meta=meta
        )
    except ValidationError as err:  # a guard: the checks above should have caught it
        first = err.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else None
        raise RowError(field, first["msg"]) from None


def _string(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RowError(key, f"expected a string, got {_type_name(value)}")


def _answer(row: dict[str, Any]) -> str | None:
    """The row's own gold answer as text; numbers are fine, empty means no answer."""
    value = row.get("answer")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowError("answer", f"expected a string or number, got {_type_name(value)}")
    text = str(value).strip()
    return text or None


def _split_gsm8k(text: str) -> tuple[str | None, str]:
    """GSM8K's `worked solution\\n#### 1,000` → (solution without calc marks, "1000")."""
    mark = list(_GSM8K_MARK.finditer(text))[-1]  # the caller checked there is one
    gold = _THOUSANDS.sub("", text[mark.end() :].strip())
    if not gold:
        raise RowError("answer", "nothing after '####'")
    worked = CALC_MARK.sub("", text[: mark.start()]).strip()
    return worked or None, gold


def boxed_answer(text: str) -> str | None:
    r"""Content of the last top-level `\boxed{...}` / `\fbox{...}`, nested braces included."""
    found: str | None = None
    pos = 0
    while match := _BOXED.search(text, pos):
        content, pos = _braced(text, match.end())
        if content is not None and content.strip():
            found = content.strip()
    return found


def _braced(text: str, start: int) -> tuple[str | None, int]:
    r"""The `{...}` group at `start` (after spaces) and where it ends; `\boxed 5` also works."""
    i = start
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text) or text[i] != "{":
        bare = _BARE_ARG.match(text, i)
        return (bare.group(0), bare.end()) if bare else (None, i)
    depth = 0
    j = i
    while j < len(text):
        char = text[j]
        if char == "\\":
            j += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        j += 1
    return None, i + 1  # unbalanced: ignore this one


def _row_id(row: dict[str, Any], *, line: int, source: str) -> str:
    """The row's id made file-name safe, or `<stem>-<line:06d>` when it has none."""
    value = row.get("id")
    if value is None:
        suffix = f"-{line:06d}"
        stem = safe_id(Path(source).stem or "problems")[: _MAX_ID - len(suffix)]
        return stem + suffix
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RowError("id", f"expected a string or integer, got {_type_name(value)}")
    text = str(value)
    if not text.strip():
        raise RowError("id", "empty")
    return safe_id(text)


def safe_id(raw: str) -> str:
    """`raw` if it is already a safe file name, else a cleaned copy plus a hash of `raw`.

    The hash keeps two different unsafe ids (`a/b`, `a:b`) from becoming the same file.
    """
    if is_safe_id(raw):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", errors="surrogatepass")).hexdigest()[:8]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", raw)
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = re.sub(r"^[^A-Za-z0-9]+", "", cleaned)[: _MAX_ID - len(digest) - 1]
    return f"{cleaned}-{digest}" if cleaned else digest


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def write_rejects(rejects: Sequence[Reject], path: Path) -> None:
    """Write rejects as jsonl atomically; with none, remove a stale file from an earlier run."""
    path = Path(path)
    if not rejects:
        path.unlink(missing_ok=True)
        return
    with atomic_open(path) as out:
        for rej in rejects:
            row = {
                "file": rej.path,
                "line": rej.line,
                "field": rej.field,
                "error": rej.message,
                "raw": rej.raw,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
