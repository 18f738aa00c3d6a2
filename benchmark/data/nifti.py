"""Reading single-file NIfTI (``.nii``, ``.nii.gz``; NIfTI-1 and NIfTI-2) without ITK: header, grid and voxels.

Why not ITK for NIfTI: ITK's NIfTI reader replaces NaN and infinite voxels with 0 without a word, zero-fills voxel
data cut short, and costs several milliseconds per file in opening overhead (it opens a file twice), which dominates
datasets of many small files. Here a file is read once, decompressed with zlib (every gzip member, so bgzip files
work too), its header parsed by nibabel's header classes, and its voxels viewed in place with numpy.

Decompression uses python-isal's zlib-compatible inflate when it is installed (about 1.6x faster than Python's zlib
on these files; ``pip install isal``), else Python's zlib; the bytes are the same either way.

The grid follows ITK's choice between the header's two transforms, so that this reader and SimpleITK agree on every
file (``tests/benchmark/data/test_nifti.py`` compares them on random headers):

- the sform when its code is 1 (scanner), or when it is set and the qform is not;
- else the qform when its code is set;
- spacing is ``pixdim[1:4]`` and the sform's columns are normalised, as ITK does.

Where ITK would decide otherwise or reject the header (no transform set, an sform with shear or with column lengths
that differ from ``pixdim``), ``nifti_affine`` returns None and the caller asks ITK for the grid; the voxels are still
read here. Scaling (``scl_slope``, ``scl_inter``) is applied as ITK applies it: integer data with a non-trivial
scaling become float32, float data keep their type.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import ImageReadError

__all__ = ["ITK_MIN_BYTES", "is_nifti", "NiftiFile", "read_nifti_header", "nifti_affine", "decode_with_itk",
           "check_length", "read_nifti_voxels"]

#: Largest deviation from orthonormality of the sform's normalised columns (and relative difference between their
#: lengths and pixdim) for which the sform is taken as ITK takes it; beyond it ITK is asked.
_SFORM_TOLERANCE = 1e-6
_IDENTITY = np.eye(3)
#: Bytes decompressed to parse a header: NIfTI-2's header (540) and the extension flag fit.
_HEADER_BYTES = 544
#: Bytes decompressed per step when voxels are decompressed into their array.
_CHUNK = 4 * 2**20
#: Files up to this size on disk are read whole once when their header is read (saves a second open for the voxels).
_READ_WHOLE_BYTES = 4 * 2**20
_GZIP_MAGIC = b"\x1f\x8b"


def is_nifti(path: Path) -> bool:
    """True for a single-file NIfTI name (``.nii`` or ``.nii.gz``, any case)."""
    name = Path(path).name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


@dataclass(frozen=True)
class NiftiFile:
    """A parsed NIfTI header and where its voxels lie.

    Attributes:
        path: The file.
        header: nibabel's ``Nifti1Header`` or ``Nifti2Header``.
        shape: Voxels per file axis (i, j, k[, t]), trailing axes of size 1 beyond the third removed, as ITK does.
        dtype: The stored voxel type, byte order included.
        vox_offset: Byte offset of the voxel data in the (uncompressed) file.
        slope: ``scl_slope`` when the scaling is not the identity, else None.
        inter: ``scl_inter`` used with ``slope``.
        compressed: True for a gzip file.
        raw: The file's bytes when they were read whole with the header (small files), else None.
    """

    path: Path
    header: Any
    shape: tuple[int, ...]
    dtype: np.dtype
    vox_offset: int
    slope: float | None
    inter: float
    compressed: bool
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def n_bytes(self) -> int:
        """Length of the uncompressed file the header declares (header, extensions and voxel data)."""
        return self.vox_offset + math.prod(self.shape) * self.dtype.itemsize

    @property
    def spacing(self) -> tuple[float, float, float]:
        pixdim = self.header["pixdim"]
        return (float(pixdim[1]), float(pixdim[2]), float(pixdim[3]))


def _inflate_module() -> Any:
    """python-isal's ``isal_zlib`` when installed (a faster inflate with zlib's interface), else ``zlib``."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib
    return isal_zlib


_INFLATE = _inflate_module()

#: Uncompressed size from which a gzip NIfTI of integer voxels is decoded by ITK (see ``decode_with_itk``), or None
#: for never. ITK's zlib-ng inflates faster than Python's zlib, but not than python-isal; below this size its
#: per-file overhead (a few ms) costs more than its faster inflate saves.
ITK_MIN_BYTES: int | None = None if _INFLATE is not zlib else 8 * 2**20


