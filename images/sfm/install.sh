#!/usr/bin/env bash
# Installs the SfM stage's runtime dependencies, idempotently: the pinned Python packages from
# requirements.txt (pycolmap 4.2.1 ships COLMAP with its own libraries in a manylinux wheel, so no
# system COLMAP is needed). The Dockerfile runs this; natively, scripts/env.sh installs the same
# requirements into the shared venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${SPACEPORT_PYTHON:-python3}"
"$python" -m pip install --no-cache-dir --disable-pip-version-check -r "$here/requirements.txt"
"$python" -c "import pycolmap, PIL, numpy; print('sfm runtime ready: pycolmap', pycolmap.__version__)"
