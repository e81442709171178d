#!/usr/bin/env bash
# run.sh: start wp-dind as the container `wpinit` on the host engine, wait until every site
# serves, then print what to open. Inner engine data lives on the named volume
# wp-dind-docker (overlay2 on the container's own overlay root would fail); the instances
# live in ./wordpress-instances and the image tarballs are read from ./shared-images. conf/
# is mounted at /etc/wpinit, so conf/instances.toml and edits of conf/ are seen by wpinit.
# The projects folder (./projects, or WP_DIND_PROJECTS) is mounted at /projects: the
# plugins, themes and mounts of instances.toml come from it. host.docker.internal is the
# host, where the Xdebug forwarder takes the sites' debugging sessions (an IDE on 9003).
#
# The wait is `ctl wait` inside the container: a line per change (services, each tarball's
# load, each site's state), an error and exit 1 when a site fails, at most
# WP_DIND_RUN_TIMEOUT seconds. When the container already runs the current image, nothing
# is restarted and the wait ends at once.
#
# The container runs --privileged; where the machine's capability bounding set makes that
# fail ("unable to apply caps"), it runs with the documented equivalent flag set instead.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

NAME="${WP_DIND_NAME:-wpinit}"
IMAGE="${WP_DIND_IMAGE:-wp-dind:latest}"
VOLUME="${WP_DIND_VOLUME:-wp-dind-docker}"
LABEL="${WP_DIND_LABEL:-org.wp-dind.run=make-run}"
RUN_TIMEOUT="${WP_DIND_RUN_TIMEOUT:-600}" # seconds, from the start until every site serves
CONF_DIR="${WP_DIND_CONF_DIR:-$REPO_ROOT/conf}"
INSTANCES_DIR="${WP_DIND_INSTANCES_DIR:-$REPO_ROOT/wordpress-instances}"
SHARED_DIR="${WP_DIND_SHARED_DIR:-$REPO_ROOT/shared-images}"
PROJECTS_DIR="${WP_DIND_PROJECTS:-$REPO_ROOT/projects}"
# Host ports (on 127.0.0.1): phpMyAdmin and MailDev, and the sites' range, published 1:1
# (a site's URL is http://localhost:PORT): wpinit.toml's [instances] ports unless
# WP_DIND_SITE_PORTS says otherwise, without the container's own 8080 and 1080.
PMA_PORT="${WP_DIND_PMA_PORT:-8080}"
MAIL_PORT="${WP_DIND_MAIL_PORT:-1080}"
# The dashboard (conf/wpinit.toml's [dashboard] listen, 8500 in the container), on 127.0.0.1.
DASHBOARD_PORT="${WP_DIND_DASHBOARD_PORT:-8500}"
# The router (conf/wpinit.toml's [router]: 80 and 443 in the container), on 127.0.0.1:80 and
# :443 unless WP_DIND_HTTP_PORT / WP_DIND_HTTPS_PORT say otherwise. When 80 or 443 is taken
# on this machine (and was not asked for), the router goes on FALLBACK_HTTP / FALLBACK_HTTPS
# instead, said so (docs/operations.md, "Ports").
HTTP_PORT="${WP_DIND_HTTP_PORT:-80}"
HTTPS_PORT="${WP_DIND_HTTPS_PORT:-443}"
FALLBACK_HTTP=8880
FALLBACK_HTTPS=8443
OWN_PORTS=(8080 1080) # phpMyAdmin and MailDev inside the container
# WP_DIND_HOST_IMAGES=1 mounts the host's Docker socket (WP_DIND_HOST_SOCKET) read-only at
# /var/run/docker-host.sock: the loader then streams the images the instances need from the
# host engine. It gives the container root on the host (docs/images.md, "From the host
# engine"): off by default, and the read-only mount does not limit what the API allows.
HOST_IMAGES="${WP_DIND_HOST_IMAGES:-0}"
HOST_SOCKET="${WP_DIND_HOST_SOCKET:-/var/run/docker.sock}"

# Stands in for --privileged where CAP_SYS_RESOURCE is missing (docs/images.md, "wp-dind").
FALLBACK_FLAGS=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined
	--security-opt apparmor=unconfined --security-opt systempaths=unconfined
	--device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw)