def _gunzip(raw: bytes, path: Path, limit: int | None = None) -> tuple[bytes, bool]:
    """Decompress every gzip member of ``raw`` (stopping once ``limit`` bytes are out).

    Returns:
        The data, and whether the stream was complete (False: it ends early, the data are what came out before).

    Raises:
        ImageReadError: The bytes are not gzip data, or are corrupt.
    """
    parts: list[bytes] = []
    produced = 0
    rest = raw
    try:
        while True:
            stream = _INFLATE.decompressobj(31)
            chunk = stream.decompress(rest) if limit is None else stream.decompress(rest, max(limit - produced, 1))
            parts.append(chunk)
            produced += len(chunk)
            if limit is not None and produced >= limit:
                return b"".join(parts), True
            if not stream.eof:
                return b"".join(parts), False
            rest = stream.unused_data
            if not rest.startswith(_GZIP_MAGIC):  # trailing bytes that are no gzip member are ignored, as gzip does
                break
    except (zlib.error, _INFLATE.error) as err:
        raise ImageReadError(f"{path}: gzip data are corrupt ({err}); expected a readable .nii.gz file") from err
    return (parts[0] if len(parts) == 1 else b"".join(parts)), True


def _file_bytes(path: Path, *, header_only: bool, raw: bytes | None = None) -> tuple[bytes, bool, bool]:
    """(uncompressed bytes, stream complete, compressed) of a NIfTI file (from ``raw`` when its bytes were read
    already); only the header's bytes if asked."""
    compressed = path.name.lower().endswith(".gz")
    if raw is None:
        with open(path, "rb") as stream:
            if not compressed:
                return (stream.read(_HEADER_BYTES) if header_only else stream.read()), True, False
            raw = stream.read(64 * 1024) if header_only else stream.read()
    if not compressed:
        return (raw[:_HEADER_BYTES] if header_only else raw), True, False
    if header_only:
        data, _ = _gunzip(raw[: 64 * 1024], path, limit=_HEADER_BYTES)
        return data, True, True
    data, complete = _gunzip(raw, path)
    return data, complete, True


def _parse_header(block: bytes, path: Path) -> Any:
    """nibabel's NIfTI-1 or NIfTI-2 header of ``block``, or None for a file that is not single-file NIfTI."""
    import nibabel as nib

    for header_type in (nib.Nifti1Header, nib.Nifti2Header):
        size = header_type.template_dtype.itemsize
        if len(block) < size:
            continue
        sizeof_hdr = int.from_bytes(block[:4], "little")
        if sizeof_hdr not in (size, int.from_bytes(size.to_bytes(4, "little"), "big")):
            continue
        # check=False: nibabel's checks would quietly turn a zero pixdim into 1
        header = header_type(block[:size], check=False)
        magic = bytes(header["magic"])[:3]
        return header if magic in (b"n+1", b"n+2") else None
    if len(block) < 348:
        raise ImageReadError(f"{path}: not a readable NIfTI header: the file holds {len(block)} bytes after "
                             "decompression; expected at least 348")
    raise ImageReadError(f"{path}: not a readable NIfTI-1 or NIfTI-2 header (sizeof_hdr "
                         f"{int.from_bytes(block[:4], 'little')}); expected 348 or 540")


