"""Errors every command-line layer shares (the start of one exception tree; see docs/architecture.md)."""

from __future__ import annotations


class UsageError(Exception):
    """A command was given arguments it cannot run with; the message says what to change."""
