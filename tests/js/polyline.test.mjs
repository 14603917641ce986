// The encoded polyline of a drawn area (static/js/map/polyline.js), without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decodePolyline, encodePolyline } from "../../static/js/map/polyline.js";
import { ringFromParam, ringPolylineParam } from "../../static/js/map/layers.js";

test("the polyline algorithm's published example encodes and decodes", () => {
  const points = [[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]];
  assert.equal(encodePolyline(points), "_p~iF~ps|U_ulLnnqC_mqNvxq`@");
  assert.deepEqual(decodePolyline("_p~iF~ps|U_ulLnnqC_mqNvxq`@"), points);
});

test("a 500-corner ring round Wencheng round-trips to 1e-5 degrees and is far shorter than the plain list", () => {
  const ring = [];
  for (let i = 0; i < 500; i += 1) {
    const a = (2 * Math.PI * i) / 500, r = 0.2 + 0.03 * Math.sin(7 * a);
    ring.push([27.79 + r * Math.sin(a), 120.09 + r * Math.cos(a)]);
  }
  const back = decodePolyline(encodePolyline(ring));
  assert.equal(back.length, 500, "every corner comes back");
  back.forEach(([lat, lng], i) => {
    assert.ok(Math.abs(lat - ring[i][0]) <= 0.5e-5 && Math.abs(lng - ring[i][1]) <= 0.5e-5, `corner ${i} within rounding`);
  });
  const param = ringPolylineParam(ring.map(([lat, lng]) => ({ lat, lng })));
  const inUrl = new URLSearchParams({ area: param }).toString().length;
  const plain = new URLSearchParams({ area: ring.map(([lat, lng]) => lng.toFixed(6) + "," + lat.toFixed(6)).join(",") })
    .toString().length;
  assert.ok(inUrl < 6000, `500 corners take ${inUrl} characters in a URL, under the server's 8000`);
  assert.ok(inUrl * 2 < plain, `the polyline (${inUrl}) is under half the plain list (${plain})`);
  assert.deepEqual(ringFromParam(param), back, "the page reads its own area parameter back");
});

test("a cut or foreign polyline is refused, not guessed", () => {
  assert.equal(decodePolyline("_p~iF~ps|U_ulL"), null, "ends after a latitude");
  assert.equal(decodePolyline("_p~iF~ps|"), null, "ends inside a number");
  assert.equal(decodePolyline("ab c"), null, "a space is not a polyline character");
  assert.deepEqual(ringFromParam("polyline: "), [], "the page draws nothing for a bad one");
});
