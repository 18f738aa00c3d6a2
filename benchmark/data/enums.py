"""String options of dataset cards, as enums (accepting their string values)."""

from __future__ import annotations

from enum import Enum

__all__ = ["Modality", "Role", "Access", "LayoutFamily", "ObjectEncoding"]


class _StrEnum(str, Enum):
    def __str__(self) -> str:
        return str(self.value)


class Modality(_StrEnum):
    CT = "CT"
    MR = "MR"
    PET_CT = "PET-CT"
    MICRO_CT = "micro-CT"


class Role(_StrEnum):
    """Internal datasets are split 80:20 train/validation; external ones (the paper's ``*``) are test only."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class Access(_StrEnum):
    DIRECT = "direct"
    REGISTRATION = "registration"
    TCIA_MANIFEST = "tcia-manifest"
    REQUEST = "request"
    UNKNOWN = "unknown"


class LayoutFamily(_StrEnum):
    """The six layout families of docs/dataset-layouts.md."""

    PAIRED_FOLDERS = "F1"
    CASE_FOLDERS = "F2"
    BIDS = "F3"
    PER_STRUCTURE = "F4"
    SUFFIX_PAIRS = "F5"
    DICOM = "F6"


class ObjectEncoding(_StrEnum):
    """How a dataset encodes its objects: values of one label map, or one binary file per object."""

    LABEL_MAP = "label-map"
    PER_FILE = "per-file"
