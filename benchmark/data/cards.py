"""Dataset cards: one TOML file per dataset in ``datasets/``, validated by one schema on load.

The schema is documented key by key in ``datasets/README.md``. A card declares what a dataset is (name, modality,
channels, objects per data version, source, access, licence, citation, role) and how it is laid out on disk (layout
family and the family's options, validated by that family's reader).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.data.enums import Access, LayoutFamily, Modality, ObjectEncoding, Role
from benchmark.errors import CardError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SCHEMA_VERSION", "Source", "Layout", "ObjectTable", "DatasetCard", "load_card", "parse_card"]

SCHEMA_VERSION = 1

_TOP_KEYS = {
    "schema_version": True, "id": True, "name": True, "modality": True, "channels": True, "role": True,
    "encoding": True, "default_version": True, "source": True, "layout": True, "versions": True,
    "paper_scan_count": False, "paper_name": False, "demo": False, "notes": False,
}
_SOURCE_KEYS = {"url": True, "access": True, "licence": True, "citation": True, "doi": False}
_LAYOUT_KEYS = {"family": True, "confirmed": True, "user_must_provide": False, "options": False}
_VERSION_KEYS = {"objects": True, "ignore": False}


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from and under which terms."""

    url: str
    access: Access
    licence: str
    citation: str
    doi: str = ""


@dataclass(frozen=True)
class Layout:
    """The on-disk layout: a family and its options (validated by the family's reader)."""

    family: LayoutFamily
    confirmed: bool
    options: Mapping[str, Any]
    user_must_provide: str = ""


@dataclass(frozen=True)
class ObjectTable:
    """Objects of one version of a dataset.

    Attributes:
        version: Version label, e.g. ``"2021"`` for BraTS 2021.
        objects: Key to object name. Keys are label values (as strings) for label maps, and file keys (the part of the
            file name that names the structure) for per-file encodings.
        ignore: Keys present in the data that are not objects (e.g. WMH's ``"2"``, other pathology).
    """

    version: str
    objects: Mapping[str, str]
    ignore: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.objects.values())


@dataclass(frozen=True)
class DatasetCard:
    """A validated dataset card. See ``datasets/README.md`` for every key."""

    id: str
    name: str
    modality: Modality
    channels: tuple[str, ...]
    role: Role
    encoding: ObjectEncoding
    default_version: str
    versions: Mapping[str, ObjectTable]
    source: Source
    layout: Layout
    path: Path
    paper_scan_count: int | None = None
    paper_name: str = ""
    demo: bool = False
    notes: str = ""

    def objects(self, version: str | None = None) -> ObjectTable:
        """The object table of ``version`` (the card's default when None)."""
        key = self.default_version if version is None else version
        if key not in self.versions:
            raise CardError(f"{self.path}: dataset {self.id} has no version {key!r}; versions: {sorted(self.versions)}")
        return self.versions[key]

    @property
    def external(self) -> bool:
        return self.role is Role.EXTERNAL


def load_card(path: Path) -> DatasetCard:
    """Read and validate one card.

    Raises:
        CardError: Invalid TOML, an unknown or missing key, a wrong type, an unknown enum value, a duplicate label
            value or object name; the message names the file and the key.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise CardError(f"{path}: not valid TOML ({err})") from err
    return parse_card(data, path)


def parse_card(data: Mapping[str, Any], path: Path) -> DatasetCard:
    """Validate a card's parsed TOML content (see ``load_card``)."""
    _check_keys(data, _TOP_KEYS, path, "")
    version = _typed(data, "schema_version", int, path, "")
    if version != SCHEMA_VERSION:
        raise CardError(f"{path}: key 'schema_version' is {version}, expected {SCHEMA_VERSION}")
    channels = _typed(data, "channels", list, path, "")
    if not channels or not all(isinstance(c, str) and c for c in channels):
        raise CardError(f"{path}: key 'channels' must be a non-empty list of names, got {channels!r}")
    if len(set(channels)) != len(channels):
        raise CardError(f"{path}: key 'channels' has a duplicate name: {channels!r}")
    versions = _parse_versions(data, path)
    default_version = _typed(data, "default_version", str, path, "")
    if default_version not in versions:
        raise CardError(f"{path}: key 'default_version' is {default_version!r}, expected one of {sorted(versions)}")
    scan_count = data.get("paper_scan_count")
    if scan_count is not None and (not isinstance(scan_count, int) or scan_count < 0):
        raise CardError(f"{path}: key 'paper_scan_count' must be a non-negative integer, got {scan_count!r}")
    return DatasetCard(
        id=_typed(data, "id", str, path, ""),
        name=_typed(data, "name", str, path, ""),
        modality=_enum(Modality, data["modality"], path, "modality"),
        channels=tuple(channels),
        role=_enum(Role, data["role"], path, "role"),
        encoding=_enum(ObjectEncoding, data["encoding"], path, "encoding"),
        default_version=default_version,
        versions=versions,
        source=_parse_source(data, path),
        layout=_parse_layout(data, path),
        path=path,
        paper_scan_count=scan_count,
        paper_name=str(data.get("paper_name", "")),
        demo=bool(data.get("demo", False)),
        notes=str(data.get("notes", "")),
    )


