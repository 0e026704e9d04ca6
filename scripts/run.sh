#!/usr/bin/env bash
# Entry for every npm script: set up what is missing, then run the named task on Node 22.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
task="${1:?usage: scripts/run.sh <task> [args]}"; shift
# Each task sets up what it needs: reviewing a deployment (synth, describe) and type checks
# need Node and the npm packages only, never PyTorch or Chromium; everything else (tests,
# the demo, benchmarks, Python) gets the whole set.
case "$task" in
  synth|describe|typecheck) ensure_node; ensure_node_modules ;;
  *) ensure_all ;;
esac
cd "$SPACEPORT_ROOT"
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
  synth) node --import tsx pipeline/pulumi/synth.ts "$@" ;;
  describe) node --import tsx stages/describe.ts "$@" ;;
  *) spaceport_die "unknown task '$task'" ;;
esac
