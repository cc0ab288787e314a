"""How long a command that calls a model has left, counted in requests rather than in finished
trees, so an ETA shows before the first tree is done.

Requests to come = requests a unit takes (the mean of the finished units, or a plan from the
settings before any has finished, and never less than what the open units have asked so far)
x units not finished, less the requests the open units already had; seconds left = requests
to come / requests answered per second so far. A unit is a tree (`generate`, `export
--reflect-backend`) or a labelled step (`eval-judge`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from journeygen.config import RunConfig

__all__ = ["RequestEta", "format_eta", "planned_requests"]


def planned_requests(config: RunConfig) -> float:
    """Requests one tree takes if no path ends early: the ETA's guess before a tree is done.

    Beam: the root, then `keep` parents on each later level; rollout: the first rollout and
    about one probe per level; MCTS: one request per simulation; critique and dialogue: a
    step and a move per turn. The LLM judge adds one request per new step.
    """
    search = config.search
    per_request = search.width  # steps a step request adds (the LLM judge asks once each)
    if search.strategy == "beam":
        requests = 1 + search.keep * (search.depth - 1)
    elif search.strategy == "best_of_n":
        requests, per_request = search.rollouts, search.depth
    elif search.strategy == "rollout":
        requests, per_request = 1 + search.depth, search.rollouts * search.depth
    elif search.strategy == "mcts":
        requests = search.simulations
    else:  # critique, dialogue: the policy writes a step, then a move is chosen
        requests, per_request = 2 * search.turns, 0
    judged = "llm" in config.judges.use
    return float(requests * (1 + per_request if judged else 1))


@dataclass
class RequestEta:
    """Units to finish and the requests the finished ones took; see the module docstring.

    `answered` (every request answered so far, from the runtime's `LimitedBackend`) is passed
    in on each call, so this stays a plain calculation that a test can work by hand.
    """

    total: int
    prior: float | None = None  # requests a unit takes, before one has finished
    finished: int = 0
    finished_requests: int = 0
    aside: int = 0  # requests of units that tell nothing about the rest (reused trees)

    def finish(self, requests: int, *, typical: bool = True) -> None:
        """A unit is done after `requests` requests; an atypical one (a tree reused from an
        earlier session, which only asks its missing texts) leaves the mean alone."""
        if typical:
            self.finished += 1
            self.finished_requests += requests
        else:
            self.total -= 1
            self.aside += requests

    def per_unit(self, answered: int, open_units: int) -> float | None:
        """Requests one unit takes: the finished units' mean (else the prior), at least the
        mean of what the open units have asked so far (the quick trees finish first)."""
        base = self.finished_requests / self.finished if self.finished else self.prior
        if base is None:
            return None
        asked = self._open_requests(answered)
        return max(base, asked / open_units) if open_units else base

    def requests_left(self, answered: int, open_units: int) -> float | None:
        """Requests still to come for the units not finished (None: nothing to go on yet)."""
        per_unit = self.per_unit(answered, open_units)
        if per_unit is None:
            return None
        left = per_unit * (self.total - self.finished) - self._open_requests(answered)
        return max(left, 0.0)

    def seconds_left(self, answered: int, open_units: int, elapsed: float) -> float | None:
        """Requests to come at the rate requests have been answered so far."""
        left = self.requests_left(answered, open_units)
        if left is None or answered <= 0 or elapsed <= 0:
            return None if left != 0 else 0.0
        return left / (answered / elapsed)

    def _open_requests(self, answered: int) -> int:
        return max(answered - self.finished_requests - self.aside, 0)


def format_eta(seconds: float | None) -> str:
    """`H:MM:SS`, or `-` when there is nothing to estimate from yet."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