def read_nifti_header(path: Path, block: bytes | None = None) -> NiftiFile | None:
    """Parse a NIfTI file's header (reading only its first bytes when ``block`` is not given).

    Returns:
        The parsed header, or None when ITK should read the file (a header pair or Analyze file under a ``.nii``
        name, a voxel type other than integers and IEEE floats, fewer than 3 or more than 4 axes).

    Raises:
        ImageReadError: The file is not NIfTI, or its spacing (``pixdim[1:4]``) is zero, negative or NaN (ITK would
            silently read such a header as 1 mm).
    """
    path = Path(path)
    raw: bytes | None = None
    if block is None:
        if path.stat().st_size <= _READ_WHOLE_BYTES:
            raw = path.read_bytes()
        block, _, _ = _file_bytes(path, header_only=True, raw=raw)
    header = _parse_header(block, path)
    if header is None:
        return None
    spacing = [float(v) for v in header["pixdim"][1:4]]
    if not all(math.isfinite(v) and v > 0 for v in spacing):
        raise ImageReadError(f"{path}: header spacing (pixdim[1:4]) is {tuple(spacing)} mm; expected positive finite "
                             "values")
    try:
        dtype = np.dtype(header.get_data_dtype())
    except Exception:  # nibabel raises several types for a datatype code it does not know
        return None
    if dtype.kind not in "uif" or (dtype.kind == "f" and dtype.itemsize not in (4, 8)):
        return None
    shape = tuple(int(n) for n in header.get_data_shape())
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) not in (3, 4) or min(shape) < 1:
        return None
    slope, inter = float(header["scl_slope"]), float(header["scl_inter"])
    if not math.isfinite(inter):
        inter = 0.0
    identity = slope == 0 or not math.isfinite(slope) or (slope == 1 and inter == 0)
    return NiftiFile(path=path, header=header, shape=shape, dtype=dtype, vox_offset=int(float(header["vox_offset"])),
                     slope=None if identity else slope, inter=inter,
                     compressed=path.name.lower().endswith(".gz"), raw=raw)


def nifti_affine(nifti: NiftiFile) -> np.ndarray | None:
    """The (4, 4) voxel-to-RAS affine of the first three file axes, as ITK would choose it; None where ITK decides.

    See the module docstring for the rules.
    """
    header = nifti.header
    qform_code, sform_code = int(header["qform_code"]), int(header["sform_code"])
    zooms = np.asarray(nifti.spacing, dtype=np.float64)
    if sform_code == 1 or (sform_code > 0 and qform_code == 0):
        affine = np.zeros((4, 4))
        affine[0], affine[1], affine[2], affine[3, 3] = header["srow_x"], header["srow_y"], header["srow_z"], 1.0
        columns = affine[:3, :3]
        lengths = np.sqrt((columns * columns).sum(axis=0))
        if not lengths.all():
            return None
        rotation = columns / lengths
        if (np.abs(rotation.T @ rotation - _IDENTITY).max() > _SFORM_TOLERANCE
                or np.abs(lengths / zooms - 1).max() > _SFORM_TOLERANCE):
            return None
        affine[:3, :3] = rotation * zooms
        return affine
    if qform_code > 0:
        try:
            return np.asarray(header.get_qform(), dtype=np.float64)
        except Exception:  # qfac other than +-1 and similar: ITK's reading of such a header decides
            return None
    return None


def decode_with_itk(nifti: NiftiFile) -> bool:
    """True for a large compressed file of integer voxels (``ITK_MIN_BYTES`` uncompressed bytes or more) when
    python-isal is not installed.

    ITK's zlib-ng inflates faster than Python's zlib, and its per-file overhead no longer matters there; integer
    voxels cannot hold NaN. The caller checks the file's length first (``check_length``): ITK zero-fills data cut
    short.
    """
    return (ITK_MIN_BYTES is not None and nifti.compressed and nifti.dtype.kind in "ui"
            and nifti.n_bytes >= ITK_MIN_BYTES)


def check_length(nifti: NiftiFile) -> None:
    """Raise if a gzip NIfTI holds less data than its header declares, reading as little as possible.

    The gzip trailer's ISIZE (the length modulo 2**32 of the last member) settles it in one 4-byte read; when it
    disagrees (a multi-member file, or a cut one) the stream is decompressed to count.

    Raises:
        ImageReadError: The file is truncated (the message gives both lengths) or its gzip data are corrupt.
    """
    path = nifti.path
    with open(path, "rb") as stream:
        stream.seek(0, 2)
        if stream.tell() >= 4:
            stream.seek(-4, 2)
            if int.from_bytes(stream.read(4), "little") == nifti.n_bytes % 2**32:
                return
    data, complete, _ = _file_bytes(path, header_only=False)
    if not complete or len(data) < nifti.n_bytes:
        raise _truncated(nifti, len(data), complete)


@dataclass
class _Progress:
    """What a pass over a file's bytes found: bytes produced (header included) and whether the stream ended well."""

    produced: int = 0
    complete: bool = True