# conf_ports: the ports key of wpinit.toml's [instances] table ("8000-8099"), or nothing.
conf_ports() {
	awk -F= '/^[ \t]*\[/ {table = $0; gsub(/[ \t]/, "", table)}
		table == "[instances]" && $1 ~ /^[ \t]*ports[ \t]*$/ {v = $2; sub(/#.*/, "", v); gsub(/[ \t"]/, "", v); print v}' \
		"$CONF_DIR/wpinit.toml"
}

# site_ports LOW-HIGH: -p options publishing the range 1:1 on 127.0.0.1, in segments around
# the container's own ports, which are published on their own.
site_ports() {
	[[ $1 =~ ^([0-9]+)-([0-9]+)$ ]] || die "site ports \"$1\": use LOW-HIGH, like 8000-8099"
	local lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]} p from=
	SITE_ARGS=()
	for ((p = lo; p <= hi + 1; p++)); do
		if ((p <= hi)) && [[ " ${OWN_PORTS[*]} " != *" $p "* ]]; then
			from=${from:-$p}
			continue
		fi
		[[ -n $from ]] && SITE_ARGS+=(-p "127.0.0.1:$from-$((p - 1)):$from-$((p - 1))")
		from=
	done
}

# port_taken PORT: something on this machine accepts connections on 127.0.0.1:PORT.
port_taken() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# router_port WHAT PORT ASKED FALLBACK: the host port for the router's WHAT: PORT when it is
# free; when it is taken, the fallback unless the port was asked for (then: an error).
router_port() {
	local what=$1 port=$2 asked=$3 fallback=$4
	if ! port_taken "$port"; then
		echo "$port"
		return
	fi
	[[ -z $asked ]] || die "127.0.0.1:$port ($what) is in use on this machine: choose another with WP_DIND_${what}_PORT"
	port_taken "$fallback" && die "127.0.0.1:$port and the fallback $fallback ($what) are both in use: choose a free port with WP_DIND_${what}_PORT"
	log "127.0.0.1:$port is in use on this machine: the router's $what goes on 127.0.0.1:$fallback instead (WP_DIND_${what}_PORT chooses another)"
	echo "$fallback"
}

run_args() {
	mkdir -p "$INSTANCES_DIR" "$SHARED_DIR" "$PROJECTS_DIR"
	# Absolute: docker run binds only absolute paths, and the IDE's path mappings name them.
	INSTANCES_DIR=$(cd "$INSTANCES_DIR" && pwd -P) PROJECTS_DIR=$(cd "$PROJECTS_DIR" && pwd -P)
	HTTP_PORT=$(router_port HTTP "$HTTP_PORT" "${WP_DIND_HTTP_PORT:-}" "$FALLBACK_HTTP")
	HTTPS_PORT=$(router_port HTTPS "$HTTPS_PORT" "${WP_DIND_HTTPS_PORT:-}" "$FALLBACK_HTTPS")
	local ports=${WP_DIND_SITE_PORTS:-$(conf_ports)}
	site_ports "${ports:-8000-8099}" # pkg/config's default when wpinit.toml says nothing
	RUN_ARGS=(-d --name "$NAME" --hostname wp-dind --label "$LABEL"
		--stop-timeout 100
		"${SITE_ARGS[@]}"
		-p "127.0.0.1:$PMA_PORT:8080" -p "127.0.0.1:$MAIL_PORT:1080" -p "127.0.0.1:$DASHBOARD_PORT:8500"
		-p "127.0.0.1:$HTTP_PORT:80" -p "127.0.0.1:$HTTPS_PORT:443"
		-e "WPINIT_PHPMYADMIN_URL=http://localhost:$PMA_PORT/" -e "WPINIT_MAIL_URL=http://localhost:$MAIL_PORT/"
		-e "WPINIT_ROUTER_HTTP_PORT=$HTTP_PORT" -e "WPINIT_ROUTER_HTTPS_PORT=$HTTPS_PORT"
		-e "WPINIT_HOST_ROOT=$INSTANCES_DIR" -e "WPINIT_HOST_PROJECTS=$PROJECTS_DIR"
		--add-host host.docker.internal:host-gateway
		-v "$VOLUME:/var/lib/docker"
		-v "$INSTANCES_DIR:/wordpress-instances"
		-v "$PROJECTS_DIR:/projects"
		-v "$SHARED_DIR:/shared-images:ro"
		-v "$CONF_DIR:/etc/wpinit:ro")
	if [[ $HOST_IMAGES == 1 ]]; then
		[[ -S $HOST_SOCKET ]] || die "WP_DIND_HOST_IMAGES=1: no Docker socket at $HOST_SOCKET (WP_DIND_HOST_SOCKET)"
		log "WP_DIND_HOST_IMAGES=1: mounting $HOST_SOCKET at /var/run/docker-host.sock; this gives the container root on this host"
		RUN_ARGS+=(-v "$HOST_SOCKET:/var/run/docker-host.sock:ro")
	fi
}

