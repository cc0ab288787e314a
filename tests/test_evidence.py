"""A step is `correct` only on evidence a reader can check: a final step must state its
answer and must not be cut by max_tokens; an inner step needs a judge or a majority of its
continuations; steps that add nothing are kept but not grown and stay out of sample text."""

from __future__ import annotations

from journeygen.backends.base import Completion
from journeygen.backends.fake import FakeBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.derive.journey import extract_shortcut
from journeygen.judges.answer import AnswerJudge
from journeygen.judges.answers import extract_answer
from journeygen.judges.labels import backup_labels, solved_leaves
from journeygen.judges.redundancy import is_padding, redundancy_verdict
from journeygen.models import Node, Problem, Tree, Verdict
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

# Gold answer 1: a small integer that nonsense steps often contain.
FIB = Problem(
    id="fib",
    question="Let f(1) = 1 and f(2) = 1, with f(n) = f(n-1) + f(n-2). What is f(2)?",
    answer="1",
    solution="f(2) is given as 1.\nThe answer is 1.",
)

APPLES = Problem(id="apples", question="Tom has 3 apples and buys 5 more. How many?", answer="8")


def config(**search: object) -> RunConfig:
    settings: dict[str, object] = {"width": 1, "keep": 1, "depth": 1, **search}
    return RunConfig(search=SearchConfig.model_validate(settings))


async def grow(problem: Problem, replies: list[str | Completion], **settings: object) -> Tree:
    backend = FakeBackend(replies)
    return await search(problem, backend, [AnswerJudge()], config(**settings), load_prompts())


async def test_a_final_step_that_states_no_answer_is_wrong_even_with_the_gold_number() -> None:
    text = "The problem asks for f(n,j) = 143002 with j = 1."
    tree = await grow(FIB, [text])
    (step,) = [node for node in tree.nodes if node.source == "policy"]
    assert step.terminal and step.answer is None  # no last-number fallback
    assert step.label == "incorrect"
    assert "states no final answer" in step.verdicts[0].reason
    # the shortcut is the reference solution, not the nonsense step
    shortcut = extract_shortcut(tree)
    assert shortcut is not None and shortcut.path_source == "reference"
    assert step.id not in shortcut.node_ids


async def test_a_cut_completion_whose_text_matches_is_never_a_correct_answer() -> None:
    cut = Completion(text="f(2) = 1, so the answer is 1", finish_reason="length")
    tree = await grow(FIB, [cut])
    (step,) = [node for node in tree.nodes if node.source == "policy"]
    assert step.finish_reason == "length" and step.answer == "1"
    assert step.label == "unknown"  # neither a right answer nor a wrong detour
    assert step not in solved_leaves(tree.nodes)
    shortcut = extract_shortcut(tree)
    assert shortcut is not None and shortcut.path_source == "reference"


async def test_an_uncut_copy_of_the_same_step_is_correct() -> None:
    tree = await grow(FIB, [Completion(text="f(2) = 1, so the answer is 1", finish_reason="stop")])
    (step,) = [node for node in tree.nodes if node.source == "policy"]
    assert (step.label, step.finish_reason) == ("correct", "stop")
    shortcut = extract_shortcut(tree)
    assert shortcut is not None and shortcut.path_source == "policy"


def test_a_number_said_to_be_the_answer_is_a_stated_answer() -> None:
    assert extract_answer("Convert: 3 * 5 = 15, then 5 + 5 = 10 is the answer.") == "10"
    assert extract_answer("This is the answer.") is None
    assert extract_answer("So f(n,j) = 143002 with j = 1.") is None


async def test_an_inner_step_that_states_an_answer_is_judged_like_a_final_one() -> None:
    tree = await grow(APPLES, ["Then 5 + 5 = 10 is the answer."], depth=3)
    (step,) = tree.nodes
    assert step.terminal and step.answer == "10" and step.label == "incorrect"


async def test_a_step_that_restates_the_question_is_kept_but_not_grown() -> None:
    replies = [
        "You start with the question: Tom has 3 apples and buys 5 more. How many?",
        "He buys 5 more, so 3 + 5 = 8.",
        "The answer is 8.",
        "So he has 8 apples. The answer is 8.",
    ]
    tree = await grow(APPLES, replies, width=2, keep=2, depth=3)
    restated, useful = tree.nodes[0], tree.nodes[1]
    assert is_padding(restated) and not is_padding(useful)
    assert "restates the question" in restated.verdicts[0].reason
    assert tree.children(restated.id) == []  # never expanded
    assert [node.parent for node in tree.nodes[2:]] == [useful.id, useful.id]


def test_a_step_that_repeats_its_path_is_padding_and_stays_out_of_the_text() -> None:
    first = Node(id="1", parent=None, text="He buys 5 more, so 3 + 5 = 8.")
    again = Node(id="1.1", parent="1", text="He buys 5 more, so 3 + 5 = 8!")
    padding = redundancy_verdict(again.text, APPLES.question, [first])
    assert padding is not None and "repeats step 1" in padding.reason
    assert redundancy_verdict("So 3 + 5 = 8 apples.", APPLES.question, [first]) is None
    again.verdicts.append(padding)
    answer = Verdict(judge="answer", label="correct", score=1.0, reason="matches")
    leaf = Node(
        id="1.1.1", parent="1.1", text="The answer is 8.", terminal=True, answer="8",
        verdicts=[answer],
    )  # fmt: skip
    nodes = [first, again, leaf]
    backup_labels(nodes, "8")
    tree = Tree(problem=APPLES, nodes=nodes)
    shortcut = extract_shortcut(tree)
    assert shortcut is not None
    assert [s.node_id for s in shortcut.segments] == ["1", "1.1.1"]


def test_a_correct_leaf_below_a_step_without_evidence_is_no_solution() -> None:

    def leaf(node_id: str, answer: str) -> Node:
        label = "correct" if answer == "8" else "incorrect"
        verdict = Verdict(judge="answer", label=label, reason=f"final answer {answer}")
        return Node(
            id=node_id, parent="1", text=f"The answer is {answer}.", terminal=True,
            answer=answer, verdicts=[verdict],
        )  # fmt: skip

    nodes = [Node(id="1", parent=None, text="3 * 5 = 15.")]
    nodes += [leaf("1.1", "8"), leaf("1.2", "7"), leaf("1.3", "9")]
    backup_labels(nodes, "8")
    assert nodes[0].label == "unknown" and nodes[1].label == "correct"
    assert solved_leaves(nodes) == []  # one lucky continuation does not make step 1 right
    assert extract_shortcut(Tree(problem=APPLES, nodes=nodes)) is None
