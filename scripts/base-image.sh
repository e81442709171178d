#!/usr/bin/env bash
# base-image.sh SUITE...: make the local base image wp-base:SUITE from Debian's mirror.
#
# No registry is reachable, so every image starts from a debootstrap minbase rootfs that
# is imported into the engine. The rootfs tarball is kept in .cache/rootfs/ so a wiped
# engine re-imports it in seconds; an existing image is never rebuilt (delete the image
# and the tarball to refresh a suite).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# tweak_rootfs DIR: the settings every image wants, made once here instead of per Dockerfile.
tweak_rootfs() {
	local dir=$1 suite=$2
	# Point releases and security fixes come from the same mirror. Unstable (sid) has neither
	# an -updates nor a -security suite: its packages move in sid itself, which is why its
	# rootfs is cached like the others (a rebuild later gets other versions).
	if [[ $suite == sid ]]; then
		echo "deb $DEBIAN_MIRROR sid main" >"$dir/etc/apt/sources.list"
	else
		cat >"$dir/etc/apt/sources.list" <<LIST
deb $DEBIAN_MIRROR $suite main
deb $DEBIAN_MIRROR $suite-updates main
deb ${DEBIAN_MIRROR%/debian}/debian-security $suite-security main
LIST
	fi
	# Package scripts must not try to start services inside a build.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	# Lean installs: no recommends, no docs, man pages or translations.
	cat >"$dir/etc/apt/apt.conf.d/90wp-dind" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CONF
	cat >"$dir/etc/dpkg/dpkg.cfg.d/90wp-dind-nodoc" <<'CONF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
CONF
	rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
	rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
	find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	: >"$dir/etc/machine-id"
}

# make_rootfs SUITE TARBALL: debootstrap into a scratch dir, then pack it.
make_rootfs() {
	local suite=$1 tarball=$2 dir
	if ! command -v debootstrap >/dev/null; then
		log "install debootstrap"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/wp-base-$suite.XXXXXX")
	log "debootstrap $suite into $dir"
	debootstrap --variant=minbase "$suite" "$dir" "$DEBIAN_MIRROR" >"$dir.log" 2>&1 ||
		{ tail -20 "$dir.log" >&2; die "debootstrap $suite failed (log $dir.log)"; }
	tweak_rootfs "$dir" "$suite"
	mkdir -p "$(dirname "$tarball")"
	tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$dir" "$dir.log"
}

base_image() {
	local suite=$1 image="${WP_DIND_BASE_REPO:-wp-base}:$1" tarball="$CACHE_DIR/rootfs/$1.tar"
	if image_exists "$image"; then
		log "$image exists"
		return
	fi
	[[ -s $tarball ]] || make_rootfs "$suite" "$tarball"
	log "import $tarball as $image"
	docker import \
		--change 'ENV LANG=C.UTF-8' \
		--change 'CMD ["/bin/bash"]' \
		--change "LABEL org.wp-dind.role=base org.wp-dind.suite=$suite" \
		"$tarball" "$image" >/dev/null
}

[[ $# -gt 0 ]] || die "usage: $0 SUITE..."
for suite in "$@"; do base_image "$suite"; done
