"""Reading datasets as they are distributed: dataset cards and the catalog, one reader per layout family, the
canonical voxel grid (geometry, planes) and the lazily loaded Case. Nothing here knows where a dataset is stored or
how it got there: a reader is given a folder and a card, and turns the files it finds into canonical volumes."""

from __future__ import annotations

__all__: list[str] = []
