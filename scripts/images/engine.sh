# Sourced by scripts/test-images.sh: a Docker engine that answers, started here when it can be.
# This kind of machine has no bridge networking for containers (and needs none): the engine runs
# with --bridge=none, builds use --network host, stage containers --network none.

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Starts dockerd when no engine answers: root on Debian only (installs docker.io with apt when
# dockerd is missing). Sets SPACEPORT_STARTED_DOCKERD to the pid when this call started it.
ensure_docker_engine() {
  SPACEPORT_STARTED_DOCKERD=""
  if docker_answers; then
    spaceport_log "Docker engine: $(docker version --format '{{.Server.Version}}') (already running)"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    spaceport_die "no Docker engine answers (docker version failed) and this script can start one only as root on Debian: start Docker (e.g. sudo systemctl start docker) and run npm run test:images again"
  fi
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    spaceport_log "installing Debian's docker.io (the Docker engine)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io) >&2 \
      || spaceport_die "apt-get install docker.io failed"
  fi
  local log="$SPACEPORT_CACHE/dockerd.log"
  mkdir -p "$SPACEPORT_CACHE"
  spaceport_log "starting dockerd --bridge=none --iptables=false (log: $log)"
  setsid dockerd --bridge=none --iptables=false >"$log" 2>&1 &
  SPACEPORT_STARTED_DOCKERD=$!
  local i
  for i in $(seq 1 60); do
    if docker_answers; then
      spaceport_log "Docker engine $(docker version --format '{{.Server.Version}}') started (pid $SPACEPORT_STARTED_DOCKERD)"
      return 0
    fi
    if ! kill -0 "$SPACEPORT_STARTED_DOCKERD" 2>/dev/null; then
      spaceport_die "dockerd exited at start; its last lines: $(tail -n 5 "$log" | tr '\n' ' ')"
    fi
    sleep 1
  done
  spaceport_die "dockerd did not answer within 60 s; see $log"
}

# Stops the engine only when ensure_docker_engine started it (the layer cache stays on disk).
stop_docker_engine() {
  [ -n "${SPACEPORT_STARTED_DOCKERD:-}" ] || return 0
  kill -TERM "$SPACEPORT_STARTED_DOCKERD" 2>/dev/null || return 0
  local i
  for i in $(seq 1 30); do kill -0 "$SPACEPORT_STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  spaceport_log "stopped the Docker engine this script started"
}
