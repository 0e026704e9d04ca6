#!/usr/bin/env bash
# Compressor stage entry (Docker ENTRYPOINT, SageMaker ContainerEntrypoint, local native run).
# Reads $SPACEPORT_OPT_ML/processing/input/model/, writes $SPACEPORT_OPT_ML/processing/output/delivery/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# Natively, scripts/env.sh provides Node 22, the Python venv (torch) and chromium; in the
# image they are on PATH already (SPACEPORT_IN_IMAGE=1).
if [ "${SPACEPORT_IN_IMAGE:-0}" != 1 ] && [ -f "$ROOT/scripts/env.sh" ]; then
  # shellcheck source=/dev/null
  source "$ROOT/scripts/env.sh"
  ensure_node >&2
  ensure_python >&2 || true
  ensure_chromium >&2 || true
fi
# From the stage's folder, `--import tsx` resolves in the image's images/compressor/node_modules
# (its own lockfile) and natively in the repository's node_modules above it.
cd "$HERE"
exec node --import tsx "$HERE/src/main.ts" "$@"
