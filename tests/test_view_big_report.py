"""The report of a big run: `journeygen view` on 10,000 trees writes a folder whose index lists
and filters every problem while only the opened tree's chunk loads, in headless Chromium;
where one file ends and a folder begins; what a report folder may overwrite."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dom_cases import DomParser, dump_dom, needs_chromium
from hand_cases import PROBLEM, apples_nodes, leaf

from journeygen.config import RunConfig
from journeygen.judges.labels import backup_labels
from journeygen.models import Tree, TreeStats, Usage
from journeygen.store import Manifest, RunStore, tree_json
from journeygen.view.html import CHUNK_TREES, SINGLE_FILE_MAX

TREES = 10_000
ZEBRAS = 9_731  # the one problem about zebras, in chunk 97
REJECTS = [
    {"file": "big.jsonl", "line": 3, "field": "answer", "error": "missing", "raw": "{}"},
    {"file": "big.jsonl", "line": 9, "field": None, "error": "invalid JSON", "raw": "{"},
]


def journeygen(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def tree_text(nodes: list[Any]) -> dict[str, Any]:
    tree = Tree(problem=PROBLEM, nodes=nodes, config=RunConfig())
    tree.stats = TreeStats.measure(tree.nodes, Usage(), None)
    data: dict[str, Any] = json.loads(tree_json(tree))
    return data


def write_run(root: Path, count: int, run: str = "big") -> list[str]:
    """A run of `count` hand trees written straight to disk: every 50th the apples tree (a
    journey), the rest one wrong answer (no correct leaf), every 100th from the 8th partial;
    problem i asks about i apples, except ZEBRAS; REJECTS in its rejects file."""
    wrong = [leaf("1", None, "The answer is 9.", "9")]
    backup_labels(wrong, "8")
    shapes = [tree_text(apples_nodes()), tree_text(wrong)]
    store = RunStore(root / "trees", run)
    store.dir.mkdir(parents=True)
    ids = []
    for i in range(count):
        data = dict(shapes[0] if i % 50 == 0 else shapes[1])
        question = f"Tom has {i} apples and buys 5 more. How many?"
        if i == ZEBRAS:
            question = "Zoe counts the zebras at the zoo: 7 and then 4 more. How many zebras?"
        data["problem"] = {
            **PROBLEM.model_dump(mode="json"),
            "id": f"p{i:05d}",
            "question": question,
        }
        data["status"] = "partial" if i % 100 == 7 else "complete"
        store.tree_path(f"p{i:05d}").write_text(json.dumps(data))  # no fsync: 10,000 of them
        ids.append(f"p{i:05d}")
    config = RunConfig()
    store.write_manifest(Manifest(run=run, config=config, config_hash="", source="x", problems=ids))
    rejects = root / "outputs" / run / "rejects.jsonl"
    rejects.parent.mkdir(parents=True)
    rejects.write_text("".join(json.dumps(row) + "\n" for row in REJECTS))
    return ids


@dataclass
class Big:
    root: Path
    folder: Path
    index: dict[str, Any]

    def render(self, page: str, fragment: str) -> DomParser:
        parsed = DomParser()
        parsed.feed(dump_dom((self.folder / page).as_uri() + fragment, self.root / "profile"))
        assert parsed.find("body")[0].attrs.get("data-ready") == "1"
        return parsed


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    """The 10,000-tree run's report as `journeygen view` writes it by default."""
    root = tmp_path_factory.mktemp("big")
    write_run(root, TREES)
    done = journeygen("view", "big", cwd=root)
    assert done.returncode == 0, done.stderr
    folder = root / "outputs" / "big" / "report"
    assert f"{folder.relative_to(root)}/index.html ({TREES} trees" in done.stdout
    assert not (root / "outputs" / "big" / "report.html").exists()
    page = (folder / "index.html").read_text(encoding="utf-8")
    index = json.loads(page.split('id="report-index">')[1].split("</script>")[0])
    yield Big(root, folder, index)


