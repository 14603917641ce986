/* Encoded polylines (Google's polyline algorithm, precision 5: about 1 m), so that a drawn area of the API's
 * full 500 corners fits in the page's URL.  The API reads `area=polyline:<encoded>` (scouting/polyline.py)
 * beside the plain `area=lon,lat,...`.  Points are [lat, lng] pairs, in the encoding's own order.  Pure.
 */
const FACTOR = 1e5;
export const POLYLINE_PREFIX = "polyline:";

function encodeNumber(delta, out) {
  let value = delta < 0 ? ~(delta << 1) : delta << 1;
  while (value >= 0x20) {
    out.push(String.fromCharCode((0x20 | (value & 0x1f)) + 63));
    value >>>= 5;
  }
  out.push(String.fromCharCode(value + 63));
}

// [[lat, lng], ...] -> the encoded string.
export function encodePolyline(points) {
  const out = [];
  let prevLat = 0, prevLng = 0;
  points.forEach(([lat, lng]) => {
    const ilat = Math.round(lat * FACTOR), ilng = Math.round(lng * FACTOR);
    encodeNumber(ilat - prevLat, out);
    encodeNumber(ilng - prevLng, out);
    prevLat = ilat;
    prevLng = ilng;
  });
  return out.join("");
}

// The encoded string -> [[lat, lng], ...]; null when it is not a whole, valid polyline.
export function decodePolyline(text) {
  const values = [];
  let shift = 0, result = 0;
  for (let i = 0; i < text.length; i += 1) {
    const byte = text.charCodeAt(i) - 63;
    if (byte < 0 || byte >= 64 || shift > 30) return null;
    result |= (byte & 0x1f) << shift;
    shift += 5;
    if (byte < 0x20) {
      values.push(result & 1 ? ~(result >>> 1) : result >>> 1);
      shift = 0;
      result = 0;
    }
  }
  if (shift || values.length % 2) return null;
  const points = [];
  let lat = 0, lng = 0;
  for (let i = 0; i < values.length; i += 2) {
    lat += values[i];
    lng += values[i + 1];
    points.push([lat / FACTOR, lng / FACTOR]);
  }
  return points;
}
