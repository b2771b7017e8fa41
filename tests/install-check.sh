#!/bin/sh
# Install a build into a scratch DESTDIR and check that everything a
# package needs is there: the programs, the systemd units, the sysusers.d
# and tmpfiles.d snippets, the example configuration and the manual pages.
#   tests/install-check.sh BUILDDIR
# Prints each file found; exits 1 naming what is missing, 2 on usage or
# install errors.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
build=$1
if [ ! -f "$build/build.ninja" ]; then
	echo "install-check: $build is not a configured meson build directory" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtrprobed-install-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
root=$tmp/root

if ! DESTDIR=$root meson install -C "$build" --no-rebuild --quiet \
	>"$tmp/install.log" 2>&1; then
	echo "install-check: meson install failed:" >&2
	cat "$tmp/install.log" >&2
	exit 2
fi

# A build option's value (from `meson configure`), made absolute.
option() {
	value=$(meson configure "$build" 2>/dev/null |
		awk -v name="$1" '$1 == name { print $2; exit }')
	if [ -z "$value" ]; then
		value=$2
	fi
	case $value in
	/*) printf '%s\n' "$value" ;;
	*) printf '%s/%s\n' "$prefix" "$value" ;;
	esac
}
prefix=/usr/local
prefix=$(option prefix /usr/local)
bindir=$(option bindir bin)
sbindir=$(option sbindir sbin)
mandir=$(option mandir share/man)
sysconfdir=$(option sysconfdir etc)

missing=
found() {
	printf 'found   %s\n' "$1"
}
lack() {
	printf 'MISSING %s\n' "$1"
	missing="$missing
  $1"
}
# check_file PATH [-x]: PATH (as installed) exists under DESTDIR.
check_file() {
	if [ -f "$root$1" ] && { [ "${2:-}" != -x ] || [ -x "$root$1" ]; }; then
		found "$1"
	else
		lack "$1"
	fi
}
# check_find PATTERN: exactly one file whose installed path matches PATTERN
# (a find -path pattern); its location depends on systemd.pc.
check_find() {
	hits=$(cd "$root" && find . -path "$1" -type f | sed 's|^\.||')
	case $hits in
	'') lack "$1" ;;
	*'
'*) lack "$1 (more than one: $(echo "$hits" | tr '\n' ' '))" ;;
	*) found "$hits" ;;
	esac
}

check_file "$sbindir/mtrprobed" -x
check_file "$bindir/mtrprobectl" -x
packet=no
if [ -f "$build/client/mtrprobe-packet" ]; then
	packet=yes
	check_file "$bindir/mtrprobe-packet" -x
fi
check_find '*/systemd/system/mtrprobed.service'
check_find '*/systemd/system/mtrprobed.socket'
check_find '*/sysusers.d/mtrprobed.conf'
check_find '*/tmpfiles.d/mtrprobed.conf'
check_file "$sysconfdir/mtrprobed/mtrprobed.conf"
check_file "$mandir/man8/mtrprobed.8"
check_file "$mandir/man5/mtrprobed.conf.5"
check_file "$mandir/man1/mtrprobectl.1"
if [ "$packet" = yes ]; then
	check_file "$mandir/man1/mtrprobe-packet.1"
fi

# The installed service starts the installed daemon with the installed
# configuration, every @VARIABLE@ substituted.
service=$(cd "$root" && find . -path '*/systemd/system/mtrprobed.service' -type f | head -n 1)
if [ -n "$service" ]; then
	want="ExecStart=$sbindir/mtrprobed -c $sysconfdir/mtrprobed/mtrprobed.conf"
	if grep -q '@[A-Z_]*@' "$root/$service"; then
		lack "${service#.}: unsubstituted @VARIABLE@"
	elif ! grep -qxF "$want" "$root/$service"; then
		lack "${service#.}: line $want"
	else
		found "${service#.}: $want"
	fi
fi

if [ -n "$missing" ]; then
	printf 'install-check: missing from the installation of %s:%s\n' \
		"$build" "$missing" >&2
	exit 1
fi
echo "install-check: all files installed"
