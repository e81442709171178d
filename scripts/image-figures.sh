#!/usr/bin/env bash
# image-figures.sh: the figures of docs/images.md, measured on this machine: each base image's
# debootstrap + import, each image's build time cold (docker build --no-cache, base present)
# and cached (the same build again), its size, and each MariaDB version's first start (empty
# data directory to wp-dind-health passing) and restart. Prints a Markdown report, also kept
# in .cache/figures.md. Slow (about 10 minutes on 2 cores): it rebuilds every image.
#
# Cold per image overstates wp-php by the WordPress core stage (trixie's wordpress package,
# about 30 s), which --no-cache rebuilds for each PHP version; on a fresh engine `make images`
# builds it once. The cold total of a fresh engine is the sum of the base and first-image
# times measured by `time make images` there.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

WPINIT="${1:-$REPO_ROOT/bin/wpinit}"
OUT="$CACHE_DIR/figures.md"
RUNS="${WP_DIND_FIGURE_RUNS:-3}"
mkdir -p "$CACHE_DIR"

# build_times LOG: "image seconds" from the "built wp-X:EXACT = wp-X:V in N s" lines.
build_times() { sed -nE 's/.* built (wp-[a-z]+:[0-9.]+) = (wp-[a-z]+:[0-9.]+) in ([0-9]+) s$/\2 \3/p' "$1"; }

base_figures() {
	local suite start tmp
	tmp=$(mktemp -d)
	echo "| base | debootstrap + import (s) | size (MB) |"
	echo "|---|---|---|"
	for suite in bullseye bookworm trixie; do
		start=$SECONDS
		WP_DIND_CACHE=$tmp WP_DIND_BASE_REPO=wp-base-figures "$REPO_ROOT/scripts/base-image.sh" "$suite"
		echo "| $suite | $((SECONDS - start)) | $(size_mb "wp-base-figures:$suite") |"
		docker image rm "wp-base-figures:$suite" >/dev/null
	done
	rm -rf "$tmp"
}

size_mb() { echo $(($(docker image inspect -f '{{.Size}}' "$1") / 1000000)); }

image_figures() {
	local cold="$CACHE_DIR/figures-cold.log" warm="$CACHE_DIR/figures-cached.log" image c w
	# The cached figure is the second build after the cold one: right after a --no-cache
	# build the classic builder may match a step of an older chain whose children are gone.
	WP_DIND_NO_CACHE=1 "$REPO_ROOT/scripts/images.sh" 2>"$cold"
	"$REPO_ROOT/scripts/images.sh" 2>/dev/null
	"$REPO_ROOT/scripts/images.sh" 2>"$warm"
	if [[ -x $WPINIT ]]; then
		WP_DIND_NO_CACHE=1 "$REPO_ROOT/scripts/build-dind.sh" "$WPINIT" 2>>"$cold"
		"$REPO_ROOT/scripts/build-dind.sh" "$WPINIT" 2>/dev/null
		"$REPO_ROOT/scripts/build-dind.sh" "$WPINIT" 2>>"$warm"
	fi
	echo "| image | exact | cold (s) | cached (s) | size (MB) |"
	echo "|---|---|---|---|---|"
	while read -r image c; do
		w=$(build_times "$warm" | awk -v i="$image" '$1 == i {print $2}')
		echo "| $image | $(docker image inspect -f '{{index .Config.Labels "org.wp-dind.version"}}' "$image") | $c | $w | $(size_mb "$image") |"
	done < <(build_times "$cold")
	c=$(sed -nE 's/.*built wp-dind:latest .* in ([0-9]+) s$/\1/p' "$cold")
	w=$(sed -nE 's/.*built wp-dind:latest .* in ([0-9]+) s$/\1/p' "$warm")
	if [[ -n $c ]]; then
		echo "| wp-dind:latest | $(docker image inspect -f '{{index .Config.Labels "org.wp-dind.version"}}' wp-dind:latest) | $c | $w | $(size_mb wp-dind:latest) |"
	fi
}

# first_start IMAGE: seconds (ms precision) from docker run on an empty data dir to a passing
# wp-dind-health, then from docker start after a clean stop.
first_start() {
	local image=$1 data id t0 first restart
	data=$(mktemp -d)
	t0=$(date +%s%N)
	id=$(docker run -d --label org.wp-dind.test=image-figures -v "$data:/var/lib/mysql" \
		-e MARIADB_ROOT_PASSWORD=figures-root -e MARIADB_DATABASE=wordpress \
		-e MARIADB_USER=wordpress -e MARIADB_PASSWORD=figures-app "$image")
	first=$(wait_health "$id" "$t0")
	docker stop -t 30 "$id" >/dev/null
	t0=$(date +%s%N)
	docker start "$id" >/dev/null
	restart=$(wait_health "$id" "$t0")
	docker rm -f -v "$id" >/dev/null
	rm -rf "$data"
	echo "$first $restart"
}

# wait_health ID T0: seconds since T0 (ns) when wp-dind-health first passes (at most 120 s).
wait_health() {
	local id=$1 t0=$2 i
	for ((i = 0; i < 1200; i++)); do
		if docker exec "$id" wp-dind-health >/dev/null 2>&1; then
			echo "$(($(date +%s%N) - t0))" | awk '{printf "%.2f", $1 / 1e9}'
			return
		fi
		sleep 0.1
	done
	echo "timeout"
}

db_figures() {
	local image run out
	echo "| image | first start, empty data dir to healthy (s) | restart to healthy (s) |"
	echo "|---|---|---|"
	for image in $(docker image ls --format '{{.Repository}}:{{.Tag}}' wp-mariadb | grep -E ':[0-9]+\.[0-9]+$' | sort -V); do
		local firsts="" restarts=""
		for ((run = 0; run < RUNS; run++)); do
			out=$(first_start "$image")
			firsts+="${firsts:+, }${out% *}" restarts+="${restarts:+, }${out#* }"
		done
		echo "| $image | $firsts | $restarts |"
	done
}

main() {
	"$REPO_ROOT/scripts/engine.sh"
	{
		echo "# wp-dind image figures, $(date -u +%Y-%m-%d), $(nproc) cores, Docker $(docker version -f '{{.Server.Version}}')"
		echo
		base_figures
		echo
		image_figures
		echo
		db_figures
	} | tee "$OUT"
}

main "$@"
