#!/usr/bin/env bash
# Installs the compressor stage's runtime dependencies, idempotently. The Dockerfile runs it;
# natively, scripts/env.sh does the same (shared venv from requirements.txt, Node 22, npm deps,
# Debian's chromium).
#  - Python: torch (CPU wheel in the image), numpy, pillow for sog_tools.py.
#  - Node: the stage's own npm dependencies (package.json here: splat-transform, playwright-core,
#    tar, tsx) are installed by the Dockerfile's `npm ci` from the lockfile here.
#  - chromium: headless preview of the viewer (apt, in the Dockerfile).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${SPACEPORT_PYTHON:-python3}"
# PyTorch's CPU index when it answers (pip would retry an unreachable one for every package);
# else PyPI's torch, a CUDA build: a larger image that runs on the CPU the same.
index=()
if [ -n "${SPACEPORT_TORCH_INDEX:-}" ] && "$python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)" "$SPACEPORT_TORCH_INDEX" 2>/dev/null; then
  index=(--extra-index-url "$SPACEPORT_TORCH_INDEX")
elif [ -n "${SPACEPORT_TORCH_INDEX:-}" ]; then
  echo "note: $SPACEPORT_TORCH_INDEX does not answer; torch comes from PyPI (its CUDA build)" >&2
fi
"$python" -m pip install --no-cache-dir --disable-pip-version-check "${index[@]}" -r "$here/requirements.txt"
"$python" -c "import torch, numpy, PIL; print('compressor python ready: torch', torch.__version__, 'threads', torch.get_num_threads())"
node -e "const [maj]=process.versions.node.split('.'); if (+maj < 22) { console.error('Node >= 22 required, found ' + process.version); process.exit(1) }"
if command -v "${SPACEPORT_CHROMIUM:-chromium}" >/dev/null; then echo "chromium: $(command -v "${SPACEPORT_CHROMIUM:-chromium}")"; else echo "chromium missing: preview.webp will be skipped" >&2; fi
