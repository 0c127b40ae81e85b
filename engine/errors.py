"""One exception tree for the product (see docs/architecture.md).

Every error meant for the operator derives from :class:`TextureError`; its message says what is
wrong and where, so the command line and the console print it without a traceback. The
subsystems raise the subclasses below (``engine.store`` raises :class:`StoreError`,
``engine.llm`` raises :class:`ModelError`) and callers match them with ``isinstance``, never by
type name. This module imports nothing from the product, so anyone may import it (no cycle).
"""

from __future__ import annotations


class TextureError(Exception):
    """Base class of every operator-facing error."""


class UsageError(TextureError):
    """A command was given arguments it cannot run with; the message says what to change."""


class ModelError(TextureError):
    """A model cannot be found, imported, pulled or loaded (engine.llm; messages for the operator)."""


class StoreError(TextureError):
    """The database cannot be used (unreadable, read-only, full disk, not a database)."""
