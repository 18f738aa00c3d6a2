from __future__ import annotations

import pytest

from benchmark.data.enums import LayoutFamily
from benchmark.data.readers.base import LayoutReader
from benchmark.data.readers.registry import READERS, reader_class


@pytest.mark.parametrize("family", list(LayoutFamily))
def test_every_family_has_its_own_reader_class(family: LayoutFamily) -> None:
    cls = reader_class(family)
    assert issubclass(cls, LayoutReader)
    assert cls.family is family
    assert reader_class(family.value) is cls


def test_one_reader_per_family_and_one_constructor_signature() -> None:
    assert set(READERS) == set(LayoutFamily)
    assert len(set(READERS.values())) == len(LayoutFamily)
    assert all("__init__" not in vars(cls) for cls in READERS.values())


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown layout family 'F9'.*F1"):
        reader_class("F9")
