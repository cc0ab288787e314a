"""Export lines made while a run is still going: each tree's lines are made once its LLM texts
are in and kept in a spool, so the export at the end of a run writes them instead of reading
and deriving every tree again after the last answer (about 1 ms a tree: seconds for a big run).

The spool is an unnamed temporary file (gone with the process, whatever ends it): only a tree
finished in this process has lines there, and the export makes the others from disk."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from journeygen.derive.samples import Built
from journeygen.export.writer import TreeLines
from journeygen.models import Tree

__all__ = ["LineSpool"]


class LineSpool:
    """One run's spooled lines: `add` a finished tree, `lines` gives its lines back (None for
    a tree never added). Lines live on disk, one offset a tree in memory, so a run of 100,000
    trees keeps its memory flat. Close it when the export is written."""

    def __init__(self, folder: Path, make: Callable[[Tree, Built | None], TreeLines]) -> None:
        self._make = make
        # closed by `close` (or the `with` block): it lives as long as the run
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=folder, prefix=".lines-")  # noqa: SIM115
        self._at: dict[str, tuple[int, int]] = {}
        self._end = 0

    def add(self, tree: Tree, built: Built | None = None) -> None:
        """Make the tree's lines now (its texts must be in: they are part of the lines), from
        `built` samples where given."""
        data = pickle.dumps(self._make(tree, built), protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._end)
        self._file.write(data)
        self._at[tree.problem.id] = (self._end, len(data))
        self._end += len(data)

    def lines(self, problem_id: str) -> TreeLines | None:
        at = self._at.get(problem_id)
        if at is None:
            return None
        self._file.seek(at[0])
        lines: TreeLines = pickle.loads(self._file.read(at[1]))  # our own file, written above
        return lines

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> LineSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
