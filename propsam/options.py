"""Parsing string options into enums, with errors that name the argument."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

__all__ = ["parse_enum"]

E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: object, *, argument: str, what: str) -> E:
    """``kind``'s member for ``value``: a member, a member of another str-valued enum, or its name in any case.

    Raises:
        ValueError: No member has that value; the message names ``argument`` and lists the values.
    """
    try:
        return kind(str(getattr(value, "value", value)).lower())
    except ValueError:
        expected = ", ".join(repr(member.value) for member in kind)
        raise ValueError(f"{argument}: unknown {what} {value!r}; expected one of {expected}") from None
