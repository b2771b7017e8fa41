#!/bin/sh
# Install what building, running and testing mtrprobed needs on Debian 12.
# Packages already present are left alone; run as root.
set -eu
pkgs="gcc meson ninja-build pkg-config libevent-dev libjansson-dev libsystemd-dev
check mtr-tiny dnsmasq-base socat python3 iproute2 procps systemd passwd fping"
# prometheus: its promtool checks the metrics endpoint's text.  Only the
# package itself: its recommends (node exporter and collectors) are not needed.
lean="prometheus"
missing=""
missing_lean=""
for p in $lean; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing_lean="$missing_lean $p"
done
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing$missing_lean" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
fi
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	apt-get install -y -q $missing
fi
if [ -n "$missing_lean" ]; then
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing_lean
fi
