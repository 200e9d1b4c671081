#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing:
#   gettext  - msgfmt, to compile the Russian and English catalogues
#   chromium - the browser the end-to-end tests drive (never a downloaded build)
set -euo pipefail
what=${1:?usage: system-deps.sh gettext|chromium}
case "$what" in
  gettext) cmd=msgfmt; packages="gettext" ;;
  chromium) cmd=chromium; packages="chromium" ;;
  *) echo "unknown dependency: $what" >&2; exit 2 ;;
esac
command -v "$cmd" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "The '$cmd' command is missing. Install the Debian package(s): $packages" >&2
  exit 1
fi
sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
echo "Installing $packages with apt-get ..."
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $packages >/dev/null
command -v "$cmd" >/dev/null
