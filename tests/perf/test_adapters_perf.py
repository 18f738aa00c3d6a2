"""MedSAM-3DBox against PropSAM per volume: time ratios and peak memory, bf16 autocast off and on (``nox -s perf``).

Skipped unless pytest runs with ``--benchmark-enable`` (tests/perf/conftest.py). One small CT-like volume
(128 x 128 x 4 voxels of 3 x 3 x 5 mm) with a liver-sized object on all four slices; the prompts are the harness's
own for that object (benchmark.protocol.object_prompts: the 3D box for MedSAM, the guide slice's 2D box and 2D mask
for PropSAM). Every model runs at full cost with seeded random weights (timing does not depend on weight values):
MedSAM is the real SAM ViT-B (93.7 M parameters), PropSAM the paper-size Box2Mask and PropMask (20.6 M each), with
PropSAM-2DBox's default exhaustive normalisation search.

Each (model, precision) runs in a fresh process: load the model, one ``segment`` call (timed; no warm-up call, whose
cost would double the suite's), then the process's peak resident set (VmHWM). Ratios divide MedSAM's seconds by each
PropSAM model's, measured in the same test; MedSAM's cost grows with the object's slices (one ViT-B encoding each),
PropSAM-2DBox's is mostly its search, so ratios on four slices understate MedSAM's cost on real organs (the figures
include seconds per slice).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.perf.conftest import PerfRecorder

__all__: list[str] = []

REPO = Path(__file__).resolve().parents[2]
MODELS = ("MedSAM-3DBox", "PropSAM-2DMask", "PropSAM-2DBox")

_SCRIPT = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[4])
    from tests.perf.test_adapters_perf import load, scene

    def high_water_mb():  # VmHWM: this process's peak resident set
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

    name, precision, bundle = sys.argv[1], sys.argv[2], sys.argv[3]
    case, prompts = scene()
    start = time.perf_counter()
    model = load(name, precision, bundle)
    loaded = time.perf_counter()
    mask = model.segment(case, prompts[name])
    done = time.perf_counter()
    print(json.dumps({"segment_s": done - loaded, "load_s": loaded - start, "peak_rss_mb": high_water_mb(),
                      "voxels": int(mask.sum())}))
""")


def scene() -> tuple[Any, dict[str, Any]]:
    """The case and each model's prompt for its one object (the harness's prompt protocol, seed 0)."""
    from benchmark.models.conformance import SyntheticCase
    from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, simulate_object
    from benchmark.protocol.prompts import PromptKind
    from benchmark.protocol.settings import DEFAULT_POINT
    from tests.propsam.inference.fakes import ct_like_volume

    image, liver, spacing = ct_like_volume((128, 128, 4), (3.0, 3.0, 5.0))
    case = SyntheticCase(image[None], spacing, liver, dataset_id="perf", case_id="liver")
    prompts = simulate_object(liver, ObjectKey("perf", "liver", "liver", DEFAULT_POINT.key), DEFAULT_POINT,
                              ProtocolOptions(seed=0))
    if not isinstance(prompts, ObjectPrompts):
        raise RuntimeError(f"the perf scene's liver was not prompted: {prompts.reason}")
    kinds = {"MedSAM-3DBox": PromptKind.BOX_3D, "PropSAM-2DMask": PromptKind.MASK_2D,
             "PropSAM-2DBox": PromptKind.BOX_2D}
    return case, {name: prompts.for_kind(kind) for name, kind in kinds.items()}


def load(name: str, precision: str, bundle: str) -> Any:
    from benchmark.models.registry import load_model

    if name.startswith("MedSAM"):
        return load_model(name, random_weights=True, precision=precision)
    return load_model(name, bundle, precision=precision)


def _paper_bundle(path: Path) -> Path:
    import torch

    from propsam.checkpoint import save_bundle, save_checkpoint
    from propsam.config import PAPER_BOX2MASK, PAPER_PROPMASK, NetworkKind
    from propsam.networks import Box2Mask, PropMask

    torch.manual_seed(0)
    save_checkpoint(path.with_suffix(".b2m.pt"), Box2Mask(PAPER_BOX2MASK), PAPER_BOX2MASK, kind=NetworkKind.BOX2MASK)
    save_checkpoint(path.with_suffix(".pm.pt"), PropMask(PAPER_PROPMASK), PAPER_PROPMASK, kind=NetworkKind.PROPMASK)
    save_bundle(path, path.with_suffix(".b2m.pt"), path.with_suffix(".pm.pt"))
    return path


@pytest.fixture(scope="module")
def paper_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _paper_bundle(tmp_path_factory.mktemp("propsam") / "paper-random.pt")


def _run_fresh(name: str, precision: str, bundle: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, name, precision, str(bundle), str(REPO)],
                          capture_output=True, text=True, check=True, cwd=REPO, timeout=1800)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM from /proc (Linux)")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_medsam_against_propsam_per_volume(perf: PerfRecorder, paper_bundle: Path, precision: str) -> None:
    pytest.importorskip("transformers", reason="MedSAM needs transformers: pip install 'propsam-bench[medsam]'")
    figures: dict[str, dict[str, Any]] = {}

    def measure() -> None:
        for name in MODELS:
            figures[name] = _run_fresh(name, precision, paper_bundle)

    perf.benchmark.group = "MedSAM-3DBox against PropSAM, per volume"
    perf.run(measure, rounds=1)

    medsam = figures["MedSAM-3DBox"]["segment_s"]
    slices = 4
    info: dict[str, Any] = {f"{name}_{key}": round(value, 3) if isinstance(value, float) else value
                            for name, values in figures.items() for key, value in values.items()}
    perf.info(what=f"one CT-like 128x128x4 volume, liver on 4 slices, seeded random weights, {precision}; fresh "
                   "process per model (no warm-up call)", precision=precision,
              medsam_seconds_per_slice=round(medsam / slices, 3),
              medsam_over_propsam_2dmask=round(medsam / figures["PropSAM-2DMask"]["segment_s"], 3),
              medsam_over_propsam_2dbox=round(medsam / figures["PropSAM-2DBox"]["segment_s"], 3),
              cpus=os.cpu_count(), load_average_1min=round(os.getloadavg()[0], 2), **info)
    for name in ("PropSAM-2DMask", "PropSAM-2DBox"):
        perf.target(f"{name.lower().replace('-', '_')}_over_medsam_{precision}",
                    figures[name]["segment_s"] / medsam, 1.0,
                    f"{name} per-volume seconds over MedSAM-3DBox's ({precision}); the paper reports PropSAM faster "
                    f"than MedSAM on every dataset (Table S6)")
    assert all(values["voxels"] >= 0 for values in figures.values())
