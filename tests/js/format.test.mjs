// Labels, distances and the zh-or-English rule (static/js/map/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { format, formatDistance, makeText, round6, vocabularyIndex } from "../../static/js/map/format.js";

const M = { m: "米", km: "公里", approximate: "大致位置" };

test("templates are filled by name", () => {
  assert.equal(format("{shown} / {n}", { shown: 100, n: 2345 }), "100 / 2345");
});

test("round6 keeps six decimals", () => {
  assert.equal(round6(120.12345678), 120.123457);
  assert.equal(round6(-27.0000004), -27);
});

test("distances: metres below a kilometre, one decimal below ten kilometres, whole kilometres above", () => {
  assert.equal(formatDistance(850.4, M), "850 米");
  assert.equal(formatDistance(1000, M), "1.0 公里");
  assert.equal(formatDistance(9940, M), "9.9 公里");
  assert.equal(formatDistance(12400, M), "12 公里");
});

const site = { name_zh: "百丈漈", name_en: "Baizhangji Falls", description_zh: "", description_en: "A waterfall",
  coord_accuracy_m: 30, approximate: false, position_method_zh: "实地测量", position_method_en: "Surveyed" };

test("a Chinese page shows the Chinese name first, an English page the English one", () => {
  const zh = makeText(true, M), en = makeText(false, M);
  assert.equal(zh.primaryName(site), "百丈漈");
  assert.equal(zh.secondaryName(site), "Baizhangji Falls");
  assert.equal(en.primaryName(site), "Baizhangji Falls");
  assert.equal(en.secondaryName(site), "百丈漈");
});

test("a text missing in the page's language falls back to the other one", () => {
  assert.equal(makeText(true, M).localText(site, "description"), "A waterfall");
  assert.equal(makeText(true, M).localText(site, "access_notes"), "");
});

test("accuracy names the method and says when a position is approximate", () => {
  const zh = makeText(true, M);
  assert.equal(zh.accuracyText(site), "±30 米 (实地测量)");
  assert.equal(zh.accuracyText({ ...site, approximate: true, position_method_zh: null }), "大致位置, ±30 米");
});

test("vocabulary terms: labels in the page's language, the slug until the vocabulary is there", () => {
  const vocab = vocabularyIndex({ genres: [{ slug: "nature", zh: "自然风光", en: "Natural scenery" }], terrain: [],
    facilities: [], seasons: [], facility_icons: { parking: "P" }, genre_colours: { nature: "#1e8449" } });
  assert.equal(makeText(true, M).termLabel(vocab, "genre", "nature"), "自然风光");
  assert.equal(makeText(false, M).termLabel(vocab, "genre", "nature"), "Natural scenery");
  assert.equal(makeText(true, M).termLabel(null, "genre", "nature"), "nature");
  assert.equal(makeText(true, M).termLabel(vocab, "genre", "unknown"), "unknown");
  assert.equal(vocab.genreColours.nature, "#1e8449");
  assert.equal(vocab.facilityIcons.parking, "P");
});