def _parse_source(data: Mapping[str, Any], path: Path) -> Source:
    source = _typed(data, "source", dict, path, "")
    _check_keys(source, _SOURCE_KEYS, path, "source.")
    return Source(
        url=_typed(source, "url", str, path, "source."),
        access=_enum(Access, source["access"], path, "source.access"),
        licence=_typed(source, "licence", str, path, "source."),
        citation=_typed(source, "citation", str, path, "source."),
        doi=str(source.get("doi", "")),
    )


def _parse_layout(data: Mapping[str, Any], path: Path) -> Layout:
    layout = _typed(data, "layout", dict, path, "")
    _check_keys(layout, _LAYOUT_KEYS, path, "layout.")
    confirmed = _typed(layout, "confirmed", bool, path, "layout.")
    must_provide = str(layout.get("user_must_provide", ""))
    if not confirmed and not must_provide:
        raise CardError(f"{path}: key 'layout.user_must_provide' is required when 'layout.confirmed' is false")
    options = layout.get("options", {})
    if not isinstance(options, dict):
        raise CardError(f"{path}: key 'layout.options' must be a table, got {type(options).__name__}")
    return Layout(
        family=_enum(LayoutFamily, layout["family"], path, "layout.family"),
        confirmed=confirmed,
        options=options,
        user_must_provide=must_provide,
    )


def _parse_versions(data: Mapping[str, Any], path: Path) -> dict[str, ObjectTable]:
    raw = _typed(data, "versions", dict, path, "")
    if not raw:
        raise CardError(f"{path}: key 'versions' must declare at least one version")
    tables: dict[str, ObjectTable] = {}
    for name, table in raw.items():
        where = f"versions.{name}."
        if not isinstance(table, dict):
            raise CardError(f"{path}: key 'versions.{name}' must be a table, got {type(table).__name__}")
        _check_keys(table, _VERSION_KEYS, path, where)
        objects = _typed(table, "objects", dict, path, where)
        if not objects:
            raise CardError(f"{path}: key '{where}objects' must name at least one object")
        names = list(objects.values())
        if not all(isinstance(n, str) and n for n in names):
            raise CardError(f"{path}: key '{where}objects' must map keys to non-empty names, got {objects!r}")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise CardError(f"{path}: key '{where}objects' names {duplicates} more than once; names must be unique")
        ignore = tuple(str(v) for v in table.get("ignore", []))
        clash = sorted(set(ignore) & set(objects))
        if clash:
            raise CardError(f"{path}: key '{where}ignore' lists {clash}, which are also objects")
        tables[str(name)] = ObjectTable(str(name), {str(k): v for k, v in objects.items()}, ignore)
    return tables


def _check_keys(table: Mapping[str, Any], schema: Mapping[str, bool], path: Path, prefix: str) -> None:
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise CardError(f"{path}: unknown key(s) {[prefix + k for k in unknown]}; expected keys: "
                        f"{[prefix + k for k in schema]}")
    missing = [k for k, required in schema.items() if required and k not in table]
    if missing:
        raise CardError(f"{path}: missing required key(s) {[prefix + k for k in missing]}")


def _typed(table: Mapping[str, Any], key: str, kind: type, path: Path, prefix: str) -> Any:
    value = table[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise CardError(f"{path}: key '{prefix}{key}' must be of type {kind.__name__}, "
                        f"got {type(value).__name__} {value!r}")
    return value


def _enum(kind: type, value: Any, path: Path, key: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = [member.value for member in kind]  # type: ignore[attr-defined]
        raise CardError(f"{path}: key '{key}' is {value!r}, expected one of {allowed}") from None
