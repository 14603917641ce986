#!/usr/bin/env bash
# Make sure Debian packages are installed.  As root, missing ones are installed with apt-get;
# otherwise the exact command is printed and we fail.  Off Debian we only say what is needed.
set -euo pipefail
if ! command -v dpkg-query >/dev/null; then
  echo "Not a Debian system: make sure these are installed: $*" >&2
  exit 0
fi
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
