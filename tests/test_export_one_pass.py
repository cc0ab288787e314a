"""`export_kinds` writes every kind from one pass over the trees, byte for byte what one pass
per kind (`export_trees`) writes, in every format, provenance and dataset_info included."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeygen.backends.fake import FakeBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.export import ExportKind, Format, Options, export_kinds, export_trees
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Problem, Tree
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

# the worked beam case of test_strategies: a right leaf 1.1, wrong ones 2 and 1.2
SCRIPT = [
    "1. Tom starts with 3 apples.\nThen more text.",
    "3 + 5 = 9. The answer is 9. Extra words.",
    "He buys 5 more, so 3 + 5 = 8. The answer is 8.",
    "So he has 3 + 4 = 7.\nThe answer is 7.",
]


async def trees() -> list[Tree]:
    config = RunConfig(search=SearchConfig(width=2, keep=2, depth=2, reference_path="never"))
    return [
        await search(
            Problem(id=f"p{i}", question=f"Tom has 3 apples and buys 5 more ({i}).", answer="8"),
            FakeBackend(SCRIPT),
            [AnswerJudge()],
            config,
            load_prompts(),
        )
        for i in range(3)
    ]


@pytest.mark.parametrize("fmt", ["openai", "trl", "sharegpt", "llamafactory"])
async def test_one_pass_writes_the_bytes_of_one_pass_per_kind(tmp_path: Path, fmt: Format) -> None:
    built = await trees()
    kinds: tuple[ExportKind, ...] = ("journey", "shortcut", "dpo")
    prompts = load_prompts()
    apart, together = tmp_path / "apart", tmp_path / "together"
    apart_counts = {
        kind: export_trees(
            built, apart / f"{kind}.jsonl", kind=kind, fmt=fmt, options=Options(),
            prompts=prompts, run="demo",
        )
        for kind in kinds
    }  # fmt: skip
    targets = {kind: together / f"{kind}.jsonl" for kind in kinds}
    counts = export_kinds(built, targets, fmt=fmt, options=Options(), prompts=prompts, run="demo")
    assert counts == apart_counts and counts["journey"] == counts["shortcut"] == 3
    written = sorted(p.name for p in apart.iterdir())
    assert written == sorted(p.name for p in together.iterdir())
    for name in written:
        assert (apart / name).read_bytes() == (together / name).read_bytes(), name
