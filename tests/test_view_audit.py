"""Every label can be audited: `show --node`, the report's request section, cut and padding
steps in `show` and the report, the trust rows of `stats`, and the request fields of `graph`,
on a scripted fake run whose question and raw answers carry hostile markup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner, Result
from dom_cases import DomParser, dump_dom, needs_chromium
from hand_cases import PROBLEM, apples_nodes

from journeygen.cli import main
from journeygen.config import RunConfig
from journeygen.models import Tree
from journeygen.prompts import load_prompts
from journeygen.store import RunStore
from journeygen.view.audit import audit_node, cache_path
from journeygen.view.payload import report_payload

PWN_TITLE = "document.title='pwned'"
PWN_ATTR = "document.body.setAttribute('data-pwned','1')"
QUESTION = f"Tom has 3 apples and buys 5 more. How many? </script><script>{PWN_TITLE}</script>"
STEP = f"First I add the numbers. <script>{PWN_TITLE}</script>"
RAW = f'{STEP}\nA second line <img src=x onerror="{PWN_ATTR}">'  # the step is its first line
CUT = "So the total is 8 and then we"
# Width 3, depth 3: the question gets 1 (from RAW), 2 (wrong answer) and 3 (cut); step 1 gets
# 1.1 (right), 1.2 (wrong) and 1.3, which repeats step 1. Nothing else is expanded.
SCRIPT = [
    RAW,
    "The answer is 9.",
    {"text": CUT, "finish_reason": "length"},
    "So the total is 8. The answer is 8.",
    "The answer is 7.",
    STEP,
]


def journeygen(*args: str | Path, cwd: Path) -> Result:
    """The command in-process (a subprocess per call would cost seconds of imports)."""
    with chdir(cwd):
        return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


@dataclass
class Run:
    cwd: Path
    tree: Tree


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    cwd = tmp_path_factory.mktemp("audit")
    row = {"id": "apples", "question": QUESTION, "answer": "8"}
    (cwd / "p.jsonl").write_text(json.dumps(row) + "\n")
    (cwd / "script.json").write_text(json.dumps(SCRIPT))
    args = ("--backend", "fake", "--model", "script.json", "--width", "3", "--depth", "3")
    done = journeygen("generate", "p.jsonl", "--run", "audit", *args, cwd=cwd)
    assert done.exit_code == 0, done.output
    tree = RunStore(cwd / "trees", "audit").load_tree("apples")
    assert tree is not None
    assert [(n.id, n.text, n.label) for n in tree.nodes] == [
        ("1", STEP, "correct"),
        ("2", "The answer is 9.", "incorrect"),
        ("3", CUT, "unknown"),
        ("1.1", "So the total is 8. The answer is 8.", "correct"),
        ("1.2", "The answer is 7.", "incorrect"),
        ("1.3", STEP, "unknown"),
    ]
    yield Run(cwd, tree)


def test_show_node_prints_the_request_and_the_raw_answer_behind_a_label(run: Run) -> None:
    done = journeygen("show", "audit", "apples", "--node", "1", cwd=run.cwd)
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0] == "✓ correct step 1 of apples"
    assert "finish reason stop" in lines[1]
    assert f"    {STEP}" in lines  # the step's own text, whole
    assert any(line.startswith("    ✓ backup correct (score 0.50): 1 of 2") for line in lines)
    key = run.tree.node("1").request
    assert key is not None and f"request {key}" in lines
    assert "    backend: fake:script.json" in lines
    options = next(line for line in lines if line.startswith("    options: "))
    assert "max_tokens=96" in options and 'stop=["\\n"]' in options and "seed=" in options
    # the user message holds the question, as text; the raw answer holds both lines
    user = lines.index("    message 2 · user:")
    assert lines[user + 1] == f"        Problem: {QUESTION}"
    raw = lines.index("raw completion: (sample 1 of its request, finish reason stop)")
    assert lines[raw + 1 : raw + 3] == [f"    {line}" for line in RAW.split("\n")]


def test_show_marks_cut_and_padding_steps_and_says_why_in_full(run: Run) -> None:
    tree = journeygen("show", "audit", "apples", cwd=run.cwd).stdout
    assert f"? [3] {CUT}  ✂ cut by max_tokens" in tree
    assert "(adds nothing: repeats step 1 of its own path word for word)" in tree
    cut = journeygen("show", "audit", "apples", "--node", "3", cwd=run.cwd).stdout.splitlines()
    assert "finish reason length" in cut[1]
    assert cut[2] == "✂ cut by max_tokens: never a correct step, not expanded"
    raw = cut.index("raw completion: (sample 3 of its request, finish reason length)")
    assert cut[raw + 1] == f"    {CUT}"
    padding = journeygen("show", "audit", "apples", "--node", "1.3", cwd=run.cwd).stdout
    assert (
        "adds nothing: repeats step 1 of its own path word for word (not expanded, left out "
        "of sample text)" in padding
    )
    missing = journeygen("show", "audit", "apples", "--node", "9", cwd=run.cwd)
    assert (
        missing.exit_code == 1 and "tree 'apples' of run 'audit' has no step '9'" in missing.output
    )
    alone = journeygen("show", "audit", "--node", "1", cwd=run.cwd)
    assert alone.exit_code == 2 and "--node needs a RUN and a problem ID" in alone.output


def test_show_node_says_when_no_request_is_recorded(run: Run, tmp_path: Path) -> None:
    node = run.tree.node("1")
    gone = audit_node(run.tree, node, tmp_path / "cache.sqlite")
    assert gone.request is None and gone.missing == (
        f"{tmp_path / 'cache.sqlite'} does not exist (entry {node.request})"
    )
    hand = Tree(problem=PROBLEM, nodes=apples_nodes(), config=RunConfig().model_dump(mode="json"))
    store = RunStore(tmp_path / "trees", "hand")
    store.save_tree(hand)
    done = journeygen("show", "hand", "apples", "--node", "1.1", cwd=tmp_path)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-1] == (
        "no request recorded: the step carries no request-cache entry (a run without a cache, "
        "or one saved before steps kept their entry)"
    )


SOLUTIONS = [
    "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 5 = 8.\nThe answer is 8.",
    "Tom starts with 3 apples.\nHe buys 4 more, so 3 + 4 = 7.\nThe answer is 7.",
]


@pytest.fixture(scope="module")
def best_of_n(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A best_of_n run: the first solution makes 1 → 1.1 → 1.1.1, the second branches at 1.2
    → 1.2.1; only each solution's first new step (1, 1.2) holds a cache entry."""
    cwd = tmp_path_factory.mktemp("bon")
    (cwd / "p.jsonl").write_text(json.dumps({"id": "apples", **PROBLEM.model_dump()}) + "\n")
    (cwd / "bon.json").write_text(json.dumps({"responses": SOLUTIONS, "cycle": True}))
    args = ("--strategy", "best_of_n", "--backend", "fake", "--model", "bon.json", "--depth", "3")
    assert journeygen("generate", "p.jsonl", "--run", "bon", *args, cwd=cwd).exit_code == 0
    return cwd


