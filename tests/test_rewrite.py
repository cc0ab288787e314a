"""`rewrite` linearisation on the scripted FakeBackend: a faithful rewrite is used, an
unfaithful one falls back with its reason, texts are cached so re-exports are offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from hand_cases import PROBLEM, leaf

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.derive.samples import SampleSettings, prepare_texts, samples
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.judges.labels import backup_labels
from journeygen.models import Node, Sample, Tree
from journeygen.prompts import load_prompts

FAITHFUL = (
    "Maybe the answer is just 9? No, 9 doesn't fit the question. Let me start over. Tom "
    "starts with 3 apples. Say he buys 4 more: 3 + 4 = 7, so the answer would be 7. But 7 "
    "can't be right either. Back to the 3 apples: 3 + 5 = 8. The answer is 8."
)


def rewrite_tree() -> Tree:
    """Both detours of test_journey's hand tree: 9 at the start, 4 more → 7 after step 1."""
    nodes = [
        Node(id="1", parent=None, text="Tom starts with 3 apples."),
        leaf("2", None, "The answer is 9.", "9", scored=False),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8", scored=False),
        Node(id="1.2", parent="1", text="He buys 4 more."),
        leaf("1.2.1", "1.2", "3 + 4 = 7. The answer is 7.", "7", scored=False),
    ]
    backup_labels(nodes, "8")
    config = {"seed": 0, "journey": {"linearize": "rewrite", "detours": 2}}
    return Tree(problem=PROBLEM, nodes=nodes, config=config)


def journeys(settings: SampleSettings) -> list[Sample]:
    return list(samples([rewrite_tree()], "journey", load_prompts(), run="r", settings=settings))


async def test_a_faithful_rewrite_replaces_the_draft_and_is_cached(tmp_path: Path) -> None:
    texts = TextCache(tmp_path / TEXTS_FILE)
    settings = SampleSettings(texts=texts)
    (draft,) = journeys(settings)
    assert draft.provenance.linearize_mode == "template"
    assert draft.provenance.linearize_reason == (
        "no rewrite: none cached and no backend to write one"
    )

    fake = FakeBackend([FAITHFUL])
    written = await prepare_texts([rewrite_tree()], load_prompts(), settings, fake, run="r")
    assert written == 1 and len(fake.calls) == 1
    messages, options = fake.calls[0]
    assert PROBLEM.question in messages[1]["content"]
    assert draft.thought in messages[1]["content"]  # the template draft is what is rewritten
    assert options.temperature == 0.0

    (sample,) = journeys(settings)
    assert sample.provenance.linearize_mode == "rewrite"
    assert sample.provenance.linearize_reason is None
    assert sample.thought == FAITHFUL
    assert sample.solution == draft.solution and sample.segments == draft.segments

    # a re-export reads the saved cache: offline, same bytes, no token paid twice
    again = SampleSettings(texts=TextCache(tmp_path / TEXTS_FILE))
    assert [s.model_dump_json() for s in journeys(again)] == [sample.model_dump_json()]
    silent = FakeBackend([])  # any call would fail: the script is empty
    assert await prepare_texts([rewrite_tree()], load_prompts(), again, silent, run="r") == 0


async def test_a_rewrite_is_asked_only_once_its_llm_reflections_are_in() -> None:
    tree = rewrite_tree()
    tree.config.journey.reflection_sources = ["llm", "phrase"]
    reason = "I added 4 apples instead of the 5 he buys."

    def reply(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        return FAITHFUL if messages[0]["content"].startswith("You rewrite") else reason

    fake = FakeBackend(reply)
    settings = SampleSettings(texts=TextCache())
    await prepare_texts([tree], load_prompts(), settings, fake, run="r")
    purposes = [
        "rewrite" if messages[0]["content"].startswith("You rewrite") else "reflect"
        for messages, _ in fake.calls
    ]
    assert purposes == ["reflect", "reflect", "rewrite"]  # no rewrite of a draft without them
    (sample,) = samples([tree], "journey", load_prompts(), run="r", settings=settings)
    draft = fake.calls[-1][0][1]["content"]
    assert reason in draft  # the one rewrite paid for is of the draft with the reflections
    assert [seg.source for seg in sample.segments if seg.kind == "reflection"] == ["llm", "llm"]


async def test_an_unfaithful_rewrite_falls_back_to_the_template_and_says_why() -> None:
    settings = SampleSettings(texts=TextCache())
    (draft,) = journeys(settings)
    fake = FakeBackend(["Tom has 3 + 5 = 8 apples, or 12 with a bonus. The answer is 8."])
    await prepare_texts([rewrite_tree()], load_prompts(), settings, fake, run="r")
    (sample,) = journeys(settings)
    assert sample.thought == draft.thought
    assert sample.provenance.linearize_mode == "template"
    reason = sample.provenance.linearize_reason or ""
    assert reason.startswith("fidelity check failed: dropped: wrong_step 2 ")
    assert "numbers: new 12" in reason


def test_without_texts_rewrite_mode_keeps_the_template() -> None:
    (sample,) = journeys(SampleSettings())
    assert sample.provenance.linearize_mode == "template"
    assert (sample.provenance.linearize_reason or "").startswith("no rewrite: no backend")


@pytest.mark.model
async def test_the_embedded_model_rewrites_once_and_the_outcome_is_recorded(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    settings = SampleSettings(texts=TextCache(tmp_path / TEXTS_FILE))
    tree = rewrite_tree()
    written = await prepare_texts([tree], load_prompts(), settings, local_backend, run="r")
    assert written == 1  # one journey, one rewrite; reflections came from the answer judge
    (sample,) = journeys(settings)
    mode, reason = sample.provenance.linearize_mode, sample.provenance.linearize_reason
    # SmolLM2-135M rarely keeps every number: either outcome is fine, but it is recorded
    assert (mode == "rewrite" and reason is None) or (
        mode == "template" and (reason or "").startswith("fidelity check failed: ")
    )
    offline = SampleSettings(texts=TextCache(tmp_path / TEXTS_FILE))
    assert journeys(offline) == [sample]
