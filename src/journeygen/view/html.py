"""The offline HTML report. The page loads an index of the run first (one row per problem:
what its list, filters and search need) and each tree only when it is opened, from chunks
of `CHUNK_TREES` trees. A run of at most `SINGLE_FILE_MAX` trees makes one self-contained
file (chunks inline as JSON islands); a bigger one makes a folder, `index.html` plus
`data/chunk-KEY.js` scripts (a script loads from file://, where fetch() is refused).
No server, no CDN; all text from models and problems goes in as JSON."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from journeygen.derive.samples import SampleSettings
from journeygen.prompts import PromptSet
from journeygen.store import RunStore, atomic_open
from journeygen.view.audit import cache_path
from journeygen.view.payload import read_rejects, tree_payloads

__all__ = [
    "CHUNK_TREES",
    "QUESTION_CHARS",
    "SCRIPTS",
    "SINGLE_FILE_MAX",
    "Chunk",
    "Written",
    "chunked",
    "count_trees",
    "embed_json",
    "index_row",
    "render_report",
    "run_trees",
    "write_folder",
    "write_single_file",
]

SINGLE_FILE_MAX = 200  # trees; more make a report folder unless told otherwise
CHUNK_TREES = 100  # trees per data chunk: one chunk loads when one of its trees is opened
QUESTION_CHARS = 500  # of each question in the index: what the list shows and search reads
GENERATOR = "journeygen report"  # the page's <meta name="generator">: a folder we may rewrite

Mode = Literal["single", "folder"]

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_MARKER = re.compile(r"(\{\{\w+\}\})")
_CHUNK_FILE = re.compile(r"chunk-[0-9a-f]{16}\.js")


def embed_json(data: Any, *, ascii_only: bool = False) -> str:
    """JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` can
    close the element or start markup, and U+2028/9 can't break a line in old parsers;
    `ascii_only` for a script file, which a browser may decode in another charset."""
    text = json.dumps(data, ensure_ascii=ascii_only, separators=(",", ":"))
    return "".join(_JSON_ESCAPES.get(char, char) for char in text)


# The report's script, one concern a file, inlined in this order into one function scope
# (report.html wraps it): later files call earlier ones, and report-app.js starts the page.
SCRIPTS = (
    "report-base.js",
    "report-chunks.js",
    "report-list.js",
    "report-tree.js",
    "report-journey.js",
    "report-audit.js",
    "report-details.js",
    "report-app.js",
)


def _asset(name: str) -> str:
    return (Path(__file__).parent / "assets" / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Chunk:
    """The trees of one chunk as JSON, named by a hash of that JSON (a changed chunk gets a
    new file name, so a page never loads trees of another build under an old name)."""

    key: str
    json: str


def index_row(tree: dict[str, Any], chunk: int) -> dict[str, Any]:
    """What the list, its filters and search need of one tree (no steps): id, the start of
    the question, status, counts, walk kinds, whether it has a correct leaf, its chunk."""
    question = tree["problem"]["question"]
    stats = tree["stats"]
    row = {
        "id": tree["problem"]["id"],
        "q": question[:QUESTION_CHARS],
        "status": tree["status"],
        "nodes": stats["nodes"],
        "ok": stats["correct_leaves"],
        "wrong": stats["incorrect_leaves"],
        "walks": [walk["kind"] for walk in tree["walks"]],
        "leaf": tree["has_correct_leaf"],
        "chunk": chunk,
    }
    if len(question) > QUESTION_CHARS:
        row["cut"] = True
    return row


def chunked(
    trees: Iterable[dict[str, Any]], *, size: int = CHUNK_TREES, ascii_only: bool = False
) -> Iterator[tuple[list[dict[str, Any]], Chunk]]:
    """Each run of `size` tree payloads as its index rows and its chunk."""
    batch: list[dict[str, Any]] = []
    number = 0

    def done() -> tuple[list[dict[str, Any]], Chunk]:
        text = embed_json(batch, ascii_only=ascii_only)
        key = hashlib.sha256(text.encode()).hexdigest()[:16]
        return [index_row(tree, number) for tree in batch], Chunk(key, text)

    for tree in trees:
        batch.append(tree)
        if len(batch) == size:
            yield done()
            batch, number = [], number + 1
    if batch:
        yield done()


def _fill(template: str, parts: dict[str, str]) -> str:
    """The template with each `{{marker}}` replaced once; values are never searched for
    markers, so a question that reads '{{index}}' stays text."""
    pieces = _MARKER.split(template)
    found = pieces[1::2]
    if sorted(found) != sorted(parts):
        raise ValueError(f"report.html has markers {found}, expected {sorted(parts)} once each")
    return "".join(parts[p] if i % 2 else p for i, p in enumerate(pieces))


def _page(
    run: str, rows: list[dict[str, Any]], rejects: list[dict[str, Any]], keys: list[str], *,
    mode: Mode, islands: Iterable[Chunk] = (),
) -> str:  # fmt: skip
    style = _asset("report.css")
    script = "\n".join(_asset(name) for name in SCRIPTS)
    if "</style" in style.lower() or "</script" in script.lower():
        raise ValueError("report assets must not close their own <style>/<script> element")
    index = {"run": run, "mode": mode, "chunks": keys, "rows": rows, "rejects": rejects}
    data = "".join(
        f'<script type="application/json" id="chunk-{c.key}">{c.json}</script>\n' for c in islands
    )
    # a folder's page loads its chunks as scripts: same folder ('self', or file: where a
    # browser gives each file its own origin); its own script stays the only inline one
    sources = "'unsafe-inline'" + (" 'self' file:" if mode == "folder" else "")
    return _fill(
        _asset("report.html"),
        {
            "{{title}}": html.escape(f"journeygen · {run}"),
            "{{generator}}": GENERATOR,
            "{{script_src}}": sources,
            "{{style}}": style,
            "{{script}}": script,
            "{{index}}": embed_json(index),
            "{{chunks}}": data,
        },
    )


def render_report(payload: dict[str, Any]) -> str:
    """The one-file report page for a payload built by `report_payload`."""
    rows, chunks = [], []
    for batch, chunk in chunked(payload["problems"]):
        rows.extend(batch)
        chunks.append(chunk)
    keys = [c.key for c in chunks]
    return _page(payload["run"], rows, payload["rejects"], keys, mode="single", islands=chunks)


@dataclass(frozen=True)
class Written:
    """What `write_single_file` or `write_folder` wrote: the page to open and sizes."""

    page: Path
    trees: int
    chunks: int
    page_bytes: int
    data_bytes: int  # the chunk files of a folder (0 for one file)


def count_trees(store: RunStore) -> int:
    """How many of the run's problems have a saved tree (without reading any)."""
    return sum(store.tree_path(pid).is_file() for pid in store.read_manifest().problems)


def run_trees(
    store: RunStore, prompts: PromptSet, settings: SampleSettings
) -> Iterator[dict[str, Any]]:
    """The report data of each saved tree of a run, in problem order, one at a time: its
    samples built with `settings`, the requests behind its steps from the run's cache."""
    return tree_payloads(
        store.trees(), prompts, run=store.run, settings=settings, cache=cache_path(store.dir)
    )


def write_single_file(
    path: Path, run: str, trees: Iterable[dict[str, Any]], *, rejects_path: Path
) -> Written:
    """One self-contained page at `path`, written atomically."""
    rows: list[dict[str, Any]] = []
    chunks: list[Chunk] = []
    for batch, chunk in chunked(trees):
        rows.extend(batch)
        chunks.append(chunk)
    keys = [c.key for c in chunks]
    page = _page(run, rows, read_rejects(rejects_path), keys, mode="single", islands=chunks)
    with atomic_open(path) as handle:
        handle.write(page)
    return Written(path, len(rows), len(chunks), len(page.encode()), 0)


def write_folder(
    folder: Path, run: str, trees: Iterable[dict[str, Any]], *, rejects_path: Path
) -> Written:
    """A report folder: each chunk written to `data/` as it is built, then `index.html`
    (atomically, so an open page keeps working until it is reloaded), then chunk files of
    earlier builds removed. Refuses a folder whose index.html is not a journeygen report."""
    page_path, data = folder / "index.html", folder / "data"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file: a report folder needs a folder name")
    if page_path.is_file():
        with page_path.open(encoding="utf-8", errors="replace") as handle:
            if GENERATOR not in handle.read(2000):
                raise ValueError(f"{page_path} is not a journeygen report: not overwriting it")
    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    data_bytes = 0
    for batch, chunk in chunked(trees, ascii_only=True):
        text = f'journeygenChunk("{chunk.key}",{chunk.json});\n'
        with atomic_open(data / f"chunk-{chunk.key}.js") as handle:
            handle.write(text)
        rows.extend(batch)
        keys.append(chunk.key)
        data_bytes += len(text)
    page = _page(run, rows, read_rejects(rejects_path), keys, mode="folder")
    with atomic_open(page_path) as handle:
        handle.write(page)
    kept = {f"chunk-{key}.js" for key in keys}
    for old in data.glob("chunk-*.js") if data.is_dir() else ():
        if _CHUNK_FILE.fullmatch(old.name) and old.name not in kept:
            old.unlink()
    return Written(page_path, len(rows), len(keys), len(page.encode()), data_bytes)
