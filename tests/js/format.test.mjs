// Labels, distances and the zh-or-English rule (static/js/map/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { format, formatDistance, makeText, round6, vocabularyIndex } from "../../static/js/map/format.js";

const M = { m: "米", km: "公里", listSeparator: "、", labelled: "{label}：{value}", accuracyWithin: "误差约 {distance}",
  accuracyApproximate: "近似位置，{accuracy}", accuracyMethod: "{accuracy}（{method}）", untranslated: "暂无中文版本；英文原文：" };
const EN = { m: "m", km: "km", listSeparator: ", ", labelled: "{label}: {value}", accuracyWithin: "±{distance}",
  accuracyApproximate: "approximate, {accuracy}", accuracyMethod: "{accuracy} ({method})",
  untranslated: "No English version yet; the Chinese text:" };
const POSITION_METHODS = [
  { slug: "surveyed", zh: "实地测量", en: "Surveyed on site (GNSS)", short_zh: "实地测量", short_en: "surveyed on site" },
  { slug: "township_seat", zh: "乡镇驻地", en: "Township seat (site lies in this township)", short_zh: "乡镇驻地",
    short_en: "township seat" }];
const VOCAB = vocabularyIndex({ position_methods: POSITION_METHODS });

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

test("a text missing in the page's language is the other one's, marked with a note in the page's language", () => {
  assert.deepEqual(makeText(false, EN).localText(site, "description"), { text: "A waterfall", lang: null });
  assert.deepEqual(makeText(true, M).localText(site, "description"),
    { text: "A waterfall", lang: "en", note: "暂无中文版本；英文原文：" });
  assert.deepEqual(makeText(false, EN).localText({ access_notes_zh: "步行十分钟" }, "access_notes"),
    { text: "步行十分钟", lang: "zh-CN", note: "No English version yet; the Chinese text:" });
  assert.equal(makeText(true, M).localText(site, "access_notes"), null);
});

test("accuracy: the language's punctuation, the method's short label, 'approximate' when it is", () => {
  const zh = makeText(true, M), en = makeText(false, EN);
  const seat = { ...site, coord_accuracy_m: 8000, approximate: true, position_method: "township_seat" };
  assert.equal(zh.accuracyText(seat, VOCAB), "近似位置，误差约 8.0 公里（乡镇驻地）");
  assert.equal(en.accuracyText(seat, VOCAB), "approximate, ±8.0 km (township seat)");
  assert.equal(zh.accuracyText({ ...site, position_method: "surveyed" }, VOCAB), "误差约 30 米（实地测量）");
  assert.equal(en.accuracyText({ coord_accuracy_m: 30 }, VOCAB), "±30 m", "no method: no parentheses");
  assert.doesNotMatch(zh.accuracyText(seat, VOCAB), /[,:()]/, "no ASCII punctuation in Chinese");
  assert.doesNotMatch(en.accuracyText(seat, VOCAB), /\(.*\(/, "no parentheses inside parentheses in English");
});

test("labels, lists and towns in the page's language", () => {
  const zh = makeText(true, M), en = makeText(false, EN);
  assert.equal(zh.labelled("许可", "需申请"), "许可：需申请");
  assert.equal(en.labelled("Permits", "apply"), "Permits: apply");
  assert.equal(zh.list(["春", "夏"]), "春、夏");
  assert.equal(en.list(["Spring", "Summer"]), "Spring, Summer");
  const base = { towns: ["梧溪", "周山"], towns_en: ["Wuxi (Wencheng)", "Zhoushan (Wencheng)"] };
  assert.equal(zh.towns(base), "梧溪、周山");
  assert.equal(en.towns(base), "Wuxi (Wencheng), Zhoushan (Wencheng)");
  assert.equal(en.towns({ towns: ["南田"] }), "南田", "an older server without towns_en: the names it has");
});

test("position methods: the short label inline, the full one as their definition", () => {
  assert.equal(makeText(false, EN).methodLabel(VOCAB, "township_seat"), "township seat");
  assert.equal(makeText(true, M).methodLabel(VOCAB, "township_seat"), "乡镇驻地");
  assert.equal(makeText(false, EN).termLabel(VOCAB, "position_method", "township_seat"),
    "Township seat (site lies in this township)");
  assert.equal(makeText(false, EN).methodLabel(null, "township_seat"), "", "none before the vocabulary arrives");
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
