from __future__ import annotations

from benchmark.reports.paper import match_object, model_order, object_key, paper_model, read_rows


def test_objects_match_the_papers_spelling_plurals_and_misprints() -> None:
    rows = [{"object": "Kidneys"}, {"object": "Arota"}, {"object": "Brain tumor pertiumoral edema"},
            {"object": "Liver"}]
    assert match_object("kidney", rows) == {"object": "Kidneys"}
    assert match_object("aorta", rows) == {"object": "Arota"}
    assert match_object("brain tumor peritumoral edema", rows) == {"object": "Brain tumor pertiumoral edema"}
    assert match_object("LIVER", rows) == {"object": "Liver"} and match_object("spleen", rows) is None
    assert object_key("Gas") == "gas"  # short names keep their s


def test_models_map_to_the_papers_columns_in_its_order() -> None:
    assert paper_model("MedSAM-3DBox") == paper_model("MedSAM-Propagate") == "medsam"
    assert paper_model("Box-Fill") is None
    assert model_order(["Box-Fill", "PropSAM-2DMask", "SegVol", "PropSAM-2DBox", "MedSAM-3DBox", "Box-Fill"]) == \
        ["MedSAM-3DBox", "SegVol", "PropSAM-2DBox", "PropSAM-2DMask", "Box-Fill"]


def test_reference_rows_are_read_once_and_returned_as_copies() -> None:
    first = read_rows("table_s7_wilcoxon.csv")
    first[0]["p_value"] = "changed"
    assert read_rows("table_s7_wilcoxon.csv")[0]["p_value"] == "1.3228e-4"
    assert read_rows("no_such_table.csv") == []