def _chunks(nifti: NiftiFile, size: int, progress: _Progress) -> Iterator[bytes]:
    """The voxel bytes of a file in pieces of ``size`` bytes (the last one may be shorter), decompressing every gzip
    member as it goes, never the whole file at once; ``progress`` counts what came out."""
    path = nifti.path
    if not nifti.compressed:
        with open(path, "rb") as stream:
            stream.seek(nifti.vox_offset)
            progress.produced = nifti.vox_offset
            while piece := stream.read(size):
                progress.produced += len(piece)
                yield piece
        return
    raw = nifti.raw if nifti.raw is not None else path.read_bytes()
    skip, held = nifti.vox_offset, b""
    try:
        while raw:
            stream = _INFLATE.decompressobj(31)
            pending = raw
            while not stream.eof:
                # the header first, then pieces that stay aligned with ``size`` (unless a member ends mid-piece)
                piece = stream.decompress(pending, skip if skip else size - len(held))
                pending = stream.unconsumed_tail
                if not piece and not pending:
                    progress.complete = False  # the input ends inside this member: the data are cut short
                    break
                progress.produced += len(piece)
                if skip:
                    dropped = min(skip, len(piece))
                    piece, skip = piece[dropped:], skip - dropped
                held = held + piece if held else piece
                if len(held) >= size:
                    yield held[:size] if len(held) > size else held
                    held = held[size:]
            if not progress.complete:
                break
            raw = stream.unused_data if stream.unused_data.startswith(_GZIP_MAGIC) else b""
    except zlib.error as err:
        raise ImageReadError(f"{path}: gzip data are corrupt ({err}); expected a readable .nii.gz file") from err
    except _INFLATE.error as err:
        raise ImageReadError(f"{path}: gzip data are corrupt ({err}); expected a readable .nii.gz file") from err
    if held:
        yield held


def read_nifti_voxels(nifti: NiftiFile, flips: Collection[int] = ()) -> np.ndarray:
    """The voxels in file index order, shape ``nifti.shape``, with the file axes ``flips`` (among 0, 1, 2) reversed;
    scaled as ITK scales them; NaN and Inf kept. The array is the caller's own (writable, Fortran order).

    Voxels are decompressed a few planes at a time straight into their place, reversed axes included, so a volume
    that only needs flips to be canonical costs one pass over its bytes.

    Raises:
        ImageReadError: The file holds less data than its header declares (an interrupted download or copy), or its
            gzip stream is corrupt.
    """
    dtype = nifti.dtype.newbyteorder("=")
    shape = nifti.shape
    out = np.empty(shape, dtype=dtype, order="F")
    # file axes x, y, z reversed by a view: writing file plane k into it puts the voxels where the flips want them
    target = out[tuple(slice(None, None, -1) if axis in flips else slice(None) for axis in range(3))]
    plane = shape[0] * shape[1]
    depth = shape[2]
    per_chunk = max(1, min(depth, _CHUNK // max(plane * dtype.itemsize, 1)))
    done = 0  # planes placed, counting over z then the 4th axis
    total = depth * (shape[3] if len(shape) == 4 else 1)
    progress = _Progress()
    for piece in _chunks(nifti, per_chunk * plane * dtype.itemsize, progress):
        planes = len(piece) // (plane * dtype.itemsize)
        if planes == 0:
            break
        values = np.frombuffer(piece, dtype=nifti.dtype, count=planes * plane)
        while planes:
            channel, z = divmod(done, depth)
            count = min(planes, depth - z)
            block = values[: count * plane].reshape((shape[0], shape[1], count), order="F")
            destination = target[:, :, z:z + count] if len(shape) == 3 else target[:, :, z:z + count, channel]
            destination[...] = block
            values, planes, done = values[count * plane:], planes - count, done + count
    if done < total:
        raise _truncated(nifti, progress.produced, progress.complete)
    if nifti.slope is not None:
        target_type = np.float64 if nifti.dtype == np.float64 else np.float32
        scaled: np.ndarray = (out.astype(np.float64) * nifti.slope + nifti.inter).astype(target_type, order="F")
        return scaled
    return out


def _truncated(nifti: NiftiFile, found: int, complete: bool) -> ImageReadError:
    path = nifti.path
    if nifti.compressed:
        what = (f"the gzip stream {'ends early, after' if not complete else 'holds'} {found} bytes (the file holds "
                f"{path.stat().st_size} compressed bytes)")
    else:
        what = f"the file holds {found} bytes"
    return ImageReadError(f"{path}: file is truncated: its header declares {nifti.n_bytes} bytes (header and voxel "
                          f"data, uncompressed), {what}; expected a complete file")
