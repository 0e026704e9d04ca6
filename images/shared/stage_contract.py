"""The stage contract every Python stage shares (images/README.md), rooted at $SPACEPORT_OPT_ML.

The twin of pipeline/stage-contract.ts: the failure files and their length limit, progress lines.
Each image's build context is the repository root, so its Dockerfile copies this folder beside
the image's own package, and entrypoint.sh puts it on PYTHONPATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Files under /opt/ml/output/ holding one plain sentence: training reads `failure`, processing `message`.
FAILURE_FILES = ("failure", "message")
# SageMaker keeps the first 1024 characters of a failure reason.
MAX_REASON_LENGTH = 1024


def opt_ml() -> Path:
    """The job's /opt/ml (the local runtime roots it elsewhere)."""
    return Path(os.environ.get("SPACEPORT_OPT_ML") or "/opt/ml")


def truncate_reason(text: str) -> str:
    """At most MAX_REASON_LENGTH characters: a longer reason is cut and ends in an ellipsis."""
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "\u2026"


def write_failure(root: Path, reason: str) -> str:
    """One readable sentence to output/failure and output/message, and to stderr; returns it."""
    text = truncate_reason(" ".join(reason.split()))
    try:
        (root / "output").mkdir(parents=True, exist_ok=True)
        for name in FAILURE_FILES:
            (root / "output" / name).write_text(text + "\n")
    except OSError as e:  # still report on stderr
        print(f"could not write the failure file under {root}: {e}", file=sys.stderr)
    print(f"error: {text}", file=sys.stderr, flush=True)
    return text


def progress(percent: float, what: str) -> None:
    print(f"progress: {percent:.1f}% {what}", flush=True)
