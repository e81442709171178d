#!/usr/bin/env bash
# images.sh [--upstream] [FAMILY[:VERSION]...]: build the instance images listed in
# images/versions.txt (all when no argument) and tag them: exact version, major.minor, major,
# latest. With --upstream, the upstream flavour of images/upstream/versions.txt instead
# (official base images: needs a registry to pull from).
#
# Each image is built with the docker build cache; the exact version comes from the built
# image itself (wp-dind-version, the installed Debian package's upstream version) and is
# added as a label by a one-line second build, so the label is always the real version.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

VERSIONS="$REPO_ROOT/images/versions.txt"
UPSTREAM=false
REPLACED=() # image IDs that held a tag before this run re-tagged it

# variants [FILTER...]: "family version where" lines of the list that match a filter; where
# is the Debian suite, or for --upstream "DIR ARG=VALUE".
variants() {
	local family version suite f
	while read -r family version suite; do
		[[ -z $family || $family == \#* ]] && continue
		if [[ $# -eq 0 ]]; then
			echo "$family $version $suite"
			continue
		fi
		for f in "$@"; do
			if [[ $f == "$family" || $f == "$family:$version" ]]; then
				echo "$family $version $suite"
			fi
		done
	done <"$VERSIONS"
}

# role_of FAMILY: the org.wp-dind.role label of a family.
role_of() {
	case $1 in
	php) echo php ;;
	mariadb | mysql) echo db ;;
	nginx | apache) echo web ;;
	*) die "unknown image family $1" ;;
	esac
}

# label_and_tag IID FAMILY VERSION EXACT: the version label needs the built image, so it is
# added by a second, metadata-only build (cached like any other).
label_and_tag() {
	local iid=$1 family=$2 version=$3 exact=$4 out
	out=$(printf 'FROM %s\nLABEL org.wp-dind.version="%s" org.wp-dind.role="%s" org.wp-dind.flavor="%s"\n' \
		"$iid" "$exact" "$(role_of "$family")" "$family" |
		docker build -q -t "$IMAGE_PREFIX$family:$exact" -t "$IMAGE_PREFIX$family:$version" - 2>&1) ||
		die "label $IMAGE_PREFIX$family:$exact: $out"
}

# inputs_stamp FAMILY WHERE: a hash of everything a variant's build reads: its folder under
# images/ (paths, modes, contents), the build's suite or upstream argument, the IDs of the
# base images it starts from, and the flags. An unchanged stamp with the tag still on the
# image it was made for means there is nothing to build.
inputs_stamp() {
	local family=$1 where=$2 bases="" dirs=("$1")
	# wp-mysql takes its health check and version script from wp-mariadb's folder.
	[[ $family == mysql ]] && dirs+=(mariadb)
	if ! $UPSTREAM; then
		bases=$(docker image inspect -f '{{.Id}}' "wp-base:$where" wp-base:trixie 2>/dev/null) || return 1
	fi
	{
		printf '%s\n' "$family" "$where" "$UPSTREAM" "$bases" "${WP_DIND_NO_CACHE:-0}"
		(cd "$REPO_ROOT/images" && find "${dirs[@]}" upstream -type f -printf '%p %m\n' | LC_ALL=C sort)
		(cd "$REPO_ROOT/images" && find "${dirs[@]}" upstream -type f -print0 | LC_ALL=C sort -z | xargs -0 cat)
	} | sha256sum | cut -d' ' -f1
}

