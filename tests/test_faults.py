"""Faults and crashes against a real local OpenAI-compatible server on 127.0.0.1: injected
429s, 500s, hangs, cut-off bodies and `length` answers; a run killed with SIGKILL and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from stub_server import FAULTS, StubServer

from journeygen.backends.openai_backend import OpenAIBackend
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.executors.local import generate
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions


def write_problems(path: Path, count: int) -> Path:
    rows = [
        {
            "id": f"q{i:02d}",
            "question": f"Ann has {i} pens and gets {8 - i % 8} more.",
            "answer": "8",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_injected_faults_end_complete_or_logged(tmp_path: Path) -> None:
    server = StubServer(fault_rate=0.35, hang_s=3.0)
    problems = write_problems(tmp_path / "faults.jsonl", 12)
    with server.serve():
        backend = OpenAIBackend("stub", base_url=server.base_url, timeout=0.4, max_retries=2)
        config = RunConfig(
            backend=BackendConfig(name="openai", model="stub", base_url=server.base_url),
            search=SearchConfig(width=2, keep=1, depth=3, reference_path="never"),
        )
        try:
            summary = await generate(
                problems,
                run="faults",
                config=config,
                backend=backend,
                prompts=load_prompts(),
                trees_dir=tmp_path / "trees",
                out_dir=tmp_path / "outputs",
                runtime=RuntimeOptions(concurrency=6),
            )
        finally:
            await backend.aclose()

    assert set(server.injected) == set(FAULTS)  # every kind of fault happened at least once
    trees = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "trees/faults").glob("q*")}
    assert sorted(trees) == [f"q{i:02d}" for i in range(12)]  # one tree per problem
    failures = jsonl(tmp_path / "trees/faults/failures.jsonl")
    failed_trees = {f["problem_id"]: f["reason"] for f in failures if f["kind"] == "tree"}
    for problem_id, tree in trees.items():
        assert tree["status"] in ("complete", "failed")
        if tree["status"] == "failed":
            assert failed_trees[problem_id] == tree["error"]
            assert "openai backend" in tree["error"]
        node_ids = [node["id"] for node in tree["nodes"]]
        assert len(node_ids) == len(set(node_ids))
    assert set(failed_trees) == {k for k, t in trees.items() if t["status"] == "failed"}
    # an answer cut off as JSON is asked again (tenacity) and logged as retried
    assert any(f["retried"] and "unparseable" in f["reason"] for f in failures)
    assert summary.status["complete"] + summary.status["failed"] == 12
    provenance = jsonl(tmp_path / "outputs/faults/journey.provenance.jsonl")
    ids = [row["problem_id"] for row in provenance]
    assert len(ids) == len(set(ids))  # nothing exported twice
    assert summary.failures == len(failures)


def journeygen(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "journeygen", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*.json*"))
        # texts are appended as they arrive: the same lines, in any order (compared apart)
        if p.name not in ("manifest.json", "failures.jsonl", "llm-texts.jsonl")
        and not p.name.startswith(".")
    }


def text_lines(folder: Path) -> list[str]:
    path = folder / "llm-texts.jsonl"
    return sorted(path.read_text().splitlines()) if path.exists() else []


# LLM reflections for every detour and a rewrite of every journey: texts are asked with the
# trees, so a kill lands among them too
TEXTS = ("--reflection-sources", "llm,phrase", "--linearize", "rewrite")


@pytest.mark.parametrize("extra", [(), TEXTS], ids=["search", "search+texts"])
def test_sigkill_then_resume_is_byte_identical_and_pays_nothing_twice(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    problems = write_problems(tmp_path / "kill.jsonl", 16)
    server = StubServer(delay=0.03)
    concurrency = 4
    with server.serve():
        common = (
            "generate", problems, "--backend", "openai", "--base-url", server.base_url,
            "--model", "stub", "--width", "2", "--keep", "1", "--depth", "3",
            "--reference-path", "never", "--seed", "7", "--concurrency", str(concurrency),
            *extra,
        )  # fmt: skip
        whole = tmp_path / "whole"
        finish(journeygen(*common, "--trees-dir", whole / "trees", "--out-dir", whole / "out",
                          cwd=tmp_path))  # fmt: skip
        calls_whole = sum(server.answered.values())
        assert server.repeats() == 0
        # every request the server answered is in the manifest's usage, texts included
        manifest = json.loads((whole / "trees/kill/manifest.json").read_text())
        assert manifest["usage"]["calls"] == calls_whole
        if extra:
            texts = (whole / "trees/kill/llm-texts.jsonl").read_text().splitlines()
            assert texts and len(texts) == len({json.loads(line)["key"] for line in texts})
        server.reset()

        killed = tmp_path / "killed"
        args = (*common, "--trees-dir", killed / "trees", "--out-dir", killed / "out")
        process = journeygen(*args, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while sum(server.answered.values()) < calls_whole // 2:  # kill half-way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()  # reap it and close its pipes
        done_before = {p.stem for p in (killed / "trees/kill").glob("q*.json")}
        assert len(done_before) < 16

        out = finish(journeygen(*args, cwd=tmp_path))
    assert "trees 16" in out
    assert files(killed / "trees") == files(whole / "trees")
    assert files(killed / "out") == files(whole / "out")
    assert text_lines(killed / "trees/kill") == text_lines(whole / "trees/kill")
    assert files(whole / "out")  # the exports were compared, not two empty sets
    # no answered request paid twice, except those in flight at the kill
    assert server.repeats() <= concurrency
    assert sum(server.answered.values()) <= calls_whole + concurrency
    assert Counter(server.answered.values()).most_common(1)[0][0] == 1
