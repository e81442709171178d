#!/usr/bin/env bash
# save-images.sh [DIR]: write the instance images, one tarball per family with all its tags
# (wp-php.tar, wp-mariadb.tar, ...; PREFIX+family.tar with WP_DIND_IMAGE_PREFIX), into DIR (default shared-images/), the form wp-dind
# loads at boot. A tarball is rewritten only when its images changed: the tags and image
# IDs it holds are kept beside it in .NAME.ids.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

DIR="${1:-$REPO_ROOT/shared-images}"
mkdir -p "$DIR"

save_family() {
	local family=$1 file=${1//[\/:]/-}
	local tar="$DIR/$file.tar" ids="$DIR/.$file.ids" tags manifest start=$SECONDS
	tags=$(docker image ls --format '{{.Repository}}:{{.Tag}}' "$family" | grep -v ':<none>$' | sort) || true
	if [[ -z $tags ]]; then
		log "no $family images: skip"
		return
	fi
	# shellcheck disable=SC2086
	manifest=$(docker image inspect --format '{{.Id}}' $tags | paste -d' ' <(echo "$tags") -)
	if [[ -s $tar && -f $ids && $(<"$ids") == "$manifest" ]]; then
		log "$tar is up to date"
		return
	fi
	log "save $(wc -l <<<"$tags") tags of $family to $tar"
	# shellcheck disable=SC2086
	docker save -o "$tar.tmp" $tags
	mv "$tar.tmp" "$tar"
	echo "$manifest" >"$ids"
	log "saved $tar ($(du -m "$tar" | cut -f1) MiB) in $((SECONDS - start)) s"
}

awk -v prefix="$IMAGE_PREFIX" '!/^#/ && NF {print prefix $1}' "$REPO_ROOT/images/versions.txt" | sort -u | while read -r family; do
	save_family "$family"
done