# build_variant FAMILY VERSION WHERE: build, find the exact version, label and tag.
build_variant() {
	local family=$1 version=$2 where=$3 iid exact start=$SECONDS
	local iidfile="$CACHE_DIR/iid/$IMAGE_PREFIX_FILE$family-$version" args dir arg old stamp
	mkdir -p "$CACHE_DIR/iid"
	stamp=$(inputs_stamp "$family" "$where") || stamp=""
	if [[ -n $stamp && -f $iidfile.stamp && $(<"$iidfile.stamp") == "$stamp $(docker image inspect -f '{{.Id}}' "$IMAGE_PREFIX$family:$version" 2>/dev/null)" ]]; then
		log "$IMAGE_PREFIX$family:$version is up to date (its inputs are unchanged)"
		return
	fi
	if $UPSTREAM; then
		read -r dir arg <<<"$where"
		args=(--build-arg "$arg" -f "$REPO_ROOT/images/upstream/$dir/Dockerfile")
		log "build $IMAGE_PREFIX$family:$version (upstream, $arg)"
	else
		args=(--build-arg SUITE="$where" --build-arg VERSION="$version" -f "$REPO_ROOT/images/$family/Dockerfile")
		log "build $IMAGE_PREFIX$family:$version (Debian $where)"
	fi
	# WP_DIND_NO_CACHE=1: a cold build of every step (scripts/image-figures.sh).
	[[ ${WP_DIND_NO_CACHE:-0} == 1 ]] && args+=(--no-cache)
	docker build --iidfile "$iidfile" "${args[@]}" "$REPO_ROOT/images" >"$CACHE_DIR/iid/$IMAGE_PREFIX_FILE$family-$version.log" 2>&1 ||
		{ tail -40 "$CACHE_DIR/iid/$IMAGE_PREFIX_FILE$family-$version.log" >&2; die "build $IMAGE_PREFIX$family:$version failed"; }
	iid=$(<"$iidfile")
	old=$(docker image inspect -f '{{.Id}}' "$IMAGE_PREFIX$family:$version" 2>/dev/null) && REPLACED+=("$old")
	exact=$(docker run --rm --entrypoint wp-dind-version "$iid")
	[[ $exact == "$version".* ]] || die "$IMAGE_PREFIX$family:$version holds version $exact"
	label_and_tag "$iid" "$family" "$version" "$exact"
	[[ -z $stamp ]] || echo "$stamp $(docker image inspect -f '{{.Id}}' "$IMAGE_PREFIX$family:$version")" >"$iidfile.stamp"
	log "built $IMAGE_PREFIX$family:$exact = $IMAGE_PREFIX$family:$version in $((SECONDS - start)) s"
}

# tag_family FAMILY: major = newest major.minor of that major; latest = newest of all.
tag_family() {
	local family=$1 version major newest=""
	local -A by_major=()
	while read -r version; do
		image_exists "$IMAGE_PREFIX$family:$version" || continue
		major=${version%%.*}
		by_major[$major]=$version
		newest=$version
	done < <(variants "$family" | awk '{print $2}' | sort -V)
	[[ -n $newest ]] || return 0
	for major in "${!by_major[@]}"; do
		docker tag "$IMAGE_PREFIX$family:${by_major[$major]}" "$IMAGE_PREFIX$family:$major"
	done
	docker tag "$IMAGE_PREFIX$family:$newest" "$IMAGE_PREFIX$family:latest"
	log "tagged $IMAGE_PREFIX$family: $(for m in "${!by_major[@]}"; do printf '%s->%s ' "$m" "${by_major[$m]}"; done)latest->$newest"
}

# remove_replaced: images this run replaced and that no tag names any more; removing them
# also removes their untagged parents, the unlabelled builds.
remove_replaced() {
	local id
	for id in "${REPLACED[@]}"; do
		if [[ $(docker image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null) == 0 ]]; then
			docker image rm "$id" >/dev/null 2>&1 && log "removed the replaced image ${id:7:12}"
		fi
	done
	return 0
}

main() {
	local lines family version where suites
	if [[ ${1:-} == --upstream ]]; then
		UPSTREAM=true VERSIONS="$REPO_ROOT/images/upstream/versions.txt"
		shift
	fi
	lines=$(variants "$@")
	[[ -n $lines ]] || die "no image matches: $*"
	if ! $UPSTREAM; then
		suites=$(awk '{print $3}' <<<"$lines" | sort -u)
		# The WordPress core stage of wp-php always comes from trixie.
		if grep -q '^php ' <<<"$lines"; then suites=$(printf '%s\ntrixie\n' "$suites" | sort -u); fi
		# shellcheck disable=SC2086
		"$REPO_ROOT/scripts/base-image.sh" $suites
	fi
	while read -r family version where; do
		build_variant "$family" "$version" "$where"
	done <<<"$lines"
	awk '{print $1}' <<<"$lines" | sort -u | while read -r family; do
		tag_family "$family"
	done
	remove_replaced
}

main "$@"
