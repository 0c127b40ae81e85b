"""The data layer: every SQL statement of the product lives in this package.

- :mod:`engine.store.core` — :class:`Store` (SQLite through sqlite-utils, WAL, one write
  transaction per change, the batch lock, batches, results, ratings).
- :mod:`engine.store.recovery` — interrupted batches, resume batches and spill files (a mixin
  of :class:`Store`); :mod:`engine.store.rows` — its plain types (``ResultRow``, the reports).
- :mod:`engine.store.migrations` — the store's numbered migrations.
- :mod:`engine.store.queries` — the read queries of the console, the dispatcher and doctor
  (a mixin of :class:`Store`).
- :mod:`engine.store.workbench_migrations` — the prompt workbench's own migration set
  (``wb_*`` tables, rating columns; recorded in ``wb_migrations``), applied by the store.
- :mod:`engine.store.workbench` — :class:`WorkbenchStore`, the workbench's statements.
- :mod:`engine.store.reviews` — :class:`ReviewStore`, blind pairwise review's statements.

``from engine.store import Store, ResultRow, ...`` keeps working: the public names are here.
"""

from .core import (
    BUSY_RETRY_DELAYS,
    BUSY_TIMEOUT_MS,
    FULL_RETRY_DELAYS,
    Store,
    StoreError,
    StoreWriteError,
    error_kind,
)
from .migrations import MIGRATIONS, ensure_batch_items
from .rows import SPILL_GLOB, BatchBusyError, Recovered, RecoveryReport, ResultRow, now
from .reviews import ReviewStore
from .workbench import WorkbenchStore
from .workbench_migrations import WORKBENCH_MIGRATIONS, applied_workbench_migrations, migrate_workbench

__all__ = [
    "BUSY_RETRY_DELAYS", "BUSY_TIMEOUT_MS", "FULL_RETRY_DELAYS", "MIGRATIONS", "SPILL_GLOB", "BatchBusyError",
    "Recovered", "RecoveryReport", "ResultRow", "ReviewStore", "Store", "StoreError", "StoreWriteError", "WORKBENCH_MIGRATIONS",
    "WorkbenchStore", "applied_workbench_migrations", "ensure_batch_items", "error_kind", "migrate_workbench", "now",
]
