#!/usr/bin/env bash
# Copy the front-end libraries installed by `npm ci` (package-lock.json) into static/vendor/.
# static/vendor/ is git-ignored: third-party code is installed at set-up, never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
NM=node_modules
OUT=static/vendor
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"

copy() {  # copy SRC (file or directory under node_modules) to DEST under static/vendor
  mkdir -p "$(dirname "$OUT.tmp/$2")"
  cp -R "$NM/$1" "$OUT.tmp/$2"
}

copy leaflet/dist/leaflet.js leaflet/leaflet.js
copy leaflet/dist/leaflet.css leaflet/leaflet.css
copy leaflet/dist/images leaflet/images
copy leaflet/LICENSE leaflet/LICENSE

rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "vendored front-end assets into $OUT"
