"""The SageMaker training container contract, rooted at $SPACEPORT_OPT_ML (default /opt/ml)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


class StageError(Exception):
    """An error with a plain-language reason for the user (goes to the failure file)."""


@dataclass(frozen=True)
class Paths:
    root: Path

    @staticmethod
    def from_env() -> Paths:
        return Paths(Path(os.environ.get("SPACEPORT_OPT_ML", "/opt/ml")))

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
    text = reason.strip().replace("\n", " ")
    if len(text.encode()) > 1024:
        text = text.encode()[:1020].decode(errors="ignore") + "..."
    try:
        paths.output.mkdir(parents=True, exist_ok=True)
        for name in ("failure", "message"):
            (paths.output / name).write_text(text + "\n")
    except OSError as e:  # still report on stderr
        print(f"could not write the failure file: {e}", file=sys.stderr)
    print(f"error: {text}", file=sys.stderr, flush=True)


def progress(percent: float, what: str) -> None:
    print(f"progress: {percent:.1f}% {what}", flush=True)
