"""Hand-built samples and a small tree shared by the export tests (golden files match them)."""

from __future__ import annotations

from pathlib import Path

from journeygen.models import Label, Node, Problem, Provenance, Sample, Tree

GOLDEN = Path(__file__).parent / "golden" / "export"
QUESTION = "Ann has 2 pens and buys 3 more. How many pens?"
SOLUTION = "2 + 3 = 5.\nThe answer is 5."
TIMES = "\u00d7"  # a non-ASCII sign: rows must keep it as is (ensure_ascii=False)


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def sample(kind: str) -> Sample:
    """A journey (one wrong step, a reflection, the right step) or its shortcut."""
    journey = kind == "journey"
    thought = (
        f"2 {TIMES} 3 = 6.\n\nThat is wrong: she buys pens, she does not multiply.\n\n2 + 3 = 5."
        if journey
        else "2 + 3 = 5."
    )
    return Sample(
        kind=kind,  # type: ignore[arg-type]
        prompt=QUESTION,
        thought=thought,
        solution=SOLUTION,
        answer="5",
        provenance=Provenance(
            run="demo",
            problem_id="pens",
            node_ids=["1.2", "1.1"] if journey else ["1.1"],
            config_hash="abc123",
            path_source="policy",
        ),
    )


def node(node_id: str, parent: str | None, text: str, label: Label, **extra: object) -> Node:
    return Node(id=node_id, parent=parent, text=text, label=label, **extra)  # type: ignore[arg-type]


def small_tree() -> Tree:
    """
    1    Ann starts with 2 pens.            correct
    ├─ 1.1  2 + 3 = 5. The answer is 5.    correct leaf
    └─ 1.2  2 x 3 = 6. The answer is 6.    incorrect leaf
    2    Ann has 3 pens.                    incorrect (nothing below it)
    """
    nodes = [
        node("1", None, "Ann starts with 2 pens.", "correct"),
        node("2", None, "Ann has 3 pens.", "incorrect"),
        node("1.1", "1", "2 + 3 = 5. The answer is 5.", "correct", terminal=True, answer="5"),
        node(
            "1.2", "1", f"2 {TIMES} 3 = 6. The answer is 6.", "incorrect", terminal=True, answer="6"
        ),
    ]
    problem = Problem(id="pens", question=QUESTION, answer="5")
    return Tree(problem=problem, nodes=nodes, config_hash="abc123")
