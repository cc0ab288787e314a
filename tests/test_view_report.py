"""The HTML report, rendered by a real headless Chromium from a run whose problem, steps and
rejected row carry adversarial text: the tree, labels and journey are drawn, nothing runs,
both in one self-contained file and in a report folder (index.html + data/ chunk scripts)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dom_cases import (
    DomParser,
    assert_marks_cover_no_label,
    dump_dom,
    needs_chromium,
    overlap,
    probe,
)
from hand_cases import PROBLEM, apples_nodes, leaf

from journeygen.config import RunConfig
from journeygen.judges.labels import backup_labels
from journeygen.models import Node, Problem, Tree
from journeygen.prompts import load_prompts
from journeygen.store import RunStore
from journeygen.view.html import embed_json, render_report
from journeygen.view.payload import report_payload
from journeygen.view.walks import tree_paths

PWN_TITLE = "document.title='pwned'"
PWN_ATTR = "document.body.setAttribute('data-pwned','1')"
QUESTION = (
    f"</script><script>{PWN_TITLE}</script> Tom has 3 apples and buys 5 more. "
    "How many? ünïcödé 数学 \u2028 $x^{2}$ & <b>bold</b> "
    f'"><img src=x onerror="{PWN_ATTR}">'
)
SCRIPT_STEP = f"First I add the numbers. <script>{PWN_TITLE}</script>"
IMG_STEP = f'The answer is 9. "><img src=x onerror="{PWN_ATTR}">'
LATEX_STEP = "So $\\frac{16}{2} = 8$ — ünïcödé 数学 🙂. The answer is 8."
LONG_STEP = "Let me think about this very carefully. " * 150 + "The answer is 7."
SCRIPT = {"responses": [SCRIPT_STEP, IMG_STEP, LATEX_STEP, LONG_STEP], "cycle": True}
REJECT_LINE = '{"question": "<script>' + PWN_TITLE + '</script>", "answer": '


def journeygen(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@dataclass
class Report:
    path: Path
    tree: Tree
    profile: Path
    mode: str = "single"

    def render(self, fragment: str) -> tuple[str, DomParser]:
        dom = dump_dom(self.path.as_uri() + fragment, self.profile)
        parser = DomParser()
        parser.feed(dom)
        return dom, parser


@pytest.fixture(scope="module", params=["single", "folder"])
def report(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Report]:
    """The adversarial run's report as `journeygen view` writes it by default (one file for
    one tree) and as a report folder (--folder)."""
    mode = request.param
    root = tmp_path_factory.mktemp(f"report-{mode}")
    problems = root / "adv.jsonl"
    good = {"id": "xss", "question": QUESTION, "answer": "8"}
    problems.write_text(json.dumps(good, ensure_ascii=False) + "\n" + REJECT_LINE + "\n")
    (root / "script.json").write_text(json.dumps(SCRIPT, ensure_ascii=False))
    done = journeygen(
        "generate", problems, "--backend", "fake", "--model", root / "script.json",
        "--width", "2", "--depth", "3", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = journeygen("view", "adv", *(["--folder"] if mode == "folder" else []), cwd=root)
    assert done.returncode == 0, done.stderr
    page = root / "outputs" / "adv" / ("report/index.html" if mode == "folder" else "report.html")
    assert str(page.relative_to(root)) in done.stdout
    tree = RunStore(root / "trees", "adv").load_tree("xss")
    assert tree is not None
    yield Report(page, tree, root / "profile", mode)


def island(page: str, element_id: str) -> Any:
    """The JSON in the page's `<script type="application/json" id=element_id>`."""
    data = page.split(f'<script type="application/json" id="{element_id}">')[1]
    return json.loads(data.split("</script>")[0])


