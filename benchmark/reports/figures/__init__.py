"""The report's figures (matplotlib, imported lazily, Agg backend): PNG for the page, PDF for papers.

Modules: ``plotting`` (the figure record, saving), ``fluctuation`` (Figures S9 and S10: relative change of Dice
under the ablations), ``distributions`` (Dice per model and dataset, inference time per model on a log axis),
``qualitative`` (guide slice with the prompt and neighbouring slices with every model's contour, from saved masks),
``training`` (PropSAM loss curves from a training run's ``curves.csv``).
"""

from __future__ import annotations

__all__: list[str] = []
