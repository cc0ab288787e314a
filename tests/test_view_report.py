"""The HTML report, rendered by a real headless Chromium from a run whose problem, steps and
rejected row carry adversarial text: the tree, labels and journey are drawn, nothing runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from journeygen.models import Tree
from journeygen.store import RunStore
from journeygen.view.html import embed_json
from journeygen.view.walks import tree_paths

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian `chromium` is not installed (apt-get install chromium; .ci/run does it)",
)

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
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class DomParser(HTMLParser):
    """Every element of a serialised DOM with its attributes and its whole text content."""

    VOID: ClassVar = {"meta", "input", "img", "br", "link", "hr", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]


@dataclass
class Report:
    path: Path
    tree: Tree
    profile: Path

    def render(self, fragment: str) -> tuple[str, DomParser]:
        assert CHROMIUM is not None
        done = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={self.profile}",
                "--virtual-time-budget=5000", "--dump-dom", self.path.as_uri() + fragment,
            ],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        parser = DomParser()
        parser.feed(done.stdout)
        return done.stdout, parser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    root = tmp_path_factory.mktemp("report")
    problems = root / "adv.jsonl"
    good = {"id": "xss", "question": QUESTION, "answer": "8"}
    problems.write_text(json.dumps(good, ensure_ascii=False) + "\n" + REJECT_LINE + "\n")
    (root / "script.json").write_text(json.dumps(SCRIPT, ensure_ascii=False))
    done = journeygen(
        "generate", problems, "--backend", "fake", "--model", root / "script.json",
        "--width", "2", "--depth", "3", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = root / "report.html"
    done = journeygen("view", "adv", "-o", page, cwd=root)
    assert done.returncode == 0, done.stderr
    tree = RunStore(root / "trees", "adv").load_tree("xss")
    assert tree is not None
    yield Report(page, tree, root / "profile")


def test_the_page_holds_no_markup_from_the_data(report: Report) -> None:
    page = report.path.read_text(encoding="utf-8")
    assert page.lower().count("<script") == 2  # the JSON island and our own script
    assert "<img" not in page and "\u2028" not in page
    data = page.split('<script type="application/json" id="report-data">')[1]
    data = data.split("</script>")[0]
    payload = json.loads(data)
    assert payload["problems"][0]["problem"]["question"] == QUESTION
    assert payload["rejects"][0]["line"] == 2


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
    assert [e.tag for e in parsed.elements].count("script") == 2

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
