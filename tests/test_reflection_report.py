"""The reflections report: `stats` figures on a hand-built run worked out by hand (sources,
kinds, distinct share, repeated phrasings, phrase-bank use, detours against asked and why
short), on a fake run through the CLI, and the report's journey panel showing where each
reflection's "why" came from, as text."""

from __future__ import annotations

import json
from contextlib import chdir
from pathlib import Path

import pytest
from click.testing import CliRunner
from dom_cases import DomParser, dump_dom, needs_chromium
from hand_cases import fake_run_inputs

from journeygen.cli import main
from journeygen.judges.labels import backup_labels
from journeygen.models import Node, Problem, Provenance, Sample, Segment, Tree, Verdict
from journeygen.prompts import load_prompts
from journeygen.view.html import render_report
from journeygen.view.payload import report_payload
from journeygen.view.reflections import _Template, reflection_stats

CLAIM = "Let me recompute that: 48 \u00d7 5 is 240, not 204."
RECHECK = (
    "That gives 250, but it doesn't fit what the question asks."
    " Something in this line of reasoning is off."
)
BARE = "Looking at that step again: incorrect."
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">'


def pens_tree(problem_id: str, detours: int = 2, *judge_reasons: str) -> Tree:
    """1 → 1.1 correct; 2 multiplies wrongly (arithmetic, and LLM judge reasons); 3 a wrong
    final answer."""
    wrong_product = Verdict(
        judge="arithmetic", label="incorrect", reason="48 \u00d7 5 is 240, not 204"
    )
    judged = [Verdict(judge="llm", label="incorrect", reason=r) for r in judge_reasons]

    def final(answer: str) -> Verdict:
        ok = answer == "242"
        word = "matches" if ok else "does not match"
        return Verdict(
            judge="answer",
            label="correct" if ok else "incorrect",
            reason=f"final answer {answer} {word} the gold answer 242",
        )

    nodes = [
        Node(id="1", parent=None, text="5 boxes hold 48 \u00d7 5 = 240 pens."),
        Node(id="2", parent=None, text="5 boxes hold 48 \u00d7 5 = 204 pens.",
             verdicts=[wrong_product, *judged]),
        Node(id="3", parent=None, text="So 250. The answer is 250.", terminal=True,
             answer="250", verdicts=[final("250")]),
        Node(id="1.1", parent="1", text="240 + 2 = 242. The answer is 242.", terminal=True,
             answer="242", verdicts=[final("242")]),
    ]  # fmt: skip
    backup_labels(nodes, "242")
    problem = Problem(id=problem_id, question="48 pens a box. 5 boxes and 2 more?", answer="242")
    return Tree(problem=problem, nodes=nodes, config={"seed": 0, "journey": {"detours": detours}})


def journey(problem_id: str, reflections: list[tuple[str, str, str]], thought: str) -> Sample:
    """A sample whose detours reflect with (node id, source, text), each back to the start."""
    segments: list[Segment] = []
    for node_id, source, text in reflections:
        segments += [
            Segment(kind="wrong_step", node_id=node_id, text="..."),
            Segment(kind="reflection", node_id=node_id, text=text, source=source),  # type: ignore[arg-type]
            Segment(kind="backtrack", node_id=None, text=""),
        ]
    segments += [
        Segment(kind="step", node_id="1", text="..."),
        Segment(kind="answer", node_id="1.1", text="..."),
    ]
    provenance = Provenance(
        run="r", problem_id=problem_id, node_ids=[], config_hash="h", path_source="policy"
    )
    return Sample(
        kind="journey",
        prompt="q",
        thought=thought,
        solution="s",
        provenance=provenance,
        segments=segments,
    )


def test_the_reflections_of_a_hand_built_run_worked_out_by_hand() -> None:
    trees = [pens_tree("a"), pens_tree("b", 3, "incorrect")]
    restart = "Let me start again from the beginning."
    journeys = [
        journey(
            "a",
            [("2", "arithmetic", CLAIM), ("3", "answer", RECHECK)],
            "\n\n".join(["5 boxes hold ...", f"Wait. {CLAIM}", restart, "So 250.", RECHECK]),
        ),
        journey(
            "b",
            [("2", "arithmetic", CLAIM), ("2", "judge", BARE)],
            "\n\n".join(["x", CLAIM, restart, "y", f"Hmm. {BARE}", restart]),
        ),
    ]
    stats = reflection_stats(trees, journeys, load_prompts())
    # 4 reflections, texts CLAIM, RECHECK, CLAIM, BARE: 3 distinct, so 3 / 4
    assert (stats.reflections, stats.distinct, stats.distinct_share) == (4, 3, 0.75)
    assert stats.sources == {"arithmetic": 2, "answer": 1, "judge": 1}
    # the judge's reason is the bare label: the one reflection that says nothing
    assert stats.kinds == {"exact claim": 2, "answer re-check": 1, "vacuous": 1}
    assert (stats.says_why, stats.says_why_share) == (2, 0.5)
    assert stats.top_phrasings == [("Let me recompute that: # \u00d7 # is #, not #.", 2)]
    use = stats.phrase_use
    assert (use["reflection_arithmetic"].uses, use["reflection_arithmetic"].used) == (2, 1)
    assert use["reflection_arithmetic"].top == "Let me recompute that: {reason}."
    assert (use["reflection_arithmetic"].top_share, use["reflection_arithmetic"].even_share) == (
        1.0,
        round(1 / 6, 4),
    )
    assert (use["markers"].uses, use["backtrack_start"].uses, use["reflection_reason"].uses) == (
        2,
        3,
        1,
    )
    # asked 2 + 3 detours, took 2 + 2; "b" has no third wrong sibling to take
    assert (stats.journeys, stats.detours_asked, stats.detours_taken) == (2, 5, 4)
    assert (stats.short_journeys, stats.short_reasons) == (1, {"no_wrong_sibling": 1})


