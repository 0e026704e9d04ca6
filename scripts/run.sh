#!/usr/bin/env bash
# Entry for every npm script: set up what is missing, then run the named task on Node 22.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ensure_all
cd "$SPACEPORT_ROOT"
task="${1:?usage: scripts/run.sh <task> [args]}"; shift
# Each image's Python is its own program (module names such as bench.py repeat): one mypy run each.
typed_python=(images/sfm images/gaussian-splatting images/compressor samples)
case "$task" in
  test)
    # Types first (type-level tests live in tsc), then TypeScript tests, then each image's Python tests.
    echo "== tsc --noEmit"; node node_modules/typescript/bin/tsc --noEmit -p .
    echo "== jest"; node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"
    echo "== mypy"; for d in "${typed_python[@]}"; do python -m mypy "$d"; done
    echo "== pytest"; python -m pytest -q images samples
    ;;
  jest) node --experimental-vm-modules node_modules/jest/bin/jest.js "$@" ;;
  pytest) python -m pytest -q "$@" ;;
  mypy) [ $# -gt 0 ] || set -- "${typed_python[@]}"
    for d in "$@"; do python -m mypy "$d"; done ;;
  python) python "$@" ;;
  tsx) node --import tsx "$@" ;;
  typecheck) node node_modules/typescript/bin/tsc --noEmit -p . ;;
  *) spaceport_die "unknown task '$task'" ;;
esac