def test_a_big_run_makes_an_index_and_a_chunk_file_per_hundred_trees(big: Big) -> None:
    index = big.index
    assert index["mode"] == "folder" and len(index["rows"]) == TREES
    assert len(index["chunks"]) == TREES // CHUNK_TREES
    files = sorted(p.name for p in (big.folder / "data").iterdir())
    assert files == sorted(f"chunk-{key}.js" for key in index["chunks"])
    assert [row["chunk"] for row in index["rows"]] == [i // CHUNK_TREES for i in range(TREES)]
    # the index is small: no steps, no walks' text; the trees are in the chunks
    assert (big.folder / "index.html").stat().st_size < 2_500_000
    zebras = index["rows"][ZEBRAS]
    assert zebras["id"] == "p09731" and "zebras" in zebras["q"] and zebras["chunk"] == 97
    chunk = (big.folder / "data" / f"chunk-{index['chunks'][97]}.js").read_text()
    trees = json.loads(chunk.partition(",")[2].removesuffix(");\n"))
    assert [t["problem"]["id"] for t in trees] == [f"p{i:05d}" for i in range(9700, 9800)]


@needs_chromium
def test_chromium_lists_all_ten_thousand_and_loads_only_the_opened_trees_chunk(big: Big) -> None:
    parsed = big.render("index.html", "#p=p05200")  # an apples tree with a journey, chunk 52
    body = parsed.find("body")[0]
    counts = {e.attrs["data-filter"]: int(e.attrs["data-count"]) for e in parsed.find("button")
              if "data-filter" in e.attrs}  # fmt: skip
    assert counts == {
        "all": 10_002,
        "journey": 200,
        "nocorrect": 9_800,
        "partial": 100,
        "rejected": 2,
    }
    assert "".join(parsed.find("span", id="run-counts")[0].text).startswith("10,000 trees · 200")
    # the list is as tall as every row, but only the rows in view are in the page
    rows = [e for e in parsed.find("li") if "data-key" in e.attrs]
    assert {e.attrs["aria-setsize"] for e in rows} == {"10002"}
    assert 5 <= len(rows) <= 60 and "p:p05200" in [e.attrs["data-key"] for e in rows]
    # one chunk asked for and one chunk script in the page: the opened tree's
    key = big.index["chunks"][52]
    assert body.attrs["data-chunks"] == key
    assert [e.attrs.get("src") for e in parsed.find("script") if "src" in e.attrs] == [
        f"data/chunk-{key}.js"
    ]
    # its tree is drawn, every node, with its journey
    drawn = sorted(e.attrs["data-node"] for e in parsed.find("g") if "node" in e.classes)
    assert drawn == sorted(["ROOT", *(n.id for n in apples_nodes())])
    assert [e for e in parsed.find("g") if "order" in e.classes]
    assert "".join(parsed.find("div", **{"data-field": "problem-question"})[0].text) == (
        "Tom has 5200 apples and buys 5 more. How many?"
    )


# Appended to a copy of the index: once the page has loaded, it searches for "zebras", writes
# what the list shows, then opens the one match and writes what loaded once it is drawn.
SEARCH = """<script>
addEventListener("load", function () {
  const keys = () => Array.from(document.querySelectorAll("#problem-list li[data-key]"),
    (li) => li.getAttribute("data-key"));
  const search = document.getElementById("search");
  search.value = "ZEBRAS";
  search.dispatchEvent(new Event("input"));
  const found = { keys: keys(), chunks: document.body.getAttribute("data-chunks"),
    count: document.getElementById("list-count").textContent };
  document.querySelector('#problem-list li[data-key="p:p09731"]').click();
  (function wait(tries) {
    const head = document.querySelector("#problem-head h2");
    if (document.querySelector("#tree-svg g.node") && head.textContent.startsWith("p09731")) {
      found.opened = document.body.getAttribute("data-chunks");
      found.nodes = document.querySelectorAll("#tree-svg g.node").length;
      document.body.setAttribute("data-probe", JSON.stringify(found));
    } else if (tries) setTimeout(wait, 50, tries - 1);
  })(100);
});
</script>
"""


@needs_chromium
def test_chromium_search_finds_a_problem_whose_chunk_is_not_loaded(big: Big) -> None:
    probed = big.folder / "probe-search.html"
    page = (big.folder / "index.html").read_text(encoding="utf-8")
    probed.write_text(page.replace("</body>", SEARCH + "</body>"))
    parsed = big.render(probed.name, "#p=p00000")
    found = json.loads(parsed.find("body")[0].attrs["data-probe"])
    first, zebras = big.index["chunks"][0], big.index["chunks"][97]
    assert found["keys"] == ["p:p09731"] and found["count"] == "1 of 10,002 match"
    assert found["chunks"] == first  # found from the index alone
    assert found["opened"] == f"{first} {zebras}" and found["nodes"] == 2  # the question + 1


@needs_chromium
def test_an_index_without_its_data_folder_lists_the_run_and_says_what_is_missing(
    big: Big, tmp_path: Path
) -> None:
    alone = tmp_path / "index.html"
    shutil.copy(big.folder / "index.html", alone)
    parsed = DomParser()
    parsed.feed(dump_dom(alone.as_uri() + "#p=p00150", tmp_path / "profile"))
    error = "".join(parsed.find("div", **{"data-field": "load-error"})[0].text)
    key = big.index["chunks"][1]
    assert error.startswith(f"Could not load data/chunk-{key}.js (missing or refused)")
    assert "keep index.html and its data/ folder together" in error
    assert parsed.find("button", **{"data-filter": "all"})[0].attrs["data-count"] == "10002"


def test_one_file_up_to_the_threshold_a_folder_above_and_flags_to_force_either(
    tmp_path: Path,
) -> None:
    for count, run in ((SINGLE_FILE_MAX, "small"), (SINGLE_FILE_MAX + 1, "grown")):
        write_run(tmp_path, count, run)
        done = journeygen("view", run, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    small, grown = tmp_path / "outputs" / "small", tmp_path / "outputs" / "grown"
    assert (small / "report.html").is_file() and not (small / "report").exists()
    assert (grown / "report" / "index.html").is_file() and not (grown / "report.html").exists()
    assert len(list((grown / "report" / "data").iterdir())) == 3  # 100 + 100 + 1
    forced = journeygen("view", "grown", "--single-file", "-o", "one.html", cwd=tmp_path)
    assert forced.returncode == 0 and (tmp_path / "one.html").read_text().count("<script") == 5
    folder = journeygen("view", "small", "--folder", "-o", "dir", cwd=tmp_path)
    assert folder.returncode == 0 and len(list((tmp_path / "dir" / "data").iterdir())) == 2
    refused = journeygen("view", "grown", "-o", "grown.html", cwd=tmp_path)
    assert refused.returncode == 2 and not (tmp_path / "grown.html").exists()
    assert (
        "a report of 201 trees is a folder" in refused.stderr and "--single-file" in refused.stderr
    )
    helped = journeygen("view", "--help", cwd=tmp_path)
    assert f"up to {SINGLE_FILE_MAX} trees" in helped.stdout
    assert f"chunks of {CHUNK_TREES} trees" in helped.stdout


def test_a_rebuilt_folder_keeps_its_chunk_names_and_drops_stale_chunks_only(
    tmp_path: Path,
) -> None:
    write_run(tmp_path, 150, "r")
    assert journeygen("view", "r", "--folder", cwd=tmp_path).returncode == 0
    data = tmp_path / "outputs" / "r" / "report" / "data"
    before = sorted(p.name for p in data.iterdir())
    (data / "chunk-0123456789abcdef.js").write_text("journeygenChunk('old', []);\n")
    (data / "notes.txt").write_text("mine")
    assert journeygen("view", "r", "--folder", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in data.iterdir()) == sorted([*before, "notes.txt"])
    # a changed tree changes its chunk's name, not the other's
    store = RunStore(tmp_path / "trees", "r")
    tree = store.load_tree("p00120")
    assert tree is not None
    store.save_tree(tree.model_copy(update={"status": "failed"}))
    assert journeygen("view", "r", "--folder", cwd=tmp_path).returncode == 0
    after = sorted(p.name for p in data.iterdir() if p.suffix == ".js")
    assert len(after) == 2 and len(set(after) & set(before)) == 1


def test_a_folder_whose_index_is_not_a_report_is_not_overwritten(tmp_path: Path) -> None:
    write_run(tmp_path, 3, "r")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>my site</h1>")
    done = journeygen("view", "r", "--folder", "-o", "site", cwd=tmp_path)
    assert done.returncode == 1 and "is not a journeygen report: not overwriting it" in done.stderr
    assert (tmp_path / "site" / "index.html").read_text() == "<h1>my site</h1>"
    assert not (tmp_path / "site" / "data").exists()