def test_a_later_step_of_a_whole_solution_shows_the_request_of_its_first_step(
    best_of_n: Path,
) -> None:
    lines = journeygen("show", "bon", "apples", "--node", "1.2.1", cwd=best_of_n).stdout
    lines_list = lines.splitlines()
    heading = next(line for line in lines_list if line.startswith("request "))
    assert heading.endswith("(made with step 1.2: one whole solution sampled at once)")
    raw = next(i for i, line in enumerate(lines_list) if line.startswith("raw completion:"))
    assert lines_list[raw + 1 : raw + 4] == [f"    {line}" for line in SOLUTIONS[1].split("\n")]
    tree = RunStore(best_of_n / "trees", "bon").load_tree("apples")
    assert tree is not None and tree.node("1.2.1").request is None
    cache = cache_path(best_of_n / "trees" / "bon")
    nodes = report_payload([tree], load_prompts(), run="bon", cache=cache)["problems"][0]["nodes"]
    assert {n["id"]: n["audit"].get("via") for n in nodes} == {
        "1": None, "1.1": "1", "1.1.1": "1", "1.2": None, "1.2.1": "1.2",
    }  # fmt: skip


@needs_chromium
def test_chromium_shows_the_whole_solution_behind_a_later_step(best_of_n: Path) -> None:
    assert journeygen("view", "bon", "-o", "report.html", cwd=best_of_n).exit_code == 0
    _, parsed = rendered(best_of_n / "report.html", "#p=apples&n=1.2.1")
    assert text_of(parsed, "raw-completion") == [SOLUTIONS[1]]
    assert text_of(parsed, "via")[0].startswith("Made with step 1.2: one whole solution")


def payload_of(run: Run) -> dict[str, Any]:
    store = RunStore(run.cwd / "trees", "audit")
    built = report_payload([run.tree], load_prompts(), run="audit", cache=cache_path(store.dir))
    tree: dict[str, Any] = built["problems"][0]
    return tree


def test_the_payload_files_each_request_once_and_points_each_step_at_it(run: Run) -> None:
    tree = payload_of(run)
    nodes = {node["id"]: node for node in tree["nodes"]}
    # two requests: the question's three samples and step 1's three
    keys = {run.tree.node(i).request.partition("/")[0] for i in nodes}  # type: ignore[union-attr]
    assert set(tree["requests"]) == keys and len(keys) == 2
    assert nodes["1"]["audit"] == {"completion": {"finish_reason": "stop", "text": RAW}}
    key, _, sample = nodes["1"]["request"].partition("/")
    assert sample == "0"
    sent = tree["requests"][key]
    assert sent["backend"] == "fake:script.json" and sent["options"]["max_tokens"] == 96
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert QUESTION in sent["messages"][1]["content"]
    assert nodes["3"]["audit"]["completion"] == {"finish_reason": "length", "same_text": True}
    assert nodes["1.3"]["padding"] == "repeats step 1 of its own path word for word"
    assert [i for i, node in nodes.items() if "padding" in node] == ["1.3"]
    without = report_payload([run.tree], load_prompts(), run="audit")["problems"][0]
    assert without["requests"] == {} and without["nodes"][0]["audit"] == {
        "missing": "the report was built without the run's request cache"
    }