def journeygen(*args: object, cwd: Path) -> str:
    with chdir(cwd):
        done = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.stdout


@pytest.mark.parametrize(
    ("key", "template", "paragraph", "fits"),
    [
        ("reflection_reason", "It fails: {reason}.", "It fails: 3 + 4 is 7.", True),
        ("reflection_reason", "It fails: {reason}.", "It fails: a. b.", True),
        ("reflection_reason", "It fails: {reason}.", "It fails: .", False),  # empty field
        ("reflection_reason", "It fails: {reason}.", "It fails: 3 + 4 is 7", False),
        ("reflection_reason", "It fails: {reason}.", "So it fails: 7.", False),
        ("backtrack_step", "{text}", "", False),
        ("backtrack_step", "{text}", "x", True),
        ("backtrack_step", "Back to {a}, then {b}.", "Back to 1, then 2.", True),
        ("backtrack_step", "Back to {a}, then {b}.", "Back to , then 2.", False),
        ("backtrack_step", "Back to {a}, then {b}.", "Back to 1, then .", False),
        ("backtrack_step", "Back to {a}, then {b}.", "Back to 1 then 2.", False),
        ("backtrack_step", "{a}{b}", "x", False),  # two fields need two characters
        ("backtrack_step", "{a}{b}", "xy", True),
        ("backtrack_start", "Let me restart.", "Let me restart. Now.", False),  # all of it
        ("backtrack_start", "Use {{braces}}.", "Use {braces}.", True),
        ("markers", "Hmm.", "Hmm. Let me see.", True),  # a marker starts a paragraph
        ("markers", "Hmm.", "Hm. Let me see.", False),
        ("markers", "Wait, {x}:", "Wait, no: so", True),
    ],
)
def test_a_paragraph_fits_a_phrasing_when_its_fields_are_filled(
    key: str, template: str, paragraph: str, fits: bool
) -> None:
    assert _Template(key, template).fits(paragraph) is fits


def test_stats_of_a_fake_run_has_a_reflections_section(tmp_path: Path) -> None:
    problems, _ = fake_run_inputs(tmp_path)
    fake = ("--backend", "fake", "--model", "script.json", "--width", "2", "--depth", "2")
    journeygen("generate", problems, *fake, cwd=tmp_path)
    data = json.loads(journeygen("stats", "demo", "--json", cwd=tmp_path))["reflections"]
    # two journeys, each through the wrong answers 9 and 7: four answer re-checks
    assert (data["reflections"], data["sources"], data["kinds"]) == (
        4,
        {"answer": 4},
        {"answer re-check": 4},
    )
    assert (data["says_why"], data["detours_asked"], data["detours_taken"]) == (0, 4, 4)
    tables = journeygen("stats", "demo", cwd=tmp_path)
    assert "says why" in tables and "0 of 4 (0%): answer re-check 4" in tables
    assert "detours per journey" in tables and "2.00 of 2.00 asked" in tables
    assert "phrase bank use" in tables and "reflection_answer" in tables


def test_the_report_payload_says_where_each_reflection_came_from() -> None:
    tree = pens_tree("pens", 2, "incorrect", HOSTILE)
    payload = report_payload([tree], load_prompts(), run="t")
    (walk,) = [w for w in payload["problems"][0]["walks"] if w["kind"] == "journey"]
    origins = {s["node_id"]: s["origin"] for s in walk["segments"] if s["kind"] == "reflection"}
    assert origins["2"]["source"] == "arithmetic"
    assert (origins["2"]["judge"], origins["2"]["reason"]) == (
        "arithmetic",
        "48 \u00d7 5 is 240, not 204",
    )
    assert origins["2"]["passed_over"] == [
        {"source": "judge", "judge": "llm", "reason": "incorrect", "why": "restates the label"}
    ]
    assert origins["3"]["source"] == "answer"
    assert origins["3"]["reason"] == "final answer 250 does not match the gold answer 242"
    assert all("origin" not in s for s in walk["segments"] if s["kind"] != "reflection")


@needs_chromium
def test_chromium_shows_a_reflections_origin_as_text(tmp_path: Path) -> None:
    tree = pens_tree("pens", 2, HOSTILE)
    page = tmp_path / "pens.html"
    page.write_text(render_report(report_payload([tree], load_prompts(), run="t")))
    parsed = DomParser()
    parsed.feed(dump_dom(page.as_uri() + "#p=pens", tmp_path / "profile"))
    assert parsed.find("body")[0].attrs.get("data-ready") == "1"
    shown = ["".join(e.text) for e in parsed.find("div", **{"data-field": "origin"})]
    claim = next(text for text in shown if "arithmetic" in text)
    assert claim.startswith("from arithmetic: 48 \u00d7 5 is 240, not 204")
    assert f"passed over judge (llm): \u201c{HOSTILE}\u201d (names nothing in the step)" in claim
    assert any(text.startswith("from answer: final answer 250") for text in shown)
    assert parsed.find("img") == [] and not any("data-pwned" in e.attrs for e in parsed.elements)
