"""A run's export lines made tree by tree (`export.spool`): the end of a run writes them instead
of reading its trees again, the same bytes as an export from disk, in the run's order."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

from test_export_parallel import RESPONSES  # wrong steps, wrong and right answers

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.config import BackendConfig, JourneyConfig, RunConfig, SearchConfig
from journeygen.derive.samples import Built, SampleSettings, needed_texts, samples, write_texts
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.executors.local import generate
from journeygen.export import ExportKind, Options
from journeygen.export.parallel import export_run_trees
from journeygen.export.spool import LineSpool
from journeygen.export.writer import Lines, tree_lines
from journeygen.models import Tree
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions
from journeygen.store import RunStore

PROBLEMS = 6
# The LLM reflection on every detour: names the faulty calculation, keeps the answer back
REFLECTION = (
    "I took away 1 apple after the sum, but the question never says Tom loses one, "
    "so subtracting it was the faulty calculation."
)
KINDS: tuple[ExportKind, ...] = ("journey", "shortcut")


def scripted() -> FakeBackend:
    """Steps and answers from `RESPONSES` in turn, and `REFLECTION` for a reflection."""
    turn = itertools.count()

    def reply(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        if "Why are the wrong steps wrong?" in messages[-1]["content"]:
            return REFLECTION
        return RESPONSES[next(turn) % len(RESPONSES)]

    return FakeBackend(reply)


def problems(folder: Path) -> Path:
    path = folder / "apples.jsonl"
    rows = (
        {"id": f"p{i}", "question": f"Tom has 3 apples and buys 5 more ({i}).", "answer": "8"}
        for i in range(PROBLEMS)
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


async def run(folder: Path, *, hide_trees: bool = False) -> dict[str, bytes]:
    """A fake-backend run with LLM reflections; its outputs' bytes. `hide_trees`: each tree
    file is moved away as soon as the run has recorded it, so the export at the end cannot
    read it."""
    hidden = folder / "hidden"
    hidden.mkdir(parents=True)
    store = RunStore(folder / "trees", "apples")

    def on_tree(tree: Tree, reused: bool) -> None:
        if hide_trees:
            shutil.move(store.tree_path(tree.problem.id), hidden)

    config = RunConfig(
        backend=BackendConfig(name="fake"),
        search=SearchConfig(width=3, keep=2, depth=3),
        journey=JourneyConfig(reflection_sources=["llm", "phrase"]),  # texts asked in the run
    )
    summary = await generate(
        problems(folder),
        run="apples",
        config=config,
        backend=scripted(),
        prompts=load_prompts(),
        trees_dir=folder / "trees",
        out_dir=folder / "outputs",
        runtime=RuntimeOptions(concurrency=1),  # the script's answers in one order
        on_tree=on_tree,
    )
    assert summary.trees == PROBLEMS
    assert REFLECTION in (folder / "outputs" / "apples" / "journey.jsonl").read_text()
    out = folder / "outputs" / "apples"
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.jsonl"))}


async def test_a_run_writes_the_lines_it_made_without_reading_its_trees_again(
    tmp_path: Path,
) -> None:
    written = await run(tmp_path / "plain")
    without_trees = await run(tmp_path / "hidden", hide_trees=True)
    assert written["journey.jsonl"].count(b"\n") >= 2
    assert written["shortcut.jsonl"].count(b"\n") >= 2
    # Every tree file was gone before the export, and it wrote the same bytes
    assert not list((tmp_path / "hidden" / "trees" / "apples").glob("p*.json"))
    assert without_trees == written


async def test_the_lines_made_during_a_run_are_the_export_from_disk(tmp_path: Path) -> None:
    written = await run(tmp_path)
    store = RunStore(tmp_path / "trees", "apples")
    out = tmp_path / "again"
    export_run_trees(
        store,
        store.read_manifest().problems,
        {kind: out / f"{kind}.jsonl" for kind in KINDS},
        fmt="openai",
        options=Options(),
        prompts=load_prompts(),
        settings=SampleSettings(texts=TextCache(store.dir / TEXTS_FILE)),
    )
    assert {p.name: p.read_bytes() for p in sorted(out.glob("*.jsonl"))} == written


async def test_trees_without_made_lines_are_made_from_disk_in_the_run_order(
    tmp_path: Path,
) -> None:
    await run(tmp_path)
    store = RunStore(tmp_path / "trees", "apples")
    ids = store.read_manifest().problems
    settings = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))

    def export(folder: str, made: dict[str, dict[ExportKind, Lines]] | None) -> list[str]:
        out = tmp_path / folder
        export_run_trees(
            store,
            ids,
            {kind: out / f"{kind}.jsonl" for kind in KINDS},
            fmt="openai",
            options=Options(),
            prompts=load_prompts(),
            settings=settings,
            made=None if made is None else made.get,
        )
        return (out / "journey.jsonl").read_text().splitlines()

    from_disk = export("disk", None)
    whose = [
        json.loads(line)["problem_id"]
        for line in (tmp_path / "disk" / "journey.provenance.jsonl").read_text().splitlines()
    ]
    # Every other tree "made already", with lines that say whose they are
    marked: dict[str, dict[ExportKind, Lines]] = {
        problem_id: {kind: [(f'{{"made": "{problem_id}"}}\n', None)] for kind in KINDS}
        for problem_id in ids[::2]
    }
    expected = [
        line
        for problem_id in ids
        for line in (
            [f'{{"made": "{problem_id}"}}']
            if problem_id in marked
            else [row for row, owner in zip(from_disk, whose, strict=True) if owner == problem_id]
        )
    ]
    assert export("mixed", marked) == expected
    assert len(set(whose) - set(marked)) >= 1  # some rows did come from disk


async def test_the_spool_gives_each_tree_its_own_lines_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    await run(tmp_path)
    store = RunStore(tmp_path / "trees", "apples")
    trees = list(store.trees())
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()

    def make(tree: Tree, built: Built | None = None) -> dict[ExportKind, Lines]:
        assert built is None
        return tree_lines(
            tree, KINDS, fmt="openai", options=Options(), prompts=load_prompts(), run="apples"
        )

    with LineSpool(spool_dir, make) as spool:
        for tree in reversed(trees):  # added in another order than asked for
            spool.add(tree)
        assert list(spool_dir.iterdir()) == []  # an unnamed file: nothing to leave behind
        for tree in trees:
            assert spool.lines(tree.problem.id) == make(tree)
        assert spool.lines("never-added") is None
    assert len({json.dumps(make(tree)) for tree in trees}) >= 3  # trees' lines differ


async def test_write_texts_hands_back_the_samples_an_export_would_build(tmp_path: Path) -> None:
    await run(tmp_path)
    store = RunStore(tmp_path / "trees", "apples")
    prompts = load_prompts()
    done = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
    for tree in store.trees():
        # Before the run's texts: reflections to ask; with them: none, and nothing asked
        wanted = needed_texts(tree, prompts, SampleSettings(texts=TextCache()), run="apples")
        assert {request.purpose for request in wanted} <= {"reflect"}
        assert needed_texts(tree, prompts, done, run="apples") == []
        written = await write_texts(tree, prompts, done, FakeBackend([]), run="apples")
        assert written.asked == 0 and written.built is not None
        assert written.built["journey"] == list(
            samples([tree], "journey", prompts, run="apples", settings=done)
        )
    assert any(
        needed_texts(tree, prompts, SampleSettings(texts=TextCache()), run="apples")
        for tree in store.trees()
    )
