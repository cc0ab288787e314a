"""The offline HTML report: one file with its style, script and data inline, so it opens
anywhere without a server or a CDN. All text from models and problems goes in as JSON."""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any

from journeygen.derive.samples import SampleSettings
from journeygen.prompts import PromptSet
from journeygen.store import RunStore, atomic_open
from journeygen.view.audit import cache_path
from journeygen.view.payload import read_rejects, report_payload

__all__ = ["SCRIPTS", "build_report", "embed_json", "render_report", "write_report"]

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def embed_json(data: Any) -> str:
    """JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` can
    close the element or start markup, and U+2028/9 can't break a line in old parsers."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return "".join(_JSON_ESCAPES.get(char, char) for char in text)


# The report's script, one concern a file, inlined in this order into one function scope
# (report.html wraps it): later files call earlier ones, and report-app.js starts the page.
SCRIPTS = (
    "report-base.js",
    "report-list.js",
    "report-tree.js",
    "report-journey.js",
    "report-audit.js",
    "report-details.js",
    "report-app.js",
)


def _asset(name: str) -> str:
    return resources.files("journeygen.view").joinpath("assets", name).read_text(encoding="utf-8")


def render_report(payload: dict[str, Any]) -> str:
    """The report page for a payload built by `report_payload`."""
    style = _asset("report.css")
    script = "\n".join(_asset(name) for name in SCRIPTS)
    if "</style" in style.lower() or "</script" in script.lower():
        raise ValueError("report assets must not close their own <style>/<script> element")
    page = _asset("report.html")
    parts = {
        "{{title}}": html.escape(f"journeygen · {payload['run']}"),
        "{{style}}": style,
        "{{script}}": script,
        "{{data}}": embed_json(payload),
    }
    for marker, value in parts.items():  # data last: nothing is substituted inside it
        before, found, after = page.partition(marker)
        if not found:
            raise ValueError(f"report.html has no {marker} marker")
        page = before + value + after
    return page


def build_report(
    store: RunStore, prompts: PromptSet, settings: SampleSettings, *, rejects_path: Path
) -> str:
    """The report for a whole run: its saved trees, their samples built with `settings`,
    the requests behind their steps (from the run's cache) and the rows it rejected."""
    payload = report_payload(
        store.trees(),
        prompts,
        run=store.run,
        rejects=read_rejects(rejects_path),
        settings=settings,
        cache=cache_path(store.dir),
    )
    return render_report(payload)


def write_report(page: str, path: Path) -> None:
    """Write the page atomically (a reader never sees half a report)."""
    with atomic_open(path) as handle:
        handle.write(page)
