# shellcheck shell=bash
# Shared helpers for the wp-dind build scripts: logging and the engine check.
# Sourced, never run. Every script that sources it runs with `set -euo pipefail`.

# The classic builder is what docker.io 20.10 gives without buildx; asking for it
# explicitly keeps the CLI from failing where BuildKit is requested but absent.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034 # used by the scripts that source this file
CACHE_DIR="${WP_DIND_CACHE:-$REPO_ROOT/.cache}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The instance images are PREFIX+family:version (wpinit.toml's instances.image_prefix, "wp-"
# by default). Another prefix builds and saves a second set beside the first on one engine.
# shellcheck disable=SC2034 # used by the scripts that source this file
IMAGE_PREFIX="${WP_DIND_IMAGE_PREFIX:-wp-}"
# The prefix as part of a file name (a registry's host:port/ path has no place there).
# shellcheck disable=SC2034
IMAGE_PREFIX_FILE="${IMAGE_PREFIX//[\/:]/-}"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# image_exists NAME:TAG: true when the engine holds that tag.
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# upstream_version DEBIAN_VERSION: "1:11.8.3-0+deb13u1" -> "11.8.3".
upstream_version() {
	sed -E 's/^[0-9]+://; s/-[^-]*$//; s/[+~].*$//' <<<"$1"
}
