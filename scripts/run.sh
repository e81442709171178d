#!/usr/bin/env bash
# run.sh: start wp-dind as the container `wpinit` on the host engine, then print its URLs and
# `ctl status`. Inner engine data lives on the named volume wp-dind-docker (overlay2 on the
# container's own overlay root would fail); the instances live in ./wordpress-instances and the
# image tarballs are read from ./shared-images. conf/ is mounted at /etc/wpinit, so
# conf/instances.toml (when it exists) and edits of conf/ are seen by wpinit.
#
# The container runs --privileged; where the machine's capability bounding set makes that
# fail ("unable to apply caps"), it runs with the documented equivalent flag set instead.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

NAME="${WP_DIND_NAME:-wpinit}"
IMAGE="${WP_DIND_IMAGE:-wp-dind:latest}"
HEALTH_WAIT="${WP_DIND_HEALTH_WAIT:-180}"
VOLUME="${WP_DIND_VOLUME:-wp-dind-docker}"
# Host ports (on 127.0.0.1): phpMyAdmin, MailDev, and the instances' range 8000-8099, which
# holds phpMyAdmin's 8080: it is published as 8000-8079 and 8081-8099 (host offset kept).
PMA_PORT="${WP_DIND_PMA_PORT:-8080}"
MAIL_PORT="${WP_DIND_MAIL_PORT:-1080}"
SITE_BASE="${WP_DIND_SITE_BASE:-8000}"

# Stands in for --privileged where CAP_SYS_RESOURCE is missing (docs/images.md, "wp-dind").
FALLBACK_FLAGS=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined
	--security-opt apparmor=unconfined --security-opt systempaths=unconfined
	--device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw)

run_args() {
	mkdir -p "$REPO_ROOT/wordpress-instances" "$REPO_ROOT/shared-images"
	RUN_ARGS=(-d --name "$NAME" --hostname wp-dind --label org.wp-dind.run=make-run
		--stop-timeout 100
		-p "127.0.0.1:$SITE_BASE-$((SITE_BASE + 79)):8000-8079"
		-p "127.0.0.1:$((SITE_BASE + 81))-$((SITE_BASE + 99)):8081-8099"
		-p "127.0.0.1:$PMA_PORT:8080" -p "127.0.0.1:$MAIL_PORT:1080"
		-v "$VOLUME:/var/lib/docker"
		-v "$REPO_ROOT/wordpress-instances:/wordpress-instances"
		-v "$REPO_ROOT/shared-images:/shared-images:ro"
		-v "$REPO_ROOT/conf:/etc/wpinit:ro")
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

# wait_ready: until the image's health check passes (wpinit answers, every service ready).
wait_ready() {
	local i start=$SECONDS
	for ((i = 0; i < HEALTH_WAIT; i++)); do
		if docker exec "$NAME" wp-dind-health >/dev/null 2>&1; then
			log "$NAME ready in $((SECONDS - start)) s"
			return 0
		fi
		if [[ $(docker inspect -f '{{.State.Running}}' "$NAME") != true ]]; then
			docker logs --tail 40 "$NAME" >&2
			die "$NAME exited"
		fi
		sleep 1
	done
	docker logs --tail 40 "$NAME" >&2
	die "$NAME not ready after $HEALTH_WAIT s (docker exec $NAME ctl status)"
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
	wait_ready
	cat <<EOF_URLS

wp-dind is up (container $NAME):
  phpMyAdmin    http://127.0.0.1:$PMA_PORT/
  MailDev       http://127.0.0.1:$MAIL_PORT/
  instances     http://127.0.0.1:$SITE_BASE-$((SITE_BASE + 99))/ but $((SITE_BASE + 80)) (see wordpress-instances/NAME/.instance-info)
  status        docker exec $NAME ctl status
  stop          docker stop -t 100 $NAME

EOF_URLS
	docker exec "$NAME" ctl status
}

main "$@"
