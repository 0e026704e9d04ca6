#!/usr/bin/env bash
# The SfM stage's one entry program (Docker ENTRYPOINT, SageMaker ContainerEntrypoint, local runtime).
# Reads $SPACEPORT_OPT_ML/processing/input/photos/, writes $SPACEPORT_OPT_ML/processing/output/sfm/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The stage contract every Python stage shares (images/shared) sits beside the image folder.
export PYTHONPATH="$here:$here/../shared${PYTHONPATH:+:$PYTHONPATH}"
exec "${SPACEPORT_PYTHON:-python3}" -m sfm_stage "$@"