def test_the_page_holds_no_markup_from_the_data(report: Report) -> None:
    page = report.path.read_text(encoding="utf-8")
    assert "<img" not in page and "\u2028" not in page
    index = island(page, "report-index")
    assert index["mode"] == report.mode and index["rejects"][0]["line"] == 2
    assert [row["id"] for row in index["rows"]] == ["xss"] and index["rows"][0]["q"] == QUESTION
    [key] = index["chunks"]
    if report.mode == "single":  # index, the one chunk and our own script; nothing loads
        assert page.lower().count("<script") == 3 and not re.search("<script[^>]* src=", page)
        assert not (report.path.parent / "report").exists()
        trees = island(page, f"chunk-{key}")
    else:  # index and our own script; the chunk is a script beside it, ASCII, with no markup
        assert page.lower().count("<script") == 2
        assert [p.name for p in (report.path.parent / "data").iterdir()] == [f"chunk-{key}.js"]
        chunk = (report.path.parent / "data" / f"chunk-{key}.js").read_bytes()
        assert chunk.isascii() and b"<" not in chunk and b">" not in chunk
        head, _, rest = chunk.decode().partition(",")
        assert head == f'journeygenChunk("{key}"' and rest.endswith(");\n")
        trees = json.loads(rest[: -len(");\n")])
    assert [t["problem"]["question"] for t in trees] == [QUESTION]
    texts = [n["text"] for n in trees[0]["nodes"]]
    assert texts == [n.text for n in report.tree.nodes] and SCRIPT_STEP in texts


def test_embed_json_escapes_what_could_end_the_script() -> None:
    text = embed_json({"a": "</script><!-- & \u2028\u2029 >"})
    assert text == '{"a":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029 \\u003e"}'
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 >"}


@needs_chromium
def test_chromium_draws_tree_labels_and_journey_and_runs_no_injected_script(
    report: Report,
) -> None:
    tree = report.tree
    script_node = next(n for n in tree.nodes if n.text == SCRIPT_STEP)
    dom, parsed = report.render(f"#p=xss&n={script_node.id}")

    # our own script ran to the end; the injected ones did nothing
    assert parsed.find("title")[0].text == ["journeygen · adv"]
    body = parsed.find("body")[0]
    assert body.attrs.get("data-ready") == "1"
    assert not any("data-pwned" in e.attrs for e in parsed.elements)
    assert parsed.find("img") == []
    assert f"&lt;script&gt;{PWN_TITLE}&lt;/script&gt;" in dom  # shown as text
    # index, code and the tree's chunk (an island in one file, a loaded script in a folder)
    scripts = [e for e in parsed.elements if e.tag == "script"]
    assert len(scripts) == 3
    assert [e.attrs.get("src") for e in scripts if "src" in e.attrs] == (
        [] if report.mode == "single" else [f"data/chunk-{body.attrs['data-chunks']}.js"]
    )

    # every node of the tree is drawn (plus the question), coloured by its label
    drawn = [e for e in parsed.find("g") if "node" in e.classes]
    assert sorted(e.attrs["data-node"] for e in drawn) == sorted(
        ["ROOT", *(n.id for n in tree.nodes)]
    )
    labels = {e.attrs["data-node"]: e.attrs["data-label"] for e in drawn}
    assert labels == {"ROOT": "root", **{n.id: n.label for n in tree.nodes}}
    assert {"correct", "incorrect"} <= set(labels.values())

    # the journey is drawn over it: one numbered mark per segment, one line per move
    journey = next(p for p in tree_paths(tree) if p.kind == "journey")
    marks = [e for e in parsed.find("g") if "order" in e.classes]
    assert sorted(int(e.attrs["data-num"]) for e in marks) == list(
        range(1, len(journey.segments) + 1)
    )
    moves = [e for e in parsed.find("path") if "move" in e.classes]
    kinds = sorted(e.classes[1] for e in moves)
    expected = sorted(s.kind for s in journey.segments if s.kind != "reflection")
    assert kinds == expected and "backtrack" in kinds and "wrong_step" in kinds
    assert journey.detours == kinds.count("backtrack") >= 1

    # the clicked-on node's details show its text as text, with its verdicts
    detail = parsed.find("div", **{"data-field": "node-text"})
    assert "".join(detail[0].text) == SCRIPT_STEP
    assert "".join(parsed.find("div", **{"data-field": "problem-question"})[0].text) == QUESTION
    assert parsed.find("tr", **{"data-verdict": script_node.label})

    # the list has the problem and the rejected row
    keys = [e.attrs["data-key"] for e in parsed.find("li") if "data-key" in e.attrs]
    assert keys == ["p:xss", "r:0"]


