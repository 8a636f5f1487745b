#!/usr/bin/env bash
# Installs Debian's chromium for the report test (pipeline/report), which
# opens the generated HTML in headless Chromium and skips when it is absent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo -n"
	else
		echo "chromium.sh: not root and no sudo; cannot install chromium" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# Update the package lists once, only when chromium is not yet known to apt.
if ! apt-cache show chromium >/dev/null 2>&1; then
	$SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation
command -v chromium >/dev/null
