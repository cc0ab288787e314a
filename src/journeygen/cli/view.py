"""`journeygen view`: write a run's offline HTML report: one self-contained file for a small
run, a folder (index.html plus data chunks loaded as each tree is opened) for a big one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from journeygen.cli.common import out_dir_option, stdout, trees_dir_option
from journeygen.cli.journey_options import journey_options, sample_settings
from journeygen.prompts import load_prompts
from journeygen.store import RunStore, StoreError
from journeygen.view.html import (
    SINGLE_FILE_MAX,
    Written,
    count_trees,
    run_trees,
    write_folder,
    write_single_file,
)

__all__ = ["view_command"]


def _target(output: Path | None, default: Path, single: bool, trees: int) -> Path:
    """Where the report goes; a file name for a folder (or a folder for a file) is refused
    with the way out, since which one a run gets can change as it grows."""
    if output is None:
        return default
    if single and output.is_dir():
        raise click.UsageError(f"-o {output} is a folder: a one-file report needs a file name")
    if not single and (output.suffix.lower() in (".html", ".htm") or output.is_file()):
        raise click.UsageError(
            f"-o {output} names a file, but a report of {trees} trees is a folder (index.html "
            f"and data/; more than {SINGLE_FILE_MAX} trees): give -o a folder, or --single-file"
        )
    return output


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def _summary(written: Written) -> str:
    if not written.data_bytes:
        return f"report: {written.page} ({_size(written.page_bytes)})"
    return (
        f"report: {written.page} ({written.trees} trees; index {_size(written.page_bytes)}, "
        f"{written.chunks} data files {_size(written.data_bytes)}; keep the folder together)"
    )


@click.command(name="view")
@click.argument("run")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write: the HTML file of a one-file report, the folder of a report folder "
    "(default: OUT_DIR/RUN/report.html or OUT_DIR/RUN/report/).",
)
@click.option(
    "--single-file/--folder",
    "single_file",
    default=None,
    help=f"Force one self-contained file, or a folder [default: one file up to "
    f"{SINGLE_FILE_MAX} trees, a folder above].",
)
@click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False, path_type=Path))
@trees_dir_option
@out_dir_option
@journey_options
def view_command(
    run: str,
    output: Path | None,
    single_file: bool | None,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
    journey: dict[str, Any],
) -> None:
    """Write an HTML report to explore RUN offline: every tree with its labels, values and
    reasons, journeys and shortcuts (and a critique or dialogue run's episodes) drawn over it,
    their text, and rejected rows. Samples are rebuilt offline from the saved trees (journey
    options override the run's).

    A run of up to 200 trees makes one self-contained file. A bigger one makes a folder:
    index.html, which lists every problem (search and filters cover the whole run), and
    data/, whose chunks of 100 trees load only when one of their trees is opened. Open
    index.html from disk; no server is needed. Keep the folder together."""
    try:
        store = RunStore(trees_dir, run)
        store.read_manifest()  # a clear error for a run that does not exist
        trees = count_trees(store)
        single = trees <= SINGLE_FILE_MAX if single_file is None else single_file
        name = "report.html" if single else "report"
        target = _target(output, out_dir / run / name, single, trees)
        prompts = load_prompts(prompts_dir)
        built = run_trees(store, prompts, sample_settings(store, prompts, journey))
        rejects = out_dir / run / "rejects.jsonl"
        write = write_single_file if single else write_folder
        written = write(target, run, built, rejects_path=rejects)
    except (StoreError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    stdout.print(_summary(written), markup=False)
