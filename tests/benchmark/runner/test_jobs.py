from __future__ import annotations

from benchmark.models.registry import BUILTIN_MODELS
from benchmark.protocol.settings import Setting, SettingPoint
from benchmark.runner.config import ModelEntry, RunConfig
from benchmark.runner.jobs import ModelPlan, Weights, plan_jobs, plan_models, plan_points


def test_slice_deviation_brings_its_zero_point_and_thickness_runs_every_value() -> None:
    points = plan_points(RunConfig(settings=(Setting.SLICE_DEVIATION, Setting.THICKNESS)))
    assert [p.key for p in points] == ["default", "slice-deviation=0.05", "slice-deviation=0.1",
                                       "slice-deviation=0.15", "slice-deviation=0.2", "thickness=10",
                                       "thickness=20", "thickness=30", "thickness=40"]


def test_thickness_points_go_to_models_with_a_window_only() -> None:
    plans = [ModelPlan(entry=ModelEntry(name=n, kwargs={"search": "coarse"} if "PropSAM" in n else {}),
                       spec=BUILTIN_MODELS[n], checkpoint="b.pt" if "PropSAM" in n else None,
                       weights=Weights.CHECKPOINT if "PropSAM" in n else Weights.NONE)
             for n in ("PropSAM-2DBox", "Box-Fill")]
    jobs = plan_jobs(plans, (SettingPoint(Setting.DEFAULT), SettingPoint(Setting.THICKNESS, 30.0)))
    assert [(j.model, j.point.key) for j in jobs] == [("PropSAM-2DBox", "default"), ("PropSAM-2DBox", "thickness=30"),
                                                      ("Box-Fill", "default")]
    assert dict(jobs[1].kwargs) == {"search": "coarse", "window_mm": 30.0} and dict(jobs[0].kwargs) == {
        "search": "coarse"}
    assert jobs[0].load_key != jobs[1].load_key and jobs[0].prompt_kind.value == "box2d"  # type: ignore[union-attr]


def test_models_without_weights_are_skipped_or_get_demo_weights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = RunConfig(models=(ModelEntry(name="PropSAM-2DMask"), ModelEntry(name="PropSAM-2DBox"),
                               ModelEntry(name="Naive-Propagation")))
    demo = tmp_path / "demo.pt"
    demo.write_bytes(b"bundle")
    plans, skipped = plan_models(config, demo_checkpoint=lambda spec: str(demo) if spec.name.endswith("Mask")
                                 else None)
    assert [(p.spec.name, p.weights, p.checkpoint) for p in plans] == [
        ("PropSAM-2DMask", Weights.DEMO, str(demo)), ("Naive-Propagation", Weights.NONE, None)]
    assert skipped["PropSAM-2DBox"].startswith("checkpoint missing: no checkpoint configured")
