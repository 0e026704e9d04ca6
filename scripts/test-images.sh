#!/usr/bin/env bash
# npm run test:images (CI runs it after npm test): builds the three stage images and runs one
# whole job in them under SageMaker's container contract, beside the same job run natively.
#   1. a Docker engine: the one that answers, else dockerd started here (root on Debian);
#   2. base images: each Dockerfile's public base (pinned by digest), else a local stand-in;
#   3. the images, built as `spaceport run --docker` builds them; build time and size of each;
#   4. the job natively and in containers, the checks, and a stage failing in its container.
# An engine this script started is stopped at the end; its layer cache stays for the next run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$SPACEPORT_ROOT/scripts/images/engine.sh"
source "$SPACEPORT_ROOT/scripts/images/bases.sh"
ensure_all
cd "$SPACEPORT_ROOT"

ensure_docker_engine
trap stop_docker_engine EXIT

# Build arguments per stage where a public base cannot be pulled here: the local stand-ins.
overrides=()
add_override() { # stage dockerfile arg
  local public base
  public="$(dockerfile_arg "$2" "$3")"
  [ -n "$public" ] || spaceport_die "$2 declares no ARG $3="
  base="$(base_for "$public")"
  if [ "$base" != "$public" ]; then
    spaceport_log "$1: building FROM $base (stand-in for $public, which cannot be pulled here)"
    overrides+=("\"$1\": {\"BASE_IMAGE\": \"$base\"}")
  fi
}
add_override sfm images/sfm/Dockerfile BASE_IMAGE
add_override compressor images/compressor/Dockerfile BASE_IMAGE
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  add_override gaussian-splatting images/gaussian-splatting/Dockerfile BASE_IMAGE
else
  add_override gaussian-splatting images/gaussian-splatting/Dockerfile CPU_BASE_IMAGE
fi
SPACEPORT_DOCKER_BUILD_ARGS="{$(IFS=,; echo "${overrides[*]:-}")}"
export SPACEPORT_DOCKER_BUILD_ARGS
spaceport_log "SPACEPORT_DOCKER_BUILD_ARGS=$SPACEPORT_DOCKER_BUILD_ARGS"

echo "== images"
node --import tsx scripts/images/build.ts
echo "== a job in containers"
node --import tsx scripts/images/container-job.ts
