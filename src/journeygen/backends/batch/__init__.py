"""Provider batch mode (`--batch`): the runner that collects requests into batches, its
journal in the run folder, and the providers' batch endpoints (loaded by name from
`journeygen.backends.BATCH_PROVIDERS`, so importing this package imports no SDK)."""

from journeygen.backends.batch.journal import BATCH_JOURNAL, BatchJournal
from journeygen.backends.batch.provider import BatchItem, BatchProvider, BatchResults, Outcome
from journeygen.backends.batch.runner import POLL_ERRORS, BatchingBackend, tree_scope

__all__ = [
    "BATCH_JOURNAL",
    "POLL_ERRORS",
    "BatchItem",
    "BatchJournal",
    "BatchProvider",
    "BatchResults",
    "BatchingBackend",
    "Outcome",
    "tree_scope",
]
