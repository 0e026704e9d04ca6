"""`python -m sfm_stage`: run the stage; even a broken installation ends in the failure file."""

import os
import sys
from pathlib import Path

try:
    from .pipeline import main
except ImportError as exc:  # e.g. pycolmap missing: still tell the user why, the SageMaker way
    reason = f"The SfM stage is not installed correctly ({exc}); run images/sfm/install.sh."
    print(f"sfm failed: {reason}", file=sys.stderr)
    out = Path(os.environ.get("SPACEPORT_OPT_ML") or "/opt/ml") / "output"
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in ("failure", "message"):
            (out / name).write_text(reason + "\n")
    except OSError:
        pass
    sys.exit(1)

sys.exit(main(sys.argv[1:]))
