"""journeygen: journey-learning reasoning data from searched trees of solution steps.

The types below are imported from `journeygen.models` when first used: every `journeygen`
command imports this package first, and `journeygen --help` should not pay for pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeygen.models import Journey, Node, Problem, Sample, Segment, Tree, Verdict

__all__ = ["Journey", "Node", "Problem", "Sample", "Segment", "Tree", "Verdict"]


def __getattr__(name: str) -> Any:
    """`journeygen.Tree` and the other types of `__all__`, from `journeygen.models`."""
    if name in __all__:
        from journeygen import models

        return getattr(models, name)
    raise AttributeError(f"module 'journeygen' has no attribute {name!r}")
