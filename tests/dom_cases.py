"""Headless Chromium for the report tests: the DOM it serialises once the page's scripts have
run, parsed into elements with their attributes and whole text, and the boxes of a page's
tree pane, nodes, labels and journey marks for the layout tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian `chromium` is not installed (apt-get install chromium; .ci/run does it)",
)


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


def dump_dom(url: str, profile: Path, *flags: str) -> str:
    """The DOM headless Chromium serialises once the page's scripts have run."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *flags,
            "--virtual-time-budget=5000", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# Appended to a copy of a report: once the page has loaded (a folder's chunk script, which
# the tree waits for, holds the load event back), it scrolls the rightmost node (an answer at
# the deepest level) into the middle of the tree pane's height and writes the boxes the tests
# compare into <body data-probe>, for --dump-dom.
PROBE = """<script>
addEventListener("load", function () {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  };
  const all = (sel) => Array.from(document.querySelectorAll(sel), box);
  const pane = document.getElementById("tree-pane");
  const cx = (g) => Number(g.querySelector("circle.body").getAttribute("cx"));
  const nodes = Array.from(document.querySelectorAll("#tree-svg g.node"));
  const right = nodes.reduce((a, b) => (cx(b) > cx(a) ? b : a));
  pane.scrollTop += box(right)[1] - box(pane)[1] - pane.clientHeight / 2;
  document.body.setAttribute("data-probe", JSON.stringify({
    viewport: [innerWidth, innerHeight],
    pane: box(pane),
    side: box(document.getElementById("side")),
    inner: [pane.clientWidth, pane.clientHeight, pane.scrollWidth],
    rightmost: right.getAttribute("data-node"),
    node: box(right),
    nodes: nodes.map(box),
    labels: all("#tree-svg text.label"),
    marks: all("#tree-svg g.order circle"),
  }));
});
</script>
"""
Box = list[float]


def probe(page: Path, fragment: str, size: tuple[int, int], profile: Path) -> dict[str, Any]:
    """The probe's boxes for `page` opened at `fragment` in a window of `size` pixels."""
    probed = page.with_name(f"probe-{size[0]}x{size[1]}-{page.name}")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    dom = dump_dom(probed.as_uri() + fragment, profile, f"--window-size={size[0]},{size[1]}")
    body = DomParser()
    body.feed(dom)
    data: dict[str, Any] = json.loads(body.find("body")[0].attrs["data-probe"])
    # the window's width was honoured, so the test is real (headless keeps some height back)
    assert data["viewport"][0] == size[0] and data["viewport"][1] <= size[1]
    return data


def overlap(a: Box, b: Box, slack: float = 0.5) -> bool:
    """Whether two [left, top, right, bottom] boxes share more than `slack` pixels."""
    return min(a[2], b[2]) - max(a[0], b[0]) > slack and min(a[3], b[3]) - max(a[1], b[1]) > slack


def assert_marks_cover_no_label(data: dict[str, Any]) -> None:
    marks, labels = data["marks"], data["labels"]
    assert marks and labels
    assert [(m, lb) for m in marks for lb in labels if overlap(m, lb)] == []
    assert [(a, b) for i, a in enumerate(marks) for b in marks[i + 1 :] if overlap(a, b)] == []
