"""The phrase bank: the built-in phrases.yaml is read without a YAML parser and means the same
to PyYAML, and a phrases.yaml of one's own, in any YAML style, replaces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

import journeygen.prompts
from journeygen.prompts import load_prompts

BUILT_IN = Path(journeygen.prompts.__file__).parent / "phrases.yaml"


def test_the_built_in_phrase_bank_loads_without_importing_yaml() -> None:
    code = (
        "import sys\n"
        "from journeygen.prompts import load_prompts\n"
        "bank = load_prompts()\n"
        "print(len(bank.phrase_list('markers')), 'yaml' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    markers, yaml_loaded = done.stdout.split()
    assert int(markers) > 0
    assert yaml_loaded == "False"


def test_pyyaml_reads_the_built_in_bank_as_journeygen_does() -> None:
    text = BUILT_IN.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == load_prompts().phrases


def test_a_block_style_phrases_file_of_ones_own_replaces_the_bank(tmp_path: Path) -> None:
    bank = yaml.safe_load(BUILT_IN.read_text(encoding="utf-8"))
    bank["markers"] = ["Oh.", "# not a comment: inside a quoted phrase"]
    own = "# my phrases, block style\n" + yaml.safe_dump(bank, allow_unicode=True, width=200)
    (tmp_path / "phrases.yaml").write_text(own, encoding="utf-8")

    prompts = load_prompts(tmp_path)

    assert prompts.phrase_list("markers") == ["Oh.", "# not a comment: inside a quoted phrase"]
    assert prompts.phrases["step"] == bank["step"]
    assert prompts.step == load_prompts().step  # step.md: not in the folder, the built-in one