@needs_chromium
def test_chromium_shows_long_and_unicode_steps_whole_and_switches_to_the_shortcut(
    report: Report,
) -> None:
    tree = report.tree
    long_node = next(n for n in tree.nodes if n.text == LONG_STEP)
    walks = tree_paths(tree)
    shortcut = next(i for i, p in enumerate(walks) if p.kind == "shortcut")
    _, parsed = report.render(f"#p=xss&w={shortcut}&n={long_node.id}")

    assert "".join(parsed.find("div", **{"data-field": "node-text"})[0].text) == LONG_STEP
    pressed = [e for e in parsed.find("button") if e.attrs.get("aria-pressed") == "true"]
    assert [e.attrs.get("data-walk") for e in pressed if "data-walk" in e.attrs] == [str(shortcut)]
    moves = [e for e in parsed.find("path") if "move" in e.classes]
    assert sorted(e.classes[1] for e in moves) == sorted(s.kind for s in walks[shortcut].segments)
    assert all(e.classes[1] in ("step", "answer") for e in moves)  # no detour on a shortcut
    thought = "".join(parsed.find("div", **{"data-field": "thought"})[0].text)
    assert LATEX_STEP in thought and "The answer is 9." not in thought


@needs_chromium
def test_chromium_shows_a_rejected_row_as_text(report: Report) -> None:
    dom, parsed = report.render("#r=0")
    raw = parsed.find("div", **{"data-field": "raw"})
    assert "".join(raw[0].text) == REJECT_LINE
    assert parsed.find("title")[0].text == ["journeygen · adv"]
    assert not any("data-pwned" in e.attrs for e in parsed.elements)
    assert parsed.find("img") == [] and "&lt;script&gt;" in dom


# Steps of realistic length, so labels are cut; the shape of a default search (width 4, keep
# 2, depth 4): at each depth one step goes on, next to three finished ones (9, 8, 7).
ON = (
    "First, Tom starts with 3 apples; then he buys 5 more apples at the market, so we need to "
    "add the two amounts together to find the total number of apples he has."
)
FINALS = [
    ("He buys 6 more, so 3 + 6 = 9 apples in total. The answer is 9.", "9"),
    ("Adding them: 3 + 5 = 8, so Tom now has 8 apples altogether. The answer is 8.", "8"),
    ("Perhaps the question means he gives some away: 3 + 5 - 1 = 7. The answer is 7.", "7"),
]


def deep_tree() -> Tree:
    """A depth-4 tree of 16 steps whose deepest level holds only final answers."""
    nodes, parent = [], None
    for depth in range(1, 5):
        first = f"{parent}.1" if parent else "1"
        if depth < 4:
            nodes.append(Node(id=first, parent=parent, text=ON))
        else:
            nodes.append(leaf(first, parent, ON + " The answer is 5.", "5"))
        for i, (text, answer) in enumerate(FINALS, start=2):
            nodes.append(leaf(f"{parent}.{i}" if parent else str(i), parent, text, answer))
        parent = first
    backup_labels(nodes, "8")
    question = "Tom has 3 apples and buys 5 more at the market. How many apples does he have?"
    return Tree(
        problem=Problem(id="deep", question=question, answer="8"),
        nodes=nodes,
        config=RunConfig().model_dump(mode="json"),
    )


@pytest.fixture(scope="module")
def deep_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    """The report of `deep_tree`, as `journeygen view` writes it."""
    root = tmp_path_factory.mktemp("deep")
    tree = deep_tree()
    page = root / "report.html"
    page.write_text(render_report(report_payload([tree], load_prompts(), run="deep")))
    yield Report(page, tree, root / "profile")


