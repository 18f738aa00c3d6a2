"""Settings of the propagation stage (:class:`PropagationSettings`), shared by the engine and its steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PropagationSettings"]


@dataclass(frozen=True)
class PropagationSettings:
    """Settings of the propagation stage.

    Attributes:
        window_mm: Thickness window on each side of a guide, mm (paper: 20).
        max_slices: Most slices per side and round for a 20 mm window, scaled in proportion for other windows
            (paper: 20, i.e. at most one target per mm); None: no cap, the window in mm alone decides.
        context_ratio: Scale of the guide mask's box giving the crop window (training draws 1.0 to 2.0).
        min_margin_px: Least margin, in slice pixels, between the guide mask's box and the crop window on each side,
            for thin objects (a vessel a few pixels wide) that the ratio alone crops to a few pixels. The paper states
            no inference context. On a hold-out of the demo training cases 0, 2 and 4 px scored within 0.001 Dice
            (docs/demo-tuning.json); 4 px is kept because following a moving object needs room in its crop: with
            0 px an oracle PropMask recovers only half of a 3 px oblique tube (tests/propsam/inference).
        threshold: A pixel is foreground when its probability is above this.
        batch_size: Target slices per PropMask forward pass.
        max_rounds: Most rounds per direction; None: until the object ends or the volume edge.
        keep_connected: Keep, in each predicted slice, only the 2D components touching the previous slice's mask, so
            that a stray false positive neither keeps a direction running nor widens the next crop. Off by default:
            the paper keeps every predicted pixel, and an object thinner than its shift between two thick slices
            (a small oblique vessel at 5 mm) would be cut at the first slice where its sections do not touch.
    """

    window_mm: float = 20.0
    max_slices: int | None = 20
    context_ratio: float = 1.5
    min_margin_px: float = 4.0
    threshold: float = 0.5
    batch_size: int = 20
    max_rounds: int | None = None
    keep_connected: bool = False

    def __post_init__(self) -> None:
        checks = (
            ("window_mm", self.window_mm, math.isfinite(self.window_mm) and self.window_mm > 0, "> 0 mm"),
            ("max_slices", self.max_slices, self.max_slices is None or self.max_slices >= 1, "None or >= 1"),
            ("context_ratio", self.context_ratio, math.isfinite(self.context_ratio) and self.context_ratio >= 1.0,
             ">= 1.0"),
            ("min_margin_px", self.min_margin_px, math.isfinite(self.min_margin_px) and self.min_margin_px >= 0,
             ">= 0 px"),
            ("threshold", self.threshold, 0.0 < self.threshold < 1.0, "in (0, 1)"),
            ("batch_size", self.batch_size, self.batch_size >= 1, ">= 1"),
            ("max_rounds", self.max_rounds, self.max_rounds is None or self.max_rounds >= 1, "None or >= 1"),
        )
        for name, value, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {value!r}")
