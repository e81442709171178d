#!/usr/bin/env bash
# build-dind.sh WPINIT: build wp-dind:latest from images/dind/Dockerfile (WP_DIND_IMAGE names
# another tag, for a branch's image beside the shared one; only latest gets the version tag).
#
# The build context is assembled in .cache/dind-context: the static wpinit binary, conf/
# (baked in at /etc/wpinit/) and the build machine's extra CA certificates, which only the
# MailDev stage uses (npm behind a TLS-inspecting proxy) and the final image never holds.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 && -x $1 ]] || die "usage: $0 PATH/TO/wpinit"
IMAGE="${WP_DIND_IMAGE:-wp-dind:latest}"
"$REPO_ROOT/scripts/base-image.sh" trixie

ctx="$CACHE_DIR/dind-context"
# Another tag builds in its own context: two checkouts may share one cache folder.
[[ $IMAGE == wp-dind:latest ]] || ctx+="-${IMAGE//[^a-zA-Z0-9.-]/-}"
rm -rf "$ctx"
mkdir -p "$ctx/ca"
cp "$1" "$ctx/wpinit"
cp -r "$REPO_ROOT/conf" "$ctx/conf"
cp "$REPO_ROOT/images/dind/Dockerfile" "$REPO_ROOT/images/dind/wp-dind-health" "$REPO_ROOT/images/dind/wp-dind-xdebug-forward" "$ctx/"
# Extra CAs the host trusts (Debian keeps them here); none on a machine without a proxy.
find /usr/local/share/ca-certificates -name '*.crt' -type f -exec cp {} "$ctx/ca/" \; 2>/dev/null || true
touch "$ctx/ca/.keep"

start=$SECONDS
log "build $IMAGE"
no_cache=()
[[ ${WP_DIND_NO_CACHE:-0} == 1 ]] && no_cache=(--no-cache)
docker build "${no_cache[@]}" --iidfile "$ctx.iid" "$ctx" >"$ctx.log" 2>&1 ||
	{ tail -40 "$ctx.log" >&2; die "build wp-dind failed (log $ctx.log)"; }
iid=$(<"$ctx.iid")
version=$(docker run --rm --entrypoint dpkg-query "$iid" -W -f='${Version}' docker.io)
version=$(upstream_version "$version")
tags=(-t "$IMAGE")
[[ $IMAGE == wp-dind:latest ]] && tags+=(-t "wp-dind:$version")
out=$(printf 'FROM %s\nLABEL org.wp-dind.version="%s"\n' "$iid" "$version" |
	docker build -q "${tags[@]}" - 2>&1) || die "label wp-dind: $out"
rm -rf "$ctx" "$ctx.iid"
log "built $IMAGE (inner Docker $version) in $((SECONDS - start)) s"
