#!/bin/sh
# Install what building, running and testing mtrprobed needs on Debian 12.
# Packages already present are left alone; run as root.
set -eu
pkgs="gcc meson ninja-build pkg-config libevent-dev libjansson-dev libsystemd-dev
check mtr-tiny dnsmasq-base socat python3 iproute2 procps systemd passwd fping"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q $missing
fi
