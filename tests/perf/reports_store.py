"""A synthetic results store the size of a full paper study, for the report's performance benchmark."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from benchmark.data.catalog import load_catalog
from benchmark.results.rows import ResultRow
from benchmark.results.store import ResultStore
from tests.benchmark.reports.stores import MACHINE, MACHINE_ID, row, run_record

__all__ = ["PAPER_MODELS", "ABLATION_SETTINGS", "synthetic_rows", "write_synthetic_store"]

PAPER_MODELS = ("MedSAM-3DBox", "SegVol", "PropSAM-2DBox", "PropSAM-2DMask")
#: The ablation points PropSAM is run at (both ablations of the paper).
ABLATION_SETTINGS = ("slice-deviation=0.05", "slice-deviation=0.1", "slice-deviation=0.15", "slice-deviation=0.2",
                     "thickness=10", "thickness=20", "thickness=30", "thickness=40")


def synthetic_rows(total: int, seed: int = 0) -> list[ResultRow]:
    """``total`` rows over the 44 paper datasets (up to 3 objects each): every model in the default setting and the
    PropSAM models at every ablation point; about 1 % failed, 1 % skipped, 0.5 % both-empty Dice (NULL) and 0.5 %
    infinite HD95."""
    rng = np.random.default_rng(seed)
    cards = load_catalog().paper
    settings = [(m, "default") for m in PAPER_MODELS] + [(m, s) for m in PAPER_MODELS[2:] for s in ABLATION_SETTINGS]
    rows: list[ResultRow] = []
    case = 0
    while len(rows) < total:
        for card in cards:
            subset = "test" if card.external else "val"
            for obj in card.objects().names[:3]:
                for model, setting in settings:
                    draw = rng.random()
                    key = (model, card.id, f"case_{case:05d}", obj)
                    if draw < 0.01:
                        rows.append(ResultRow(run_id="default", model=model, setting=setting, dataset_id=card.id,
                                              case_id=key[2], object_name=obj, status="failed",
                                              error_type="RuntimeError", subset=subset, data_version="v1"))
                    elif draw < 0.02:
                        rows.append(ResultRow(run_id="default", model=model, setting=setting, dataset_id=card.id,
                                              case_id=key[2], object_name=obj, status="skipped",
                                              skip_reason="guide slice under 100 pixels", subset=subset))
                    else:
                        dice = None if draw < 0.025 else float(np.clip(rng.normal(0.8, 0.1), 0, 1))
                        hd95 = math.inf if draw > 0.995 else float(rng.gamma(2.0, 3.0))
                        rows.append(row(model, card.id, key[2], obj, dice, setting=setting, hd95=hd95,
                                        seconds=float(rng.lognormal(0.0, 1.0)), subset=subset))
                    if len(rows) == total:
                        return rows
            case += 1
    return rows


def write_synthetic_store(path: Path, total: int = 100_000) -> Path:
    """Write the synthetic store (one run, the machine of the test stores)."""
    rows = synthetic_rows(total)
    with ResultStore.open(path) as store:
        # The store commits every row (a killed run keeps each finished row); a fixture of 100,000 rows does not
        # need each commit synced to disk, so durability is relaxed for this connection only.
        store._db.execute("PRAGMA synchronous=OFF")
        store.add_machine(MACHINE_ID, MACHINE)
        store.start_run(run_record(models=PAPER_MODELS, settings=("default", "slice-deviation", "thickness"),
                                   skipped_models={"MedSAM-Propagate": "no checkpoint configured"})).release()
        for item in rows:
            store.write(item)
    return path
