"""The SfM report (its warnings, its georeference) travels with the model to the compressor."""

from __future__ import annotations

import json
from pathlib import Path

from gs_trainer.upstream import carry_upstream


def test_sfm_report_is_carried_with_its_stage_name(tmp_path: Path) -> None:
    sfm, model = tmp_path / "sfm", tmp_path / "model"
    sfm.mkdir()
    warning = {"code": "georeference-not-metric", "message": "The model is not reliably metric: ..."}
    report = {"stage": "sfm", "photos_placed": 16, "georeference": {"frame": "enu", "metric": False}, "warnings": [warning]}
    (sfm / "report.json").write_text(json.dumps(report))
    carry_upstream(sfm, model, stage="sfm")
    carried = json.loads((model / "upstream.json").read_text())
    assert carried == {"reports": [report]}


def test_chain_of_earlier_reports_is_kept_and_a_missing_stage_name_filled(tmp_path: Path) -> None:
    sfm, model = tmp_path / "sfm", tmp_path / "model"
    sfm.mkdir()
    (sfm / "upstream.json").write_text(json.dumps({"reports": [{"stage": "ingest", "warnings": []}]}))
    (sfm / "report.json").write_text(json.dumps({"warnings": [{"code": "x", "message": "y"}]}))
    reports = carry_upstream(sfm, model, stage="sfm")
    assert [r["stage"] for r in reports] == ["ingest", "sfm"]


def test_missing_or_damaged_report_leaves_an_empty_chain(tmp_path: Path) -> None:
    sfm, model = tmp_path / "sfm", tmp_path / "model"
    sfm.mkdir()
    (sfm / "report.json").write_text("{not json")
    assert carry_upstream(sfm, model, stage="sfm") == []
    assert json.loads((model / "upstream.json").read_text()) == {"reports": []}
