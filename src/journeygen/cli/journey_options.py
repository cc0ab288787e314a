"""The journey knobs shared by `generate`, `export` and `stats`, and the optional backend that
writes LLM reflections and rewrites at export time (offline when absent)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

import click

from journeygen.backends import BACKEND_NAMES
from journeygen.config import JourneyConfig, ReflectionSource
from journeygen.derive.samples import PathSourceFilter, SampleSettings, prepare_texts
from journeygen.derive.texts import TEXTS_FILE, TextCache

if TYPE_CHECKING:
    from journeygen.prompts import PromptSet
    from journeygen.store import RunStore

__all__ = ["journey_options", "reflect_backend_options", "sample_settings"]

_SOURCES: tuple[str, ...] = get_args(ReflectionSource)
_D = JourneyConfig()  # the defaults the help names, stated once in the config


def _sources(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in _SOURCES]
    if unknown or not names or len(set(names)) != len(names):
        raise click.BadParameter(
            f"{value!r}: give distinct names from {', '.join(_SOURCES)}, comma-separated"
        )
    return names


_KNOBS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option(
        "--detours",
        type=click.IntRange(1, 16),
        help=f"Wrong detours per journey [run setting; {_D.detours}].",
    ),
    click.option(
        "--detour-depth",
        type=click.IntRange(1, 64),
        help=f"Most wrong steps one detour follows to its error [run setting; {_D.detour_depth}].",
    ),
    click.option(
        "--wrong-trials",
        type=click.IntRange(1, 8),
        help="Wrong detours tried at one correct-path step "
        f"[run setting; {_D.wrong_trials}, as the paper].",
    ),
    click.option(
        "--samples-per-tree",
        type=click.IntRange(1, 64),
        help=f"Distinct journeys cut from one tree [run setting; {_D.samples_per_tree}].",
    ),
    click.option(
        "--journey-seed",
        type=int,
        help="Seed of the journey choices [run setting; the run seed].",
    ),
    click.option(
        "--reflection-sources",
        callback=_sources,
        help="Where a reflection's reason comes from, best first "
        f"[run setting; {','.join(_D.reflection_sources)}].",
    ),
    click.option(
        "--marker-every",
        type=click.IntRange(1, 64),
        help="At most one 'Wait'/'Hmm' marker per this many segments "
        f"[run setting; {_D.marker_every}].",
    ),
    click.option(
        "--linearize",
        type=click.Choice(["template", "rewrite"]),
        help="template: phrases; rewrite: an LLM monologue, kept if faithful "
        f"[run setting; {_D.linearize}].",
    ),
]
KNOB_NAMES = {  # click parameter → JourneyConfig field
    "detours": "detours",
    "detour_depth": "detour_depth",
    "wrong_trials": "wrong_trials",
    "samples_per_tree": "samples_per_tree",
    "journey_seed": "seed",
    "reflection_sources": "reflection_sources",
    "marker_every": "marker_every",
    "linearize": "linearize",
}


def journey_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the journey knobs to a command; it receives them as `journey` (name → value, None
    where not given, so a tree's stored settings stay). "run setting" in the help: the value
    `generate` stored in each tree, then the default named."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        knobs = {field: kwargs.pop(param) for param, field in KNOB_NAMES.items()}
        command(*args, journey=knobs, **kwargs)

    for option in reversed(_KNOBS):
        wrapper = option(wrapper)
    return wrapper


def reflect_backend_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add `--reflect-backend/--reflect-model/--reflect-base-url`; the command receives them
    as `reflect` (a dict, `backend` None when not asked for)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        reflect = {
            "backend": kwargs.pop("reflect_backend"),
            "model": kwargs.pop("reflect_model"),
            "base_url": kwargs.pop("reflect_base_url"),
        }
        command(*args, reflect=reflect, **kwargs)

    options = [
        click.option(
            "--reflect-backend",
            type=click.Choice(BACKEND_NAMES),
            help="Backend that writes the LLM reflections and rewrites the cache lacks "
            "(default: none, offline: cached texts only).",
        ),
        click.option("--reflect-model", help="Its model (GGUF path, model name or script)."),
        click.option("--reflect-base-url", help="Its OpenAI-compatible server URL."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def sample_settings(
    store: RunStore,
    prompts: PromptSet,
    journey: dict[str, Any],
    reflect: dict[str, Any] | None = None,
    path_source: PathSourceFilter = "any",
) -> SampleSettings:
    """The settings an export uses: the knobs, the run's cached LLM texts, and, with a
    reflect backend, the texts it lacked written first (and cached), seeded as the run was
    (or by `--journey-seed`); only for samples whose correct path passes `path_source`."""
    texts = TextCache(store.dir / TEXTS_FILE)
    settings = SampleSettings(journey=journey, texts=texts, path_source=path_source)
    if reflect and reflect["backend"]:
        # Only here: a backend, its SDK and the event loop are for writing texts, which an
        # offline export or `stats` never does.
        from journeygen.backends.build import make_backend
        from journeygen.cli.common import stderr
        from journeygen.cli.progress import RequestProgress
        from journeygen.runtime import RuntimeOptions, build_stack
        from journeygen.runtime.loop import run_batch

        manifest = store.read_manifest()
        seed = journey["seed"] if journey["seed"] is not None else manifest.config.seed
        backend = make_backend(
            reflect["backend"], model=reflect["model"], base_url=reflect["base_url"], seed=seed
        )
        model = getattr(backend, "model", None)
        # the same runtime as a run's: the request cache, limits, cost meter, failure log
        stack = build_stack(
            backend,
            store.dir,
            RuntimeOptions(),
            backend_name=reflect["backend"],
            model=model if isinstance(model, str) else reflect["model"],
        )

        progress = RequestProgress(stderr, "trees")  # no plan of texts a tree: ETA from the first

        async def write() -> int:
            progress.start(len(manifest.problems), stack)
            try:
                return await prepare_texts(
                    store.trees(),
                    prompts,
                    settings,
                    stack.backend,
                    run=store.run,
                    on_tree=lambda tree: progress.advance(tree.problem.id),
                )
            finally:
                progress.close()
                stack.close()
                await backend.aclose()

        run_batch(write())
    return settings
