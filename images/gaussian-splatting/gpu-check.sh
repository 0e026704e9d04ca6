#!/usr/bin/env bash
# GPU check for a lent GPU machine (no network there): CPU backend vs gsplat parity on one scene
# (PSNR between the two renders >= 40 dB, mean |diff| <= 2e-3) and steps/s of both at 1600x1200.
# Needs torch with CUDA and gsplat. If gsplat is missing it installs it offline from wheels
# carried in .whl/ (build one where there is network: pip wheel --no-build-isolation --no-deps
# -w .whl -r images/gaussian-splatting/requirements-gpu.txt). In the CUDA image: just run it.
#   bash images/gaussian-splatting/gpu-check.sh [--gaussians 200000 --steps 5]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${SPACEPORT_PYTHON:-python3}"
if ! "$python" -c "import gsplat" 2>/dev/null; then
  if ls "$root"/.whl/gsplat-*.whl >/dev/null 2>&1; then
    "$python" -m pip install --no-index --find-links "$root/.whl" gsplat jaxtyping rich ninja
  else
    echo "gpu-check: gsplat is not installed and no wheel was carried in .whl/" >&2
    exit 1
  fi
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m gs_trainer.gpu_check "$@"
