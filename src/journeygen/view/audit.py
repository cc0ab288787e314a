"""What stands behind a step's label: the request that produced the step and the raw answer,
read from the run's request cache (read-only), for `show --node` and the HTML report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from journeygen.judges.redundancy import REDUNDANT
from journeygen.models import Node, Tree

if TYPE_CHECKING:  # the runtime (asyncio, tenacity) loads only when a cache is read
    from journeygen.runtime.cache import CachedRequest

__all__ = [
    "Audit",
    "audit_node",
    "audit_tree",
    "cache_path",
    "cut_by_length",
    "padding_reason",
    "request_owner",
]


@dataclass(frozen=True)
class Audit:
    """The request behind one step: `owner` is the step whose completion made it (itself, or
    the first new step of the whole sampled solution it belongs to); `missing` says why
    nothing can be shown."""

    owner: Node | None
    request: CachedRequest | None
    missing: str | None

    @property
    def sample(self) -> int | None:
        """Which of the request's `n` samples the step came from."""
        if self.owner is None or self.owner.request is None:
            return None
        index = self.owner.request.partition("/")[2]
        return int(index) if index.isdigit() else None


def cache_path(run_dir: Path) -> Path:
    """The request cache of the run kept in `run_dir`."""
    from journeygen.runtime import CACHE_FILE

    return run_dir / CACHE_FILE


def cut_by_length(node: Node) -> bool:
    """Whether the completion that made the step was cut by `max_tokens`."""
    return node.finish_reason == "length"


def padding_reason(node: Node) -> str | None:
    """Why the step adds nothing (its `redundant` verdict's reason), or None."""
    found = next((v for v in node.verdicts if v.judge == REDUNDANT), None)
    return (found.reason or "adds nothing") if found else None


def request_owner(tree: Tree, node: Node) -> Node | None:
    """The step holding the cache entry of the completion that made `node`: itself, or for a
    later step of a whole solution sampled at once (the search puts the entry on the first
    new step only, and every step after it is new too) the nearest step above with one."""
    if node.request is not None:
        return node
    if node.source != "policy":
        return None
    return next((step for step in reversed(tree.path(node.id)) if step.request), None)


def _no_owner(node: Node) -> str:
    if node.source == "reference":
        return "a step of the problem's reference solution: no model wrote it"
    if node.source == "import":
        return "an imported step: written outside this run"
    return (
        "the step carries no request-cache entry (a run without a cache, or one saved "
        "before steps kept their entry)"
    )


def _audit(node: Node, owner: Node | None, found: dict[str, CachedRequest], cache: Path) -> Audit:
    if owner is None or owner.request is None:
        return Audit(None, None, _no_owner(node))
    if not cache.is_file():
        return Audit(owner, None, f"{cache} does not exist (entry {owner.request})")
    request = found.get(owner.request)
    if request is None:
        return Audit(owner, None, f"{cache} holds no entry {owner.request}")
    return Audit(owner, request, None)


def audit_tree(tree: Tree, cache: Path) -> dict[str, Audit]:
    """The audit of every step of `tree`, by node id, from one read of the cache at `cache`."""
    from journeygen.runtime.cache import look_up_many

    owners = {node.id: request_owner(tree, node) for node in tree.nodes}
    wanted = [owner.request for owner in owners.values() if owner and owner.request]
    found = look_up_many(cache, wanted)
    return {node.id: _audit(node, owners[node.id], found, cache) for node in tree.nodes}


def audit_node(tree: Tree, node: Node, cache: Path) -> Audit:
    """The request and raw answer behind `node` in the cache at `cache`, or why there is none."""
    from journeygen.runtime.cache import look_up_many

    owner = request_owner(tree, node)
    found = look_up_many(cache, [owner.request]) if owner and owner.request else {}
    return _audit(node, owner, found, cache)
