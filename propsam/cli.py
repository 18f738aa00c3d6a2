"""The ``propsam`` command: ``segment`` (this module) and ``train`` (:mod:`propsam.cli_train`).

``propsam segment IMAGE (--box U0,V0,U1,V1 --slice K | --mask MASK2D [--slice K]) [--plane axial|coronal|sagittal]
--checkpoint BUNDLE --out MASK.nii.gz``

Indices refer to the canonical RAS grid (nibabel's ``as_closest_canonical``; the command prints it); for the axial
plane (u, v) = (x, y), coronal (x, z), sagittal (y, z), boxes half-open. The mask is written on the input's own
voxel grid and affine. The same as a Python call: :func:`propsam.io.segment_file`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from propsam.inference.box_prompt import SearchStrategy
from propsam.inference.planes import Plane
from propsam.inference.runtime import Precision

__all__ = ["build_parser", "main", "main_entry"]

_SEGMENT_HELP = """\
Segment one object of a 3D image from a box or a 2D mask on one slice and write a mask on the input's grid.
Indices (--box, --slice) refer to the canonical RAS grid (nibabel as_closest_canonical, printed by this command):
axial slice K is canonical[:, :, K] with (u, v) = (x, y); coronal canonical[:, K, :], (x, z); sagittal
canonical[K, :, :], (y, z). Boxes are half-open: U0 <= u < U1, V0 <= v < V1.
MASK2D: a 2D NIfTI, PNG (row = u, column = v) or .npy of the slice's (U, V) shape, or a 3D NIfTI on the image's grid
(then --slice may be omitted: its one non-empty slice on --plane is used)."""


def _box(text: str) -> tuple[int, int, int, int]:
    parts = text.split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected four integers U0,V0,U1,V1 (half-open), got {text!r}")
    return values  # type: ignore[return-value]


def _add_segment(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("segment", help="segment an object from a box or a 2D mask prompt",
                              description=_SEGMENT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="image file (NIfTI, 3D or 4D with channels last)")
    prompt = p.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--box", type=_box, metavar="U0,V0,U1,V1", help="box on the slice (canonical grid)")
    prompt.add_argument("--mask", metavar="MASK2D", help="2D mask prompt file")
    p.add_argument("--slice", type=int, dest="slice_index", metavar="K", help="prompt slice index (canonical grid)")
    p.add_argument("--plane", choices=[pl.value for pl in Plane], default=Plane.AXIAL.value)
    p.add_argument("--checkpoint", required=True, metavar="BUNDLE", help="PropSAM bundle (propsam.checkpoint)")
    p.add_argument("--out", required=True, metavar="MASK.nii.gz", help="output mask (uint8 NIfTI)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--precision", choices=[pr.value for pr in Precision], default=Precision.FP32.value)
    p.add_argument("--window-mm", type=float, default=20.0, help="thickness window per side, mm (default: 20)")
    p.add_argument("--max-slices", type=int, default=20, help="most slices per side and round (default: 20)")
    p.add_argument("--max-rounds", type=int, default=None, help="most rounds per direction (default: no limit)")
    p.add_argument("--threshold", type=float, default=0.5, help="foreground probability threshold (default: 0.5)")
    p.add_argument("--search", choices=[s.value for s in SearchStrategy], default=SearchStrategy.EXHAUSTIVE.value,
                   help="box normalisation search: the paper's 396 candidates or a coarse 24 (default: exhaustive)")
    p.add_argument("--batch-size", type=int, default=20, help="slices per PropMask forward pass (default: 20)")
    p.add_argument("--search-batch-size", type=int, default=32, help="candidates per Box2Mask pass (default: 32)")
    p.add_argument("--channel", type=int, default=0, help="channel of a 4D image (default: 0)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is faster on a machine busy with other jobs)")
    p.set_defaults(handler=_run_segment)


def build_parser() -> argparse.ArgumentParser:
    """The ``propsam`` argument parser with its ``segment`` and ``train`` subcommands."""
    from propsam import cli_train

    parser = argparse.ArgumentParser(prog="propsam", description="PropSAM: segment any 3D object from one 2D prompt.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_segment(subparsers)
    cli_train.register(subparsers)
    return parser


def _run_segment(args: argparse.Namespace) -> int:
    from propsam.inference.predictor import PropSAMPredictor
    from propsam.io import read_image, read_mask_prompt, write_mask

    if args.box is not None and args.slice_index is None:
        raise ValueError("--slice is required with --box; expected the index K of the slice the box is drawn on")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    image = read_image(args.image, channel=args.channel)
    print(image.describe())
    predictor = PropSAMPredictor.from_bundle(
        args.checkpoint, device=args.device, precision=args.precision, threshold=args.threshold,
        window_mm=args.window_mm, max_slices=args.max_slices, max_rounds=args.max_rounds, batch_size=args.batch_size,
        search=args.search, search_batch_size=args.search_batch_size, channel=args.channel)
    if args.box is not None:
        result = predictor.segment_from_box(image.array, image.spacing, args.plane, args.slice_index, args.box)
    else:
        index, mask2d = read_mask_prompt(args.mask, image, args.plane, args.slice_index)
        result = predictor.segment_from_mask(image.array, image.spacing, args.plane, index, mask2d)
    path = write_mask(args.out, result.mask, image)
    trace = result.trace
    print(f"{args.plane} slice {trace.guide_index}: {int(result.mask.sum())} foreground voxels in "
          f"{result.seconds:.2f} s ({trace.rounds} rounds, {trace.slices_per_side} slices per side; stopped "
          f"{trace.backward.stop.value} below, {trace.forward.stop.value} above); checkpoint sha256 "
          f"{predictor.checkpoint_sha256}")
    print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``propsam`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status (2: bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (ValueError, TypeError, OSError) as err:  # OSError: missing, unreadable or already existing files
        print(f"propsam {args.command}: error: {err}", file=sys.stderr)
        return 2


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