# start: --privileged first; on the capability failure, remove the half-made container and
# start again with the fallback flag set.
start() {
	local out
	if out=$(docker run --privileged "${RUN_ARGS[@]}" "$IMAGE" 2>&1); then
		log "started $NAME (--privileged)"
		return
	fi
	docker rm -f "$NAME" >/dev/null 2>&1 || true
	if [[ $out == *"address already in use"* || $out == *"port is already allocated"* ]]; then
		die "a host port wp-dind publishes is taken ($out): free it, or choose others (WP_DIND_HTTP_PORT, WP_DIND_HTTPS_PORT, WP_DIND_PMA_PORT, WP_DIND_MAIL_PORT, WP_DIND_DASHBOARD_PORT, WP_DIND_SITE_PORTS)"
	fi
	if [[ $out != *"operation not permitted"* ]]; then
		die "docker run: $out"
	fi
	log "--privileged fails here ($(grep -o 'unable to apply caps: operation not permitted' <<<"$out" || head -1 <<<"$out"))"
	log "using the documented equivalent flag set instead (all capabilities but CAP_SYS_RESOURCE)"
	docker run "${FALLBACK_FLAGS[@]}" "${RUN_ARGS[@]}" "$IMAGE" >/dev/null
	log "started $NAME (fallback flags)"
}

# same_image: the running container already runs the current wp-dind image.
same_image() {
	[[ $(docker inspect -f '{{.Image}} {{.State.Running}}' "$NAME" 2>/dev/null) == "$(docker image inspect -f '{{.Id}}' "$IMAGE") true" ]]
}

# published PORT: the host address the container's PORT is published on (127.0.0.1:8080).
published() {
	docker port "$NAME" "$1/tcp" | head -1
}

# named NAME PORT: NAME.localhost through the router's HTTPS, then "or" the container's own
# PORT on the host; just the latter when the router's 443 is not published (an older container).
named() {
	local https
	if https=$(published 443 2>/dev/null) && [[ -n $https ]]; then
		local port=${https##*:}
		[[ $port == 443 ]] && echo -n "https://$1.localhost/ or " || echo -n "https://$1.localhost:$port/ or "
	fi
	echo "http://$(published "$2")/"
}

# wait_sites: ctl wait's lines, timed, its error last; exit 1 unless every site serves.
wait_sites() {
	log "waiting until every site serves (at most $RUN_TIMEOUT s: WP_DIND_RUN_TIMEOUT)"
	if docker exec "$NAME" ctl wait --timeout "${RUN_TIMEOUT}s" 2>&1 | while IFS= read -r line; do log "$line"; done; then
		return
	fi
	if [[ $(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null) != true ]]; then
		docker logs --tail 40 "$NAME" >&2 || true
		die "$NAME exited"
	fi
	die "wp-dind does not serve every site (docker exec $NAME ctl status shows why)"
}

# settled_sites: the table is read once no site is converging, at most 60 s after ctl wait.
# A site that just installed itself can be converged again for a few seconds while it serves
# (seen on the first site of a kind, whose site template is made then).
settled_sites() {
	local i
	for ((i = 0; i < 60; i++)); do
		docker exec "$NAME" ctl sites 2>/dev/null | awk 'NR > 1 && $3 == "converging" { busy = 1 } END { exit busy }' && return
		sleep 1
	done
}

main() {
	docker image inspect "$IMAGE" >/dev/null 2>&1 || die "no $IMAGE: run make images"
	if same_image; then
		log "$NAME already runs $IMAGE"
	else
		if docker inspect "$NAME" >/dev/null 2>&1; then
			log "replace $NAME (image changed or stopped)"
			docker stop -t 100 "$NAME" >/dev/null
			docker rm "$NAME" >/dev/null
		fi
		run_args
		start
	fi
	wait_sites
	settled_sites
	local dash
	dash=$(named wp-dind 8500 2>/dev/null) || dash="(not published by this container, started before the dashboard: docker rm -f $NAME, then make run)"
	echo
	docker exec "$NAME" ctl sites
	cat <<EOF_URLS

dashboard   $dash
password    docker exec $NAME ctl status SITE --show-secrets
phpMyAdmin  $(named phpmyadmin 8080)
mail        $(named mail 1080)
trust CA    docker exec $NAME ctl ca > wp-dind-ca.crt, then docs/operations.md "Trusting the local CA"
status      docker exec $NAME ctl status
stop        docker stop -t 100 $NAME
EOF_URLS
}

main "$@"
