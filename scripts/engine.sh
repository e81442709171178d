#!/usr/bin/env bash
# engine.sh: make sure a Docker engine answers. When `docker info` works, that engine is used
# as it is. Otherwise, on Debian as root, install docker.io (+ iptables) when dockerd is
# missing, start dockerd in the background with its log in a file and wait for the socket.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

DOCKERD_LOG="${WP_DIND_DOCKERD_LOG:-/var/log/dockerd.log}"
WAIT_SECONDS="${WP_DIND_ENGINE_WAIT:-60}"

if docker info >/dev/null 2>&1; then
	exit 0
fi
[[ $(id -u) -eq 0 ]] || die "docker info fails and this is not root: start a Docker engine first"
[[ -r /etc/debian_version ]] || die "docker info fails and this is not Debian: start a Docker engine first"

if ! command -v dockerd >/dev/null; then
	log "install docker.io and iptables from Debian"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi
command -v docker >/dev/null || die "no docker CLI on PATH"

log "start dockerd (log $DOCKERD_LOG)"
mkdir -p "$(dirname "$DOCKERD_LOG")"
# setsid: dockerd outlives this script and make's process group.
setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
	if docker info >/dev/null 2>&1; then
		log "dockerd answers after $((i / 10)).$((i % 10)) s"
		exit 0
	fi
	sleep 0.1
done
tail -20 "$DOCKERD_LOG" >&2
die "dockerd did not answer within $WAIT_SECONDS s"
