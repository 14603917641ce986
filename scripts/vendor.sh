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
copy leaflet.markercluster/dist/leaflet.markercluster.js markercluster/leaflet.markercluster.js
copy leaflet.markercluster/dist/MarkerCluster.css markercluster/MarkerCluster.css
copy leaflet.markercluster/dist/MarkerCluster.Default.css markercluster/MarkerCluster.Default.css
copy leaflet.fullscreen/Control.FullScreen.js fullscreen/Control.FullScreen.js
copy leaflet.fullscreen/Control.FullScreen.css fullscreen/Control.FullScreen.css
copy leaflet.fullscreen/icon-fullscreen.svg fullscreen/icon-fullscreen.svg
copy leaflet.locatecontrol/dist/L.Control.Locate.min.js locate/L.Control.Locate.min.js
copy leaflet.locatecontrol/dist/L.Control.Locate.min.css locate/L.Control.Locate.min.css
copy leaflet-minimap/dist/Control.MiniMap.min.js minimap/Control.MiniMap.min.js
copy leaflet-minimap/dist/Control.MiniMap.min.css minimap/Control.MiniMap.min.css
copy leaflet-minimap/dist/images minimap/images
copy leaflet-draw/dist/leaflet.draw.js draw/leaflet.draw.js
copy leaflet-draw/dist/leaflet.draw.css draw/leaflet.draw.css
copy leaflet-draw/dist/images draw/images
copy gcoord/dist/gcoord.global.prod.js gcoord/gcoord.global.prod.js
copy gcoord/LICENSE gcoord/LICENSE

rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "vendored front-end assets into $OUT"
