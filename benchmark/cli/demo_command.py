"""Placeholder: filled in by the module's owner."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's commands to ``propbench datasets``."""
