"""Graph exports, the terminal view, plots and the report data, on a hand-built tree whose
journey is known: one wrong leaf under the question, one wrong branch under the first step."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from hand_cases import PROBLEM, apples_nodes
from rich.console import Console, RenderableType

from journeygen.backends.base import Completion
from journeygen.backends.fake import FakeBackend
from journeygen.config import JourneyConfig, RunConfig, SearchConfig
from journeygen.derive.samples import SampleSettings, samples
from journeygen.derive.texts import TextCache
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Tree
from journeygen.prompts import load_prompts
from journeygen.search.tree import search
from journeygen.store import Manifest, RunStore, tree_json
from journeygen.view.graph import dot_quote, node_link, to_dot
from journeygen.view.payload import report_payload, word_diff
from journeygen.view.plots import PLOT_FILES, write_plots
from journeygen.view.stats import compute_stats
from journeygen.view.terminal import render_tree
from journeygen.view.walks import tree_paths


def hand_tree(linearize: str = "template") -> Tree:
    """The apples hand tree (hand_cases.apples_nodes) with quotes, a backslash and Rich
    markup in step 1.2: He buys "4" more \\ [bold]x[/]"""
    nodes = apples_nodes(buys='He buys "4" more \\ [bold]x[/]')
    config = RunConfig()
    config.journey.linearize = linearize  # type: ignore[assignment]
    return Tree(problem=PROBLEM, nodes=nodes, config=config.model_dump(mode="json"))


# The only journey the hand tree allows (one detour at each correct-path step), numbered:
# 1 wrong 2, 2 reflection, 3 back to the question, 4 step 1, 5 wrong 1.2, 6 wrong 1.2.1,
# 7 reflection, 8 back to 1, 9 answer 1.1.
WALK = [
    ("wrong_step", "2"),
    ("reflection", "2"),
    ("backtrack", None),
    ("step", "1"),
    ("wrong_step", "1.2"),
    ("wrong_step", "1.2.1"),
    ("reflection", "1.2.1"),
    ("backtrack", "1"),
    ("answer", "1.1"),
]


def test_the_hand_tree_has_the_journey_the_tests_expect() -> None:
    journey, shortcut = tree_paths(hand_tree())
    assert [(s.kind, s.node_id) for s in journey.segments] == WALK
    assert [(s.kind, s.node_id) for s in shortcut.segments] == [("step", "1"), ("answer", "1.1")]


def test_dot_quote_escapes_quotes_backslashes_newlines_and_controls() -> None:
    hostile = 'say "hi" \\ now\nnext\r\nend\x00\x1b'
    assert dot_quote(hostile) == '"say \\"hi\\" \\\\ now\\nnext\\nend"'
    assert dot_quote('"; } digraph x {') == '"\\"; } digraph x {"'


def test_dot_numbers_the_journey_along_the_edges() -> None:
    journey = tree_paths(hand_tree())[0]
    lines = to_dot(hand_tree(), journey).splitlines()
    assert lines[0] == 'digraph "apples" {' and lines[-1] == "}"
    assert '  "ROOT" -> "2" [label="1", color="#d6453d", penwidth="2.5"];' in lines
    assert '  "ROOT" -> "1" [label="4", color="#2e9d4f", penwidth="2.5"];' in lines
    assert '  "1" -> "1.2" [label="5", color="#d6453d", penwidth="2.5"];' in lines
    assert '  "1.2" -> "1.2.1" [label="6", color="#d6453d", penwidth="2.5"];' in lines
    assert '  "1" -> "1.1" [label="9", color="#2e9d4f", penwidth="2.5"];' in lines
    assert '  "ROOT" -> "3";' in lines
    back = 'color="#e08a00", style="dashed", constraint="false", penwidth="2"'
    assert f'  "2" -> "ROOT" [label="3", {back}];' in lines
    assert f'  "1.2.1" -> "1" [label="8", {back}];' in lines
    node = next(line for line in lines if line.startswith('  "1.2" ['))
    assert 'label="✗ 1.2: He buys \\"4\\" more \\\\ [bold]x[/]\\nvalue 0.00"' in node
    plain = to_dot(hand_tree())
    assert "penwidth" not in plain and "dashed" not in plain


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graphviz_reads_the_dot_with_hostile_text(tmp_path: Path) -> None:
    tree = hand_tree()
    tree.nodes[0].text = '"]; evil [label="x"]; "\\'
    done = subprocess.run(
        ["dot", "-Tplain"], input=to_dot(tree), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    nodes = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("node ")]
    names = sorted(name.strip('"') for name in nodes)
    assert names == ["1", "1.1", "1.2", "1.2.1", "2", "3", "ROOT"]
    assert '\\"]; evil [label=\\"x\\"]; \\"\\\\' in done.stdout  # the text, as text


def test_node_link_json_round_trips_with_every_attribute() -> None:
    data = json.loads(json.dumps(node_link(hand_tree())))
    graph = nx.node_link_graph(data, edges="edges")
    assert set(graph.edges) == {
        ("ROOT", "1"), ("ROOT", "2"), ("ROOT", "3"), ("1", "1.1"), ("1", "1.2"), ("1.2", "1.2.1"),
    }  # fmt: skip
    assert graph.graph["question"] == PROBLEM.question and graph.graph["answer"] == "8"
    assert graph.nodes["ROOT"]["kind"] == "question"
    wrong = graph.nodes["2"]
    assert (wrong["label"], wrong["value"], wrong["answer"], wrong["terminal"]) == (
        "incorrect", 0.0, "9", True,
    )  # fmt: skip
    assert wrong["verdicts"][0]["reason"] == "final answer 9 does not match the gold answer 8"
    assert graph.nodes["1"]["value"] == 0.5 and graph.nodes["3"]["value"] is None


def plain(renderable: RenderableType) -> str:
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_terminal_marks_the_walk_in_order_and_keeps_markup_as_text() -> None:
    tree = hand_tree()
    text = plain(render_tree(tree, walk=tree_paths(tree)[0]))
    lines = text.splitlines()
    assert "← #3 backtrack" in lines[0]
    line = {n: next(li for li in lines if f"[{n}] " in li) for n in ("1", "2", "1.2", "1.2.1")}
    assert line["2"].endswith("← #1 wrong step, #2 reflection")
    assert line["1"].endswith("← #4 step, #8 backtrack")
    assert line["1.2.1"].endswith("← #6 wrong step, #7 reflection")
    assert 'He buys "4" more \\ [bold]x[/]' in line["1.2"]  # not parsed as rich markup
    assert "why: final answer 9 does not match the gold answer 8" in text


def test_terminal_only_wrong_and_depth_hide_and_count() -> None:
    tree = hand_tree()
    wrong = plain(render_tree(tree, only_wrong=True))
    assert "[1.1]" not in wrong and "[3]" not in wrong
    assert "[1] Tom starts with 3 apples.  value 0.50  (+1 hidden below)" in wrong
    assert "[1.2.1]" in wrong and "[2]" in wrong
    shallow = plain(render_tree(tree, depth=1))
    assert "[1.2]" not in shallow and "[1.1]" not in shallow and "[3]" in shallow
    assert "(+3 hidden below)" in shallow


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_plots_write_four_pngs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plots extra is not installed")
    trees = [hand_tree(), hand_tree()]
    prompts = load_prompts()
    stats = compute_stats(
        "r",
        problems=2,
        trees=trees,
        journeys=list(samples(trees, "journey", prompts, run="r")),
        shortcuts=list(samples(trees, "shortcut", prompts, run="r")),
        rejects=0,
    )
    assert stats.detours_per_journey.values == [2, 2]  # the figures plot these values
    paths = write_plots(trees, stats, tmp_path / "plots")
    assert [p.name for p in paths] == list(PLOT_FILES)
    assert [png_size(p) for p in paths] == [(900, 360), (640, 400), (640, 400), (640, 400)]


def test_word_diff_keeps_every_character() -> None:
    pairs = word_diff("The answer is 9.\n\nWait.", "Well, the answer is 9.\nWait.")
    assert "".join(t for op, t in pairs if op != "+") == "The answer is 9.\n\nWait."
    assert "".join(t for op, t in pairs if op != "-") == "Well, the answer is 9.\nWait."
    assert ("-", "The") in pairs and ("+", "Well, the") in pairs


def rewrite_cache(tree: Tree, rewritten: str) -> TextCache:
    """A run's text cache holding `rewritten` as the LLM rewrite of the tree's draft."""
    prompts = load_prompts()
    settings = SampleSettings(journey={"linearize": "template"})
    draft = next(samples([tree], "journey", prompts, run="r", settings=settings))
    texts = TextCache()
    messages = prompts.rewrite.render(question=draft.prompt, draft=draft.thought)
    texts.put(TextCache.key("rewrite", messages), "rewrite", f"Well, {rewritten}")
    return texts


def test_payload_shows_a_kept_rewrite_against_its_draft() -> None:
    tree = hand_tree("rewrite")
    draft = next(samples([tree], "journey", load_prompts(), run="r")).thought
    texts = rewrite_cache(tree, draft)
    walk = report_payload([tree], load_prompts(), run="r", settings=SampleSettings(texts=texts))[
        "problems"
    ][0]["walks"][0]
    assert walk["mode"] == "rewrite" and walk["thought"] == f"Well, {draft}"
    assert walk["rewrite"]["fidelity"]["status"] == "passed"
    assert walk["rewrite"]["draft"] == draft
    assert walk["rewrite"]["diff"][0] == ("+", "Well, ")
    assert [(s["kind"], s["node_id"]) for s in walk["segments"]] == WALK


def test_payload_shows_a_rejected_rewrite_and_why() -> None:
    tree = hand_tree("rewrite")
    draft = next(samples([tree], "journey", load_prompts(), run="r")).thought
    assert "The answer is 9." in draft
    texts = rewrite_cache(tree, draft.replace("The answer is 9.", "The answer is 10."))
    walk = report_payload([tree], load_prompts(), run="r", settings=SampleSettings(texts=texts))[
        "problems"
    ][0]["walks"][0]
    assert walk["mode"] == "template" and walk["thought"] == draft
    fidelity = walk["rewrite"]["fidelity"]
    assert fidelity["status"] == "failed" and fidelity["reason"].startswith("fidelity check failed")
    assert ("+", "10.") in walk["rewrite"]["diff"] and ("-", "9.") in walk["rewrite"]["diff"]


def journeygen(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_show_and_graph_commands_on_a_saved_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "trees", "hand")
    tree = hand_tree()
    store.save_tree(tree)
    store.write_manifest(
        Manifest(run="hand", config=tree.config, config_hash="", source="x", problems=["apples"])
    )
    shown = journeygen("show", "hand", "apples", "--only-wrong", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b[" not in shown.stdout  # plain text when not a terminal
    assert "✗ [2] The answer is 9." in shown.stdout and "✓ [1.1]" not in shown.stdout
    assert "#1 wrong step" in shown.stdout
    dot = journeygen("graph", "hand", "apples", "--walk", "shortcut", cwd=tmp_path)
    assert dot.returncode == 0, dot.stderr
    assert '"1" -> "1.1" [label="2", color="#2e9d4f", penwidth="2.5"];' in dot.stdout
    out = tmp_path / "apples.json"
    done = journeygen("graph", "hand", "apples", "--format", "json", "-o", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text(encoding="utf-8"))["nodes"]) == 7
    missing = journeygen("graph", "hand", "pears", cwd=tmp_path)
    assert missing.returncode != 0 and "run 'hand' has no tree 'pears'" in missing.stderr
    plotted = journeygen("stats", "hand", "--plots", tmp_path / "plots", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(PLOT_FILES)
    no_run = journeygen("view", "nothing", cwd=tmp_path)
    assert no_run.returncode != 0 and "no run at" in no_run.stderr


def test_journey_config_default_is_what_the_hand_tree_relies_on() -> None:
    config = JourneyConfig()
    assert (config.detours, config.wrong_trials, config.samples_per_tree) == (2, 1, 1)


def thinking(*texts: str) -> list[Completion]:
    """Scripted replies of a reasoning server: each text with its own numbered thinking."""
    return [
        Completion(text=text, reasoning=f"thinking {i}: [bold]<script>x</script>[/]")
        for i, text in enumerate(texts, start=1)
    ]


async def test_a_search_keeps_each_steps_reasoning_and_show_prints_it() -> None:
    beam = RunConfig(search=SearchConfig(width=2, keep=1, depth=2))
    backend = FakeBackend(
        thinking(
            "Tom starts with 3 apples.",
            "3 + 5 = 9. The answer is 9.",
            "He buys 5 more, so 3 + 5 = 8. The answer is 8.",
            "3 + 4 = 7. The answer is 7.",
        )
    )
    tree = await search(PROBLEM, backend, [AnswerJudge()], beam, load_prompts())
    assert {n.id: n.reasoning for n in tree.nodes} == {
        "1": "thinking 1: [bold]<script>x</script>[/]",
        "2": "thinking 2: [bold]<script>x</script>[/]",
        "1.1": "thinking 3: [bold]<script>x</script>[/]",
        "1.2": "thinking 4: [bold]<script>x</script>[/]",
    }
    shown = plain(render_tree(tree)).splitlines()
    step = next(i for i, line in enumerate(shown) if "[1.1] " in line)
    assert shown[step + 1].endswith("thinking: thinking 3: [bold]<script>x</script>[/]")
    assert Tree.model_validate_json(tree_json(tree)) == tree


async def test_rollouts_put_the_reasoning_on_the_first_new_step_of_each_solution() -> None:
    config = RunConfig(search=SearchConfig(strategy="best_of_n", rollouts=2, depth=3))
    backend = FakeBackend(
        thinking(
            "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 5 = 8.\nThe answer is 8.",
            "Tom starts with 3 apples.\nHe buys 4 more, so 3 + 4 = 7.\nThe answer is 7.",
        )
    )
    tree = await search(PROBLEM, backend, [AnswerJudge()], config, load_prompts())
    assert [(n.id, n.reasoning and n.reasoning.split(":")[0]) for n in tree.nodes] == [
        ("1", "thinking 1"),
        ("1.1", None),
        ("1.1.1", None),
        ("1.2", "thinking 2"),
        ("1.2.1", None),
    ]


def test_terminal_shortens_long_reasoning_and_old_trees_load_without_it() -> None:
    tree = hand_tree()
    old = json.loads(tree_json(tree))
    for node in old["nodes"]:
        del node["reasoning"]  # a tree saved before steps kept the model's thinking
    loaded = Tree.model_validate(old)
    assert loaded == tree and all(n.reasoning is None for n in loaded.nodes)
    assert "thinking:" not in plain(render_tree(loaded))
    nodes = [
        n.model_copy(update={"reasoning": "Let me see. " * 40}) if n.id == "2" else n
        for n in tree.nodes
    ]
    lines = plain(render_tree(tree.model_copy(update={"nodes": nodes}))).splitlines()
    line = lines[next(i for i, li in enumerate(lines) if "[2] " in li) + 1]
    thought = line.split("thinking: ", 1)[1]
    assert thought.startswith("Let me see. Let me see.") and thought.endswith("…")
    assert len(thought) == 120  # one line of a wide terminal, not the whole monologue


def test_generate_keeps_scripted_reasoning_for_show_and_view(tmp_path: Path) -> None:
    row = {"id": "apples", "question": PROBLEM.question, "answer": "8"}
    (tmp_path / "p.jsonl").write_text(json.dumps(row) + "\n")
    script = [
        {"text": "Tom starts with 3 apples.", "reasoning": "Start from what Tom has."},
        {"text": "3 + 5 = 8. The answer is 8.", "reasoning": "<b>Add</b> the 5 he buys."},
    ]
    (tmp_path / "script.json").write_text(json.dumps(script))
    done = journeygen(
        "generate", "p.jsonl", "--run", "think", "--backend", "fake", "--model", "script.json",
        "--width", "1", "--depth", "2", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = journeygen("show", "think", "apples", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "thinking: Start from what Tom has." in shown.stdout
    assert "thinking: <b>Add</b> the 5 he buys." in shown.stdout
    done = journeygen("view", "think", "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "\\u003cb\\u003eAdd\\u003c/b\\u003e the 5 he buys." in page and "<b>" not in page
