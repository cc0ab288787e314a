"""One row per training example, shaped as each trainer documents it: OpenAI fine-tuning
(chat SFT and DPO), TRL (conversational SFT and preference, standard stepwise supervision),
ShareGPT and Alpaca as LLaMA-Factory reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from journeygen.export.pairs import LabelledPath, StepPair
from journeygen.export.think import ThinkStyle, assistant_text
from journeygen.models import Sample

__all__ = [
    "EXPORT_KINDS",
    "FORMATS",
    "ExportError",
    "ExportKind",
    "Format",
    "Item",
    "Options",
    "check_options",
    "row",
]

Format = Literal["openai", "trl", "sharegpt", "alpaca", "llamafactory"]
FORMATS: tuple[Format, ...] = ("openai", "trl", "sharegpt", "alpaca", "llamafactory")
ExportKind = Literal["journey", "shortcut", "episode", "dpo", "prm"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("journey", "shortcut", "episode", "dpo", "prm")
Item = Sample | StepPair | LabelledPath
Row = dict[str, Any]


class ExportError(ValueError):
    """An export that the chosen format, kind and options can't make, said plainly."""


@dataclass(frozen=True)
class Options:
    """How rows are written. `think` None means "not asked for" (R1 where it applies)."""

    think: ThinkStyle | None = None
    system: str | None = None
    prompt_completion: bool = False


def check_options(fmt: Format, kind: ExportKind, options: Options) -> None:
    """Refuse combinations a format has no place for, before any file is touched."""
    if kind in ("dpo", "prm") and options.think is not None:
        raise ExportError(f"--think applies to journey, shortcut and episode rows, not {kind}")
    if options.prompt_completion and (fmt != "trl" or kind in ("dpo", "prm")):
        raise ExportError(
            "--prompt-completion applies to --format trl with journey, shortcut or episode"
        )
    if kind == "prm" and fmt != "trl":
        raise ExportError(
            f"{fmt} has no per-step label format; export prm with --format trl "
            "(stepwise supervision)"
        )
    if kind == "prm" and options.system is not None:
        raise ExportError("--system does not apply to prm rows (TRL stepwise rows are plain text)")


def _chat(options: Options, user: str) -> list[dict[str, str]]:
    system = [{"role": "system", "content": options.system}] if options.system else []
    return [*system, {"role": "user", "content": user}]


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _conversation(options: Options, user: str) -> list[dict[str, str]]:
    system = [{"from": "system", "value": options.system}] if options.system else []
    return [*system, {"from": "human", "value": user}]


def _gpt(text: str) -> dict[str, str]:
    return {"from": "gpt", "value": text}


def _alpaca(options: Options, instruction: str, answer: Row) -> Row:
    system = {"system": options.system} if options.system else {}
    return {"instruction": instruction, "input": "", **answer, **system}


def _sft(fmt: Format, sample: Sample, options: Options) -> Row:
    text = assistant_text(sample, options.think or "r1")
    if fmt == "openai":
        return {"messages": [*_chat(options, sample.prompt), _assistant(text)]}
    if fmt == "trl" and options.prompt_completion:
        return {"prompt": _chat(options, sample.prompt), "completion": [_assistant(text)]}
    if fmt == "trl":
        return {"messages": [*_chat(options, sample.prompt), _assistant(text)]}
    if fmt == "alpaca":
        return _alpaca(options, sample.prompt, {"output": text})
    return {"conversations": [*_conversation(options, sample.prompt), _gpt(text)]}


def _dpo(fmt: Format, pair: StepPair, options: Options) -> Row:
    """Both completions carry the shared correct steps before the sibling step: chat formats
    have no half-written assistant turn to put them in the prompt, and the shared tokens
    cancel out of the DPO loss, so the pair still contrasts only the two next steps."""
    before = [node.text for node in pair.prefix]
    chosen = "\n".join([*before, pair.chosen.text])
    rejected = "\n".join([*before, pair.rejected.text])
    if fmt == "openai":
        return {
            "input": {"messages": _chat(options, pair.prompt)},
            "preferred_output": [_assistant(chosen)],
            "non_preferred_output": [_assistant(rejected)],
        }
    if fmt == "trl":
        return {
            "prompt": _chat(options, pair.prompt),
            "chosen": [_assistant(chosen)],
            "rejected": [_assistant(rejected)],
        }
    if fmt == "alpaca":
        return _alpaca(options, pair.prompt, {"chosen": chosen, "rejected": rejected})
    return {
        "conversations": _conversation(options, pair.prompt),
        "chosen": _gpt(chosen),
        "rejected": _gpt(rejected),
    }


def _prm(path: LabelledPath) -> Row:
    return {
        "prompt": path.prompt,
        "completions": [node.text for node in path.steps],
        "labels": path.labels,
    }


def row(fmt: Format, item: Item, options: Options) -> Row:
    """The row for one item, without provenance (the writer adds it where the format allows)."""
    if isinstance(item, Sample):
        return _sft(fmt, item, options)
    if isinstance(item, StepPair):
        return _dpo(fmt, item, options)
    return _prm(item)
