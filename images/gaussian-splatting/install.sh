#!/usr/bin/env bash
# Installs the gaussian-splatting stage's runtime dependencies, idempotently.
#   requirements.txt      torch (CPU path), numpy, pillow: the local runtime and CI use these
#                         (scripts/env.sh installs the same file into the shared venv).
#   requirements-gpu.txt  gsplat with its CUDA kernels compiled now, for the CUDA image:
#                         set SPACEPORT_GPU=1 (the Dockerfile does). TORCH_CUDA_ARCH_LIST picks the
#                         GPU generations (default: T4 sm_75 and newer).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${SPACEPORT_PYTHON:-python3}"
pip=("$python" -m pip install --no-cache-dir --disable-pip-version-check)
"${pip[@]}" -r "$here/requirements.txt"
if [ "${SPACEPORT_GPU:-0}" = 1 ]; then
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-7.5;8.0;8.6;8.9;9.0+PTX}"
  export MAX_JOBS="${MAX_JOBS:-4}"
  "${pip[@]}" --no-build-isolation -r "$here/requirements-gpu.txt"
  # fail the build, not the job, if the compiled kernels are missing
  "$python" -c "import gsplat, gsplat.cuda._backend as b; print('gsplat', gsplat.__version__, 'CUDA kernels compiled')"
fi
"$python" -c "import torch, numpy, PIL; print('gaussian-splatting runtime ready: torch', torch.__version__)"
