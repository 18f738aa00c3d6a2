"""Models that break the protocol in one way each, as buggy third-party models do, loaded by the runner through
``package.module:factory`` references exactly like real plug-ins (benchmark.models.registry.spec_from_reference)."""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.box_fill import BoxFill

__all__ = ["Raises", "WrongShape", "Floats", "NaNs", "NotArray", "MaskOnly", "Counting", "Slow", "CALLS"]

#: Calls of :class:`Counting` in this process, by case.
CALLS: list[str] = []


class _Base(BoxFill):
    name = "double"


class Raises(_Base):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        raise RuntimeError("CUDA out of memory (simulated)")


class WrongShape(_Base):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return super().segment(case, prompt)[:-1]


class Floats(_Base):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return super().segment(case, prompt).astype(np.float32) * 0.9


class NaNs(_Base):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        out = super().segment(case, prompt).astype(np.float32)
        out[0, 0, 0] = np.nan
        return out


class NotArray(_Base):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return super().segment(case, prompt).tolist()  # type: ignore[return-value]


class MaskOnly(_Base):
    """Declares only mask prompts, while the run gives it 3D boxes."""

    prompt_kinds = frozenset({"mask2d"})


class Counting(_Base):
    """Box-fill that counts its calls (to prove a resumed run calls no model)."""

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        CALLS.append(case.case_id)
        return super().segment(case, prompt)


class Slow(_Base):
    """Box-fill at 0.15 s a call, so a test can kill a run between two rows."""

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        import time

        time.sleep(0.15)
        return super().segment(case, prompt)
