"""`generate --executor ray`: where the trees are searched, and the Ray workers that do it.
Ray is imported only when a run asks for it (`pip install 'journeygen[ray]'`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import click

from journeygen.backends.base import Backend
from journeygen.cli.common import stderr
from journeygen.cli.runtime_options import RunSettings
from journeygen.config import RunConfig
from journeygen.prompts import PromptSet
from journeygen.runtime import RuntimeOptions, default_concurrency

if TYPE_CHECKING:
    from journeygen.executors.ray.driver import RayCluster

__all__ = ["Placement", "RayRun", "executor_options", "start_ray"]

GPU_BACKENDS = ("vllm",)  # an in-process engine on a GPU: one GPU per worker


@dataclass(frozen=True)
class Placement:
    """Where `generate` searches its trees."""

    executor: Literal["local", "ray"]
    workers: int | None
    cpus: float


@dataclass
class RayRun:
    """A run's workers and what `generate` gets from them instead of local backends."""

    cluster: RayCluster
    backend: Backend
    critic: Backend | None
    runtime: RuntimeOptions  # concurrency: the whole run's (workers x per worker)


_OPTIONS = [
    click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Search trees in this process, or on Ray workers (the cluster at RAY_ADDRESS, "
        "else one started with `ray start` here, else a new local one).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(1, 4096),
        help="ray: how many workers; each loads the model once and has --concurrency "
        "requests in flight.",
    ),
    click.option(
        "--worker-cpus",
        type=click.FloatRange(min=0, min_open=True),
        default=1.0,
        show_default=True,
        help="ray: CPUs each worker reserves (the vllm backend takes a GPU too).",
    ),
]


def executor_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the options above to a click command, which receives them as `placement`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        placement = Placement(
            executor=kwargs.pop("executor"),
            workers=kwargs.pop("workers"),
            cpus=kwargs.pop("worker_cpus"),
        )
        if placement.executor == "local" and placement.workers is not None:
            raise click.UsageError("--workers is for --executor ray")
        if placement.executor == "ray" and placement.workers is None:
            raise click.UsageError("--executor ray needs --workers N (how many Ray workers)")
        command(*args, placement=placement, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def start_ray(
    placement: Placement, config: RunConfig, settings: RunSettings, prompts: PromptSet
) -> RayRun:
    """Join the cluster and start the run's workers (ValueError when it can't)."""
    if settings.runtime.batch:
        raise ValueError(
            "--batch sends one process's requests as provider batches; run it without "
            "--executor ray (a batch already runs on the provider's machines)"
        )
    try:
        from journeygen.executors.ray.driver import RayCluster
        from journeygen.executors.ray.worker import WorkerSpec
    except ImportError as exc:
        raise ValueError(
            f"--executor ray needs Ray: pip install 'journeygen[ray]' ({exc})"
        ) from None
    named = config.critic_backend()
    spec = WorkerSpec(
        config=config.model_dump_json(),
        prompts=prompts,
        policy=settings.backend(config.backend, config.seed),
        critic=settings.backend(named, config.seed) if named is not None else None,
    )
    per_worker = settings.runtime.concurrency or default_concurrency(config.backend.name)
    workers = placement.workers or 1
    try:
        cluster = RayCluster.start(
            spec,
            workers=workers,
            concurrency=per_worker,
            cpus=placement.cpus,
            gpus=1.0 if config.backend.name in GPU_BACKENDS else 0.0,
        )
    except (ConnectionError, RuntimeError) as exc:  # no cluster at RAY_ADDRESS, or a worker
        raise ValueError(f"ray: {exc}") from exc  # that could not load its model
    stderr.print(
        f"ray: {workers} workers at {cluster.address}, {per_worker} requests in flight each",
        markup=False,
    )
    return RayRun(
        cluster=cluster,
        backend=cluster.backend("policy", config.backend.name),
        critic=cluster.backend("critic", named.name) if named is not None else None,
        runtime=settings.runtime.model_copy(update={"concurrency": workers * per_worker}),
    )