@needs_chromium
@pytest.mark.parametrize("size", [(1400, 900), (1000, 800)])
def test_chromium_keeps_the_deepest_answers_beside_the_panel_and_marks_off_labels(
    deep_report: Report, size: tuple[int, int]
) -> None:
    tree = deep_report.tree
    data = probe(deep_report.path, "#p=deep", size, deep_report.profile)
    pane, side, node = data["pane"], data["side"], data["node"]
    client_width, client_height, scroll_width = data["inner"]
    assert not overlap(pane, side)
    # the whole width of the tree is in view: no node or label runs under the panel
    assert scroll_width <= client_width
    for box in data["nodes"]:
        assert pane[0] - 0.5 <= box[0] and box[2] <= pane[0] + client_width + 0.5, box
    # the deepest answer, scrolled to, is inside the pane and clear of the panel
    assert tree.node(data["rightmost"]).terminal
    assert pane[1] <= node[1] and node[3] <= pane[1] + client_height
    assert not overlap(node, side)
    assert_marks_cover_no_label(data)


@needs_chromium
def test_chromium_puts_journey_marks_off_the_labels_of_the_adversarial_tree(
    report: Report,
) -> None:
    data = probe(report.path, "#p=xss", (1400, 900), report.profile)
    journey = next(p for p in tree_paths(report.tree) if p.kind == "journey")
    assert len(data["marks"]) == len(journey.segments)
    assert_marks_cover_no_label(data)
    assert data["inner"][2] <= data["inner"][0]


def thinking_tree() -> Tree:
    """The apples hand tree whose wrong step 1.2 carries a reasoning model's hostile thinking."""
    nodes = [
        n.model_copy(update={"reasoning": THINKING}) if n.id == "1.2" else n for n in apples_nodes()
    ]
    return Tree(problem=PROBLEM, nodes=nodes, config=RunConfig().model_dump(mode="json"))


THINKING = f"Hmm, maybe he buys 4? <script>{PWN_TITLE}</script> " + (
    f'"><img src=x onerror="{PWN_ATTR}"> ' * 3
)


def test_payload_keeps_reasoning_only_on_steps_that_have_it() -> None:
    payload = report_payload([thinking_tree()], load_prompts(), run="thinking")
    nodes = {n["id"]: n for n in payload["problems"][0]["nodes"]}
    assert nodes["1.2"]["reasoning"] == THINKING
    assert [i for i, n in nodes.items() if "reasoning" in n] == ["1.2"]
    page = render_report(payload)
    index = island(page, "report-index")
    data = page.split(f'id="chunk-{index["chunks"][0]}">')[1].split("</script>")[0]
    assert "<" not in data and json.loads(data) == payload["problems"]


@pytest.fixture(scope="module")
def hand_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the thinking hand tree, whose journey has two detours in three columns."""
    page = tmp_path_factory.mktemp("hand") / "thinking.html"
    page.write_text(render_report(report_payload([thinking_tree()], load_prompts(), run="t")))
    return page


@needs_chromium
def test_chromium_shows_a_steps_reasoning_as_text(hand_page: Path) -> None:
    profile = hand_page.with_name("profile")
    parsed = DomParser()
    parsed.feed(dump_dom(hand_page.as_uri() + "#p=apples&n=1.2", profile))
    assert parsed.find("body")[0].attrs.get("data-ready") == "1"
    assert "".join(parsed.find("div", **{"data-field": "reasoning"})[0].text) == THINKING
    assert parsed.find("title")[0].text == ["journeygen · t"]
    assert parsed.find("img") == [] and not any("data-pwned" in e.attrs for e in parsed.elements)
    assert [e.tag for e in parsed.elements].count("script") == 3  # index, chunk, code
    # a step without reasoning shows no thinking section
    other = DomParser()
    other.feed(dump_dom(hand_page.as_uri() + "#p=apples&n=1", profile))
    assert other.find("div", **{"data-field": "reasoning"}) == []


@needs_chromium
@pytest.mark.parametrize("size", [(1400, 900), (1000, 800)])
def test_chromium_puts_every_journey_mark_of_the_hand_tree_off_the_labels(
    hand_page: Path, size: tuple[int, int]
) -> None:
    data = probe(hand_page, "#p=apples", size, hand_page.with_name("profile"))
    assert len(data["marks"]) == 9  # the hand tree's journey: 9 segments
    assert_marks_cover_no_label(data)
    assert data["inner"][2] <= data["inner"][0] and not overlap(data["pane"], data["side"])
