"""Compares an SfM stage output with a generated survey's true cameras.

    python tests/e2e/evaluate_sfm.py --sfm <stage output folder> --truth <survey>/truth.json

Prints JSON: photos placed, RMSE of camera centres after a similarity alignment (metres and
relative to the scene extent), the worst camera, and the photos that were not placed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pycolmap

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from samples.alignment import align_cameras  # noqa: E402
from samples.truth import load_truth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sfm", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    args = parser.parse_args()
    truth = load_truth(args.truth.parent)
    model = pycolmap.Reconstruction(args.sfm / "sparse" / "0")
    centres = {image.name: np.asarray(image.projection_center()) for image in model.images.values()}
    aligned = align_cameras(centres, truth.centers())
    print(
        json.dumps(
            {
                "placed": len(centres),
                "total": len(truth.images),
                "rmse_m": float(aligned.rmse),
                "extent_m": float(aligned.extent),
                "rmse_relative": float(aligned.rmse / aligned.extent),
                "missing": list(aligned.missing),
            }
        )
    )


if __name__ == "__main__":
    main()
