"""Runs on disk: one JSON per tree in `trees/<run>/`, written atomically, plus a manifest."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

from pydantic import Field, ValidationError

from journeygen.config import RunConfig
from journeygen.models import StrictModel, Tree, Usage, empty_dict, empty_list, is_safe_id

__all__ = [
    "LOCK_FILE",
    "ExecutorInfo",
    "Manifest",
    "RunInUse",
    "RunLock",
    "RunStore",
    "StoreError",
    "atomic_open",
    "check_run_name",
    "tree_json",
]

MANIFEST = "manifest.json"
LOCK_FILE = ".lock"


class StoreError(RuntimeError):
    """A run folder or tree file that can't be used, named by its path."""


# tempfile.mkstemp's flags: create exclusively, never through a planted link, binary on Windows.
_TEMP_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside `path` with the mode a plain `open(path, "w")` would give it:
    the old file's mode when it exists, else 0666 less the umask (the kernel applies it;
    `mkstemp` would force 0600, and reading the umask by setting it races other threads)."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, _TEMP_FLAGS, 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.chmod(tmp, mode)
            except BaseException:
                os.close(fd)
                tmp.unlink(missing_ok=True)
                raise
        return fd, tmp
    raise FileExistsError(f"no free temporary name beside {path}")


@contextmanager
def atomic_open(path: Path) -> Iterator[IO[str]]:
    """Write a text file so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_run_name(run: str) -> str:
    """A run name becomes a folder name, so it must be as safe as a problem id."""
    if not is_safe_id(run):
        raise StoreError(f"run name {run!r} must be letters, digits, '.', '_' or '-'")
    return run


class ExecutorInfo(StrictModel):
    """Where the last session of a run built its trees: in one process, or on a Ray cluster
    (its address, the workers used and the requests each had in flight)."""

    name: Literal["local", "ray"] = "local"
    address: str | None = None
    workers: int = Field(default=1, ge=1)
    concurrency: int = Field(default=1, ge=1, description="requests in flight per worker")


class Manifest(StrictModel):
    """What a run was asked to do and what it did so far."""

    run: str
    config: RunConfig
    config_hash: str
    source: str
    problems: list[str] = Field(default_factory=empty_list)
    decontaminate: list[str] = Field(default_factory=empty_list)  # benchmark files kept out
    counts: dict[str, int] = Field(default_factory=empty_dict)
    usage: Usage = Field(default_factory=Usage)  # paid for, over every session of the run
    cost_usd: float = 0.0
    stopped: str | None = None  # why the last session stopped early (budget, signal)
    wall_s: float = 0.0
    executor: ExecutorInfo | None = None  # None: written before runs recorded it


def tree_json(tree: Tree) -> str:
    """A tree as saved on disk."""
    return tree.model_dump_json(indent=1)


class RunStore:
    """The folder of one run; every path it hands out stays inside that folder."""

    def __init__(self, trees_dir: str | Path, run: str) -> None:
        self.run = check_run_name(run)
        self.dir = Path(trees_dir) / run

    def tree_path(self, problem_id: str) -> Path:
        if not is_safe_id(problem_id):  # a string rule: no realpath walk per tree file
            raise StoreError(f"problem id {problem_id!r} would leave {self.dir}")
        return self.dir / f"{problem_id}.json"

    def save_tree(self, tree: Tree) -> Path:
        return self.write_tree_json(tree.problem.id, tree_json(tree))

    def write_tree_json(self, problem_id: str, text: str) -> Path:
        """Write a serialised tree: pure file I/O, which a worker thread can do while holding
        the GIL only briefly (serialising there would stall the event loop for milliseconds)."""
        path = self.tree_path(problem_id)
        with atomic_open(path) as handle:
            handle.write(text)
        return path

    def load_tree(self, problem_id: str) -> Tree | None:
        path = self.tree_path(problem_id)
        try:  # no stat first, and bytes as they are: pydantic parses UTF-8 itself
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None
        try:
            return Tree.model_validate_json(data)
        except ValidationError as exc:
            raise StoreError(f"{path}: not a valid tree: {exc.errors()[0]['msg']}") from exc

    def exists(self) -> bool:
        return (self.dir / MANIFEST).is_file()

    def read_manifest(self) -> Manifest:
        path = self.dir / MANIFEST
        if not path.is_file():
            raise StoreError(f"no run at {self.dir} (missing {MANIFEST})")
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: Manifest) -> None:
        with atomic_open(self.dir / MANIFEST) as handle:
            handle.write(manifest.model_dump_json(indent=1))

    def trees(self) -> Iterator[Tree]:
        """Saved trees in the order their problems were loaded."""
        for problem_id in self.read_manifest().problems:
            tree = self.load_tree(problem_id)
            if tree is not None:
                yield tree


class RunInUse(StoreError):
    """Another process writes this run now; it says who, so the user can find it."""


class RunLock:
    """One writer per run: an exclusive `flock` on `trees/RUN/.lock`, which the OS releases
    when the holder exits or dies (no stale pid to guess about). The file says who holds it.
    Readers (show, stats, view, graph) take no lock: trees are written atomically."""

    def __init__(self, store: RunStore, command: str) -> None:
        self.path = store.dir / LOCK_FILE
        self.run = store.run
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace")
            os.close(fd)
            raise RunInUse(f"run {self.run!r} is in use by {_who(holder)}") from None
        started = time.strftime("%H:%M:%S", time.localtime())
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "command": self.command, "started": started}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def _who(holder: str) -> str:
    """`pid 12345 (generate, started 14:03:10)` from the lock file's words."""
    try:
        info = json.loads(holder)
        return f"pid {info['pid']} ({info['command']}, started {info['started']})"
    except (ValueError, KeyError, TypeError):
        return "another process"
