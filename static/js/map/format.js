/* Text for people: message templates, distances, the zh-or-English choice.  Pure: no DOM, no state. */

// "{n} sites" with values filled in by name.
export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key]);
}

// Coordinates as sent to the API: six decimals (about 0.1 m).
export function round6(x) {
  return Math.round(x * 1e6) / 1e6;
}

// 850 m, 1.2 km, 12 km: units from the page's messages (M.m, M.km).
export function formatDistance(metres, M) {
  if (metres >= 1000) return (metres / 1000).toFixed(metres >= 10000 ? 0 : 1) + " " + M.km;
  return Math.round(metres) + " " + M.m;
}

// The page's language decides which of a record's two names or texts comes first; one place for that rule.
export function makeText(zh, M) {
  const pick = (p, field) => (zh ? p[field + "_zh"] : p[field + "_en"]);
  const text = {
    zh,
    label: (term) => (term ? (zh ? term.zh : term.en) : ""),
    pick,
    primaryName: (p) => pick(p, "name"),
    secondaryName: (p) => (zh ? p.name_en : p.name_zh),
    // A text in the page's language, else the other one (descriptions are not always translated).
    localText: (p, field) => pick(p, field) || p[field + "_zh"] || p[field + "_en"] || "",
    // A vocabulary term's label; its slug until the vocabulary has arrived.
    termLabel: (vocab, kind, slug) => (vocab && vocab[kind][slug] ? text.label(vocab[kind][slug]) : slug),
    accuracyText(p) {
      let out = "±" + formatDistance(p.coord_accuracy_m, M);
      if (p.approximate) out = M.approximate + ", " + out;
      const method = pick(p, "position_method");
      return method ? out + " (" + method + ")" : out;
    },
  };
  return text;
}

// GET /api/vocabulary -> {genre: {slug: term}, ..., facilityIcons, genreColours}.
export function vocabularyIndex(v) {
  const index = { genre: {}, terrain: {}, facility: {}, season: {}, facilityIcons: v.facility_icons || {},
    genreColours: v.genre_colours || {} };
  [["genre", v.genres], ["terrain", v.terrain], ["facility", v.facilities], ["season", v.seasons]].forEach(([kind, terms]) => {
    (terms || []).forEach((t) => { index[kind][t.slug] = t; });
  });
  return index;
}
