"""Prompt and phrase files: text in `prompts/`, shipped in the wheel, overridable by a folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeygen.backends.base import ChatMessage

__all__ = ["ChatTemplate", "PromptSet", "load_prompts"]

SEPARATOR = "\n---\n"
# The built-in files, which the wheel installs beside this module (importlib.resources would
# find the same folder, at 5-10 ms of imports on every command that reads a prompt)
_BUILT_IN = Path(__file__).parent


@dataclass(frozen=True)
class ChatTemplate:
    """A system text and a user template with `{named}` fields."""

    system: str
    user: str

    def render(self, **fields: str) -> list[ChatMessage]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.format(**fields)},
        ]


@dataclass(frozen=True)
class PromptSet:
    """All text journeygen writes or sends, loaded once per run."""

    step: ChatTemplate
    final: ChatTemplate
    rollout: ChatTemplate
    reflect: ChatTemplate
    rewrite: ChatTemplate
    judge: ChatTemplate
    critique: ChatTemplate
    critic: ChatTemplate
    phrases: dict[str, Any]

    def phrase(self, key: str) -> str:
        value = self.phrases[key]
        if not isinstance(value, str):
            raise TypeError(f"phrases.yaml: {key!r} must be a string")
        return value

    def phrase_list(self, key: str) -> list[str]:
        value = self.phrases[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise TypeError(f"phrases.yaml: {key!r} must be a non-empty list of strings")
        return value


def _read(folder: Path | None, name: str) -> str:
    if folder is not None and (folder / name).is_file():
        return (folder / name).read_text(encoding="utf-8")
    return (_BUILT_IN / name).read_text(encoding="utf-8")


def _phrase_bank(text: str) -> Any:
    """The data of a phrases.yaml. The built-in one is YAML in its JSON-compatible style, read
    with the json module once its comment lines are dropped (a JSON string can't span lines,
    so no dropped line was inside one); any other YAML goes to PyYAML, imported only then."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    try:
        return json.loads("\n".join(kept))
    except ValueError:
        import yaml

        # libyaml's safe loader when PyYAML was built with it: about five times faster
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _template(folder: Path | None, name: str) -> ChatTemplate:
    text = _read(folder, name)
    if SEPARATOR not in text:
        raise ValueError(f"{name}: expected a system part and a user part separated by '---'")
    system, user = text.split(SEPARATOR, 1)
    return ChatTemplate(system=system.strip(), user=user.rstrip("\n"))


def load_prompts(folder: str | Path | None = None) -> PromptSet:
    """Load the built-in prompts; files present in `folder` replace their built-in twins."""
    path = Path(folder) if folder is not None else None
    phrases = _phrase_bank(_read(path, "phrases.yaml"))
    if not isinstance(phrases, dict):
        raise ValueError("phrases.yaml: expected a mapping")
    return PromptSet(
        step=_template(path, "step.md"),
        final=_template(path, "final.md"),
        rollout=_template(path, "rollout.md"),
        reflect=_template(path, "reflect.md"),
        rewrite=_template(path, "rewrite.md"),
        judge=_template(path, "judge.md"),
        critique=_template(path, "critique.md"),
        critic=_template(path, "critic.md"),
        phrases=phrases,
    )
