"""Run folders: every tree path stays inside its run, whatever the manifest says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from journeygen.store import Manifest, RunStore, StoreError


@pytest.mark.parametrize("good", ["q01", "gsm8k-12", "a.b_c-d", "A" * 128])
def test_tree_paths_of_safe_ids_are_files_in_the_run_folder(tmp_path: Path, good: str) -> None:
    store = RunStore(tmp_path, "run")
    assert store.tree_path(good) == tmp_path / "run" / f"{good}.json"


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", ".hidden", "", "a..b", "/etc/passwd", "a\\b"])
def test_unsafe_ids_are_refused_before_touching_the_disk(tmp_path: Path, bad: str) -> None:
    with pytest.raises(StoreError, match="would leave"):
        RunStore(tmp_path, "run").tree_path(bad)


def test_a_tampered_manifest_cannot_read_a_tree_outside_the_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "run")
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    store.write_manifest(Manifest(run="run", config={}, config_hash="h", source="s",
                                  problems=["../secret"]))  # fmt: skip
    with pytest.raises(StoreError, match=re.escape("'../secret' would leave")):
        list(store.trees())
