#!/usr/bin/env bash
# Installs the gaussian-splatting stage's runtime dependencies, idempotently.
#   requirements.txt        torch (CPU path), numpy, pillow: the CPU image, the local runtime and
#                           CI (scripts/env.sh installs the same file into the shared venv).
#   requirements-gpu.txt    the CUDA image's torch (cu118) and pins, instead of requirements.txt,
#   requirements-gsplat.txt then gsplat with its CUDA kernels compiled now: with
#                           SPACEPORT_IMAGE_ACCELERATOR=nvidia (the Dockerfile's default).
#                           TORCH_CUDA_ARCH_LIST picks the GPU generations (default: T4 sm_75 and newer).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${SPACEPORT_PYTHON:-python3}"
pip=("$python" -m pip install --no-cache-dir --disable-pip-version-check)
if [ "${SPACEPORT_IMAGE_ACCELERATOR:-none}" = nvidia ]; then
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-7.5;8.0;8.6;8.9;9.0+PTX}"
  export MAX_JOBS="${MAX_JOBS:-4}"
  "${pip[@]}" --extra-index-url "${SPACEPORT_TORCH_CUDA_INDEX:-https://download.pytorch.org/whl/cu118}" -r "$here/requirements-gpu.txt"
  # fail the build, not the job, when the base's CUDA and torch's are not one pair
  "$python" "$here/gs_trainer/accelerator.py" check-build
  "${pip[@]}" --no-build-isolation -r "$here/requirements-gsplat.txt"
  # fail the build, not the job, if the compiled kernels are missing
  "$python" -c "import gsplat, gsplat.cuda._backend as b; print('gsplat', gsplat.__version__, 'CUDA kernels compiled')"
else
  # PyTorch's CPU index when it answers (pip would retry an unreachable one for every package);
  # else PyPI's torch, a CUDA build: a larger image that runs on the CPU the same.
  index=()
  if [ -n "${SPACEPORT_TORCH_INDEX:-}" ] && "$python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)" "$SPACEPORT_TORCH_INDEX" 2>/dev/null; then
    index=(--extra-index-url "$SPACEPORT_TORCH_INDEX")
  elif [ -n "${SPACEPORT_TORCH_INDEX:-}" ]; then
    echo "note: $SPACEPORT_TORCH_INDEX does not answer; torch comes from PyPI (its CUDA build)" >&2
  fi
  "${pip[@]}" "${index[@]}" -r "$here/requirements.txt"
fi
"$python" -c "import torch, numpy, PIL; print('gaussian-splatting runtime ready: torch', torch.__version__, 'CUDA', torch.version.cuda)"
