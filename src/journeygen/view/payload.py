"""The data the HTML report draws: each tree with its walks (journeys, shortcut and the episode
of a critique or dialogue tree, with their linearised text), the requests behind its steps
(from the run's cache, each once), and the run's rejected rows, as plain JSON-ready dicts."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from journeygen.derive.journey import correct_leaf
from journeygen.derive.reflect import reflection_origin
from journeygen.derive.rewrite import FIDELITY_FAILED, NO_REWRITE
from journeygen.derive.samples import SampleSettings, journey_settings
from journeygen.models import ReflectionSource, Sample, Tree
from journeygen.prompts import PromptSet
from journeygen.view.audit import Audit, audit_tree, padding_reason
from journeygen.view.walks import Walk, tree_walks

__all__ = ["read_rejects", "report_payload", "tree_payloads", "word_diff"]

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """A word-level diff as (op, text) pairs, op one of '=', '-', '+'; whitespace kept."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    pairs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.append(("=", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pairs.append(("-", "".join(old[i1:i2])))
        if j2 > j1:
            pairs.append(("+", "".join(new[j1:j2])))
    return pairs


def _fidelity(sample: Sample) -> dict[str, str]:
    """Whether the LLM rewrite was kept: `passed`, `failed` (the check's reason) or
    `not rewritten` (no text to check)."""
    reason = sample.provenance.linearize_reason or ""
    if sample.provenance.linearize_mode == "rewrite":
        return {"status": "passed", "reason": "every check passed"}
    if reason.startswith(FIDELITY_FAILED):
        return {"status": "failed", "reason": reason}
    return {"status": "not rewritten", "reason": reason or NO_REWRITE}


def _walk(walk: Walk, tree: Tree, sources: list[ReflectionSource]) -> dict[str, Any]:
    sample = walk.sample
    segments = [seg.model_dump(mode="json") for seg in sample.segments]
    for data, seg in zip(segments, sample.segments, strict=True):
        if seg.kind == "reflection":  # the verdict and reason its "why" came from
            data["origin"] = reflection_origin(seg, tree, sources)
    rewrite = None
    if walk.draft is not None:
        rewrite = {
            "draft": walk.draft,
            "diff": word_diff(walk.draft, walk.rewritten) if walk.rewritten else None,
            "fidelity": _fidelity(sample),
        }
    return {
        "kind": sample.kind,
        "path_source": sample.provenance.path_source,
        "detours": sum(1 for seg in sample.segments if seg.kind == "backtrack"),
        "segments": segments,
        "thought": sample.thought,
        "solution": sample.solution,
        "answer": sample.answer,
        "mode": sample.provenance.linearize_mode,
        "rewrite": rewrite,
    }


def _audit(node: dict[str, Any], audit: Audit, requests: dict[str, Any]) -> dict[str, Any]:
    """A step's audit: its raw answer (text left out when it is the step's text) with the
    request filed once under its key (the step's `request` is `KEY/INDEX`), the id of the
    step whose request made it, or why there is none."""
    if audit.request is None or audit.owner is None or audit.owner.request is None:
        return {"missing": audit.missing}
    if audit.owner.id != node["id"]:
        return {"via": audit.owner.id}
    key = audit.owner.request.partition("/")[0]
    sent = audit.request
    requests.setdefault(
        key, {"backend": sent.backend, "messages": sent.messages, "options": sent.options}
    )
    answer = sent.completion
    raw: dict[str, Any] | None = None
    if answer is not None:
        raw = {"finish_reason": answer.finish_reason}
        raw.update({"same_text": True} if answer.text == node["text"] else {"text": answer.text})
        if answer.reasoning and answer.reasoning != node.get("reasoning"):
            raw["reasoning"] = answer.reasoning
    return {"completion": raw}


def _tree(
    tree: Tree, prompts: PromptSet, run: str, settings: SampleSettings, cache: Path | None
) -> dict[str, Any]:
    data = tree.model_dump(mode="json", exclude={"config", "schema_version"})
    audits = audit_tree(tree, cache) if cache is not None else {}
    requests: dict[str, Any] = {}
    for node, step in zip(data["nodes"], tree.nodes, strict=True):
        if node.get("reasoning") is None:  # most steps carry no model thinking: keep it small
            node.pop("reasoning", None)
        if (padding := padding_reason(step)) is not None:
            node["padding"] = padding
        if step.id in audits:
            node["audit"] = _audit(node, audits[step.id], requests)
        else:
            node["audit"] = {"missing": "the report was built without the run's request cache"}
    data["requests"] = requests
    data["has_correct_leaf"] = correct_leaf(tree) is not None
    sources = journey_settings(tree, settings.journey)[0].reflection_sources
    walks = tree_walks(tree, prompts, run=run, settings=settings)
    data["walks"] = [_walk(walk, tree, sources) for walk in walks]
    return data


def read_rejects(path: Path) -> list[dict[str, Any]]:
    """The rows `generate` rejected (outputs/<run>/rejects.jsonl); none when there is no file."""
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not a JSON object: {exc}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: not a JSON object")
        rows.append(row)
    return rows


def report_payload(
    trees: Iterable[Tree],
    prompts: PromptSet,
    *,
    run: str,
    rejects: list[dict[str, Any]] | None = None,
    settings: SampleSettings | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Everything the report shows, in problem order, with the samples built as `settings`
    say (journey knobs over each tree's own, the run's saved LLM texts) and the requests
    behind the steps read from the request cache at `cache` (read-only)."""
    problems = list(tree_payloads(trees, prompts, run=run, settings=settings, cache=cache))
    return {"run": run, "problems": problems, "rejects": rejects or []}


def tree_payloads(
    trees: Iterable[Tree],
    prompts: PromptSet,
    *,
    run: str,
    settings: SampleSettings | None = None,
    cache: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Each tree's report data as `report_payload` builds it, one at a time, so the report
    of a big run never holds every tree in memory."""
    chosen = settings or SampleSettings()
    for tree in trees:
        yield _tree(tree, prompts, run, chosen, cache)
