"""The prompt workbench screen: versions, preview, A/B on a pinned set, ratings.

A full screen (``w`` from the main screen, or the command palette) over :mod:`engine.workbench`.
Four tabs: 1 History, 2 Preview, 3 Compare, 4 Ratings. Keys work from any tab unless noted:

  e edit the prompt in $EDITOR          v preview the on-disk prompt on 8 places (marked, else sampled)
  k pin a set (marked, else 8 sampled)  C compare on a pinned set (versions, temperatures or budgets)
  i re-run the last comparison and show whether each variant's texts are identical
  + / - rate the selected output good / bad     n rate with a note
  x export ratings (JSONL and CSV) to the data folder       c cancel a running preview/compare
  History tab: space mark a version, d diff (two marked, else selected vs on disk), R restore
  escape or w back to the console

Threads: every database touch runs in a thread worker with its own ``Store`` (SQLite connections
stay on their thread). Preview and compare are ``@work(thread=True, exclusive=True,
group="workbench")`` and use the app's one model service (``app.llm``), as batches do; the engine
calls block, so they never run on the UI thread. Workers return their result; the one
``on_worker_state_changed`` handler draws it or turns a failure into a notification.

The package: :mod:`.screen` (the screen: layout, keys, palette, database workers, history, places,
and every ``@on`` handler), :mod:`.runs` (preview/compare/re-run workers) and :mod:`.views`
(preview, compare and ratings tabs) as its mixins, :mod:`.dialogs`, :mod:`.common`. The names
below are re-exported, so ``from console.workbench import WorkbenchScreen`` works as before.
"""

from __future__ import annotations

from .common import MODES, NEW_SET, PREVIEW_N, TABS
from .dialogs import CompareDialog, ConfirmDialog, NameDialog, NoteDialog
from .screen import WorkbenchScreen

__all__ = ["MODES", "NEW_SET", "PREVIEW_N", "TABS", "CompareDialog", "ConfirmDialog", "NameDialog", "NoteDialog",
           "WorkbenchScreen"]