@pytest.fixture(scope="module")
def page(run: Run) -> Path:
    done = journeygen("view", "audit", "-o", "report.html", cwd=run.cwd)
    assert done.exit_code == 0, done.output
    return run.cwd / "report.html"


def rendered(page: Path, fragment: str) -> tuple[str, DomParser]:
    dom = dump_dom(page.as_uri() + fragment, page.with_name("profile"))
    parsed = DomParser()
    parsed.feed(dom)
    assert parsed.find("body")[0].attrs.get("data-ready") == "1"
    return dom, parsed


def text_of(parsed: DomParser, field: str) -> list[str]:
    return ["".join(e.text) for e in parsed.find(None, **{"data-field": field})]


@needs_chromium
def test_chromium_shows_the_request_and_raw_answer_as_inert_text(page: Path) -> None:
    source = page.read_text(encoding="utf-8")
    assert source.lower().count("<script") == 3 and "<img" not in source  # index, chunk, code
    dom, parsed = rendered(page, "#p=apples&n=1")
    assert parsed.find("title")[0].text == ["journeygen · audit"]
    assert parsed.find("img") == [] and not any("data-pwned" in e.attrs for e in parsed.elements)
    assert [e.tag for e in parsed.elements].count("script") == 3
    audit = parsed.find("details", **{"data-field": "audit"})
    assert len(audit) == 1 and "open" not in audit[0].attrs  # folded
    messages = text_of(parsed, "message")
    assert len(messages) == 2 and f"Problem: {QUESTION}" in messages[1]
    assert text_of(parsed, "raw-completion") == [RAW]
    assert "&lt;img src=x" in dom  # the raw answer's markup, shown as text


@needs_chromium
def test_chromium_draws_cut_and_padding_steps_apart_and_says_why(page: Path) -> None:
    _, parsed = rendered(page, "#p=apples&n=3")
    classes = {e.attrs["data-node"]: e.classes for e in parsed.find("g") if "data-node" in e.attrs}
    assert "cut" in classes["3"] and "padding" not in classes["3"]
    assert "padding" in classes["1.3"] and "cut" not in classes["1.3"]
    assert not {"cut", "padding"} & {c for i in ("1", "2", "1.1", "1.2") for c in classes[i]}
    assert text_of(parsed, "cut") == ["✂ Cut by max_tokens: never a correct step, not expanded."]
    assert text_of(parsed, "raw-completion") == [CUT]
    legend = "".join("".join(e.text) for e in parsed.elements if "legend" in e.classes)
    assert "cut short" in legend and "adds nothing" in legend
    titles = [e.attrs.get("title", "") for e in parsed.elements if "dot" in e.classes]
    assert "cut by max_tokens: never correct, not expanded" in titles
    _, padding = rendered(page, "#p=apples&n=1.3")
    assert text_of(padding, "padding") == [
        "Adds nothing: repeats step 1 of its own path word for word (not expanded, left out "
        "of sample text)."
    ]


def test_stats_of_the_run_count_cut_and_padding_steps_and_hint(run: Run) -> None:
    done = journeygen("stats", "audit", "--json", cwd=run.cwd)
    assert done.exit_code == 0, done.output
    evidence = json.loads(done.stdout)["evidence"]
    # 6 model steps, 1 cut (3), 1 padding (1.3); the correct path 1 (value) → 1.1 (answer)
    assert (evidence["model_steps"], evidence["cut_steps"], evidence["redundant_steps"]) == (
        6, 1, 1,
    )  # fmt: skip
    assert evidence["by_evidence"] == {"answer": 1, "value": 1}
    assert evidence["paths"] == {"policy": 1}
    assert evidence["answer_statements"] == {"the answer is": 3}
    assert evidence["journeys_failing_arithmetic"] == 0
    tables = journeygen("stats", "audit", cwd=run.cwd).stdout
    assert "stated final answer matches" in tables and "value ≥ threshold" in tables
    assert "1 of 6 model steps (17%)" in tables and "17% of the model's steps" in tables


def test_graph_json_carries_finish_reason_reasoning_and_request(run: Run) -> None:
    out = run.cwd / "graph.json"
    done = journeygen("graph", "audit", "apples", "--format", "json", "-o", out, cwd=run.cwd)
    assert done.exit_code == 0, done.output
    graph = nx.node_link_graph(json.loads(out.read_text(encoding="utf-8")), edges="edges")
    assert graph.nodes["3"]["finish_reason"] == "length"
    assert graph.nodes["1"]["request"] == run.tree.node("1").request
    assert graph.nodes["1"]["reasoning"] is None
