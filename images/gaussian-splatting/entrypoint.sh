#!/usr/bin/env bash
# Entry program of the gaussian-splatting stage (Docker ENTRYPOINT, SageMaker, local runtime).
# SageMaker runs training images as `<image> train`; the package accepts and ignores it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The stage contract every Python stage shares (images/shared) sits beside the image folder.
export PYTHONPATH="$here:$here/../shared${PYTHONPATH:+:$PYTHONPATH}"
exec "${SPACEPORT_PYTHON:-python3}" -m gs_trainer "$@"
