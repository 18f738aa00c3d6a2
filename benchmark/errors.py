"""The exception hierarchy of the suite.

Every message states what was wrong, the value received, what was expected and where (file, argument or key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BenchmarkError",
    "CardError",
    "UnknownDatasetError",
    "LayoutError",
    "CaseLoadError",
    "GeometryMismatchError",
    "ImageReadError",
    "DatasetNotInstalledError",
    "DataLadError",
    "InstallError",
    "CaseError",
]


class BenchmarkError(Exception):
    """Base class of every error the suite raises on purpose."""


class CardError(BenchmarkError, ValueError):
    """A dataset card breaks the schema (unknown key, missing field, wrong type, duplicate label value)."""


class UnknownDatasetError(BenchmarkError, KeyError):
    """A dataset ID that no card declares."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class LayoutError(BenchmarkError, ValueError):
    """A dataset folder does not have the layout its card declares (missing folder, path escaping the root, ...)."""


class CaseLoadError(BenchmarkError):
    """One case could not be loaded; the message names the file and what was expected."""


class GeometryMismatchError(CaseLoadError, ValueError):
    """Image and label (or two channels) do not share one voxel grid."""


class ImageReadError(CaseLoadError, OSError):
    """A file could not be decoded as a medical image (truncated, corrupt, not an image)."""


class DatasetNotInstalledError(BenchmarkError, FileNotFoundError):
    """A dataset is known to the catalog but not installed in the data home."""


class InstallError(BenchmarkError, ValueError):
    """An install cannot proceed: the source does not exist or does not fit its kind, or the ID is taken."""


class DataLadError(BenchmarkError, RuntimeError):
    """A DataLad or git-annex operation returned a result record whose status is not ok or notneeded."""


@dataclass(frozen=True, kw_only=True)
class CaseError:
    """One bad case, recorded so that a run goes on and reports every bad case together.

    Attributes:
        dataset_id: Catalog ID of the dataset, e.g. ``"D19"``.
        case_id: Case identifier within the dataset, or ``""`` when the problem is not tied to one case.
        path: The file or folder at fault.
        message: What was wrong, what was received and what was expected.
    """

    dataset_id: str
    case_id: str
    path: Path | None
    message: str

    def __str__(self) -> str:
        where = f" ({self.path})" if self.path is not None else ""
        case = f"/{self.case_id}" if self.case_id else ""
        return f"{self.dataset_id}{case}{where}: {self.message}"
