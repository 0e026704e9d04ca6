"""`python -m sfm_stage`: run the stage; even a broken installation ends in the failure file."""

import sys

from stage_contract import opt_ml, write_failure

try:
    from .pipeline import main
except ImportError as exc:  # e.g. pycolmap missing: still tell the user why, the SageMaker way
    write_failure(opt_ml(), f"The SfM stage is not installed correctly ({exc}); run images/sfm/install.sh.")
    sys.exit(1)

sys.exit(main(sys.argv[1:]))
