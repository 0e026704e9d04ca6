"""Carries the earlier stages' reports into the model output (``model/upstream.json``).

The compressor sees only this stage's model, yet the delivery's report must hold every stage's
warnings and the SfM stage's georeference (the viewer reads whether the model is metric). So
the SfM report travels with the model: ``{"reports": [<report>, ...]}``, earliest stage first,
each report with its ``stage`` name. A report that already carries its own upstream chain is
appended to it, so a longer pipeline keeps every stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

UPSTREAM_FILE = "upstream.json"


def _read_object(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a missing or damaged report only costs the warnings it held
    return value if isinstance(value, dict) else None


def carry_upstream(input_dir: Path, model_dir: Path, stage: str) -> list[dict[str, Any]]:
    """Writes model_dir/upstream.json from input_dir's report.json (and its upstream.json)."""
    earlier = _read_object(input_dir / UPSTREAM_FILE) or {}
    reports = [r for r in earlier.get("reports", []) if isinstance(r, dict)]
    report = _read_object(input_dir / "report.json")
    if report is not None:
        reports.append({**report, "stage": report.get("stage") or stage})
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / UPSTREAM_FILE).write_text(json.dumps({"reports": reports}, indent=1) + "\n")
    return reports
