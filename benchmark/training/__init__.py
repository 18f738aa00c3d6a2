"""Training a registered model on the suite's data: the training volumes of a split (``volumes``), and demo weights
trained on the demo collection and cached by what they depend on (``demo_weights``). Models are reached through the
registry only."""

from __future__ import annotations

__all__: list[str] = []
