"""The SageMaker training container contract, rooted at $SPACEPORT_OPT_ML (default /opt/ml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import stage_contract


class StageError(Exception):
    """An error with a plain-language reason for the user (goes to the failure file)."""


@dataclass(frozen=True)
class Paths:
    root: Path

    @staticmethod
    def from_env() -> Paths:
        return Paths(stage_contract.opt_ml())

    @property
    def sfm(self) -> Path:
        return self.root / "input" / "data" / "sfm"

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def output(self) -> Path:
        return self.root / "output"


def write_failure(paths: Paths, reason: str) -> None:
    """One readable sentence to output/failure (training) and output/message (processing)."""
    stage_contract.write_failure(paths.root, reason)


progress = stage_contract.progress
