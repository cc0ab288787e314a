"""The shared types are strict, versioned, and their graph view matches the parent links."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from journeygen.config import RunConfig, SearchConfig
from journeygen.models import ROOT, Node, Problem, Tree


def small_tree() -> Tree:
    return Tree(
        problem=Problem(id="p1", question="What is 1 + 1?", answer="2"),
        nodes=[
            Node(id="1", parent=None, text="One plus one."),
            Node(id="1.1", parent="1", text="The answer is 2.", terminal=True, answer="2"),
            Node(id="2", parent=None, text="The answer is 3.", terminal=True, answer="3"),
        ],
    )


@pytest.mark.parametrize("bad", ["../x", "a/b", ".hidden", "", "x" * 129, "a..b"])
def test_problem_ids_must_be_safe_file_names(bad: str) -> None:
    with pytest.raises(ValidationError, match="not safe as a file name"):
        Problem(id=bad, question="q")


def test_unknown_fields_and_other_schema_versions_are_refused() -> None:
    data = small_tree().model_dump(mode="json")
    with pytest.raises(ValidationError, match="extra"):
        Tree.model_validate({**data, "surprise": 1})
    with pytest.raises(ValidationError, match="schema_version"):
        Tree.model_validate({**data, "schema_version": 2})
    assert Tree.model_validate_json(small_tree().model_dump_json()) == small_tree()


def test_graph_and_paths_follow_parent_links() -> None:
    tree = small_tree()
    graph = tree.graph()
    assert sorted(graph.edges) == [("1", "1.1"), (ROOT, "1"), (ROOT, "2")]
    assert graph.nodes["1.1"]["terminal"] is True
    assert [n.id for n in tree.path("1.1")] == ["1", "1.1"]
    assert [n.id for n in tree.children(None)] == ["1", "2"]
    with pytest.raises(KeyError, match="no node 'nope'"):
        tree.node("nope")


def test_tree_hash_follows_search_settings_but_not_journey_knobs() -> None:
    base = RunConfig()
    assert base.tree_hash() == RunConfig().tree_hash()
    assert RunConfig(search=SearchConfig(width=5)).tree_hash() != base.tree_hash()
    assert RunConfig(seed=1).tree_hash() != base.tree_hash()
    knobs = RunConfig.model_validate({"journey": {"detours": 3}})
    assert knobs.tree_hash() == base.tree_hash()
