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
    // "Label: value" with the language's colon ("标签：值").
    labelled: (label, value) => format(M.labelled, { label, value }),
    // A text in the page's language; else the other language's, marked as such (descriptions are not always
    // translated, and one must not pass for this language's): {text, lang: null} or {text, lang, note}; null: none.
    localText(p, field) {
      const own = pick(p, field);
      if (own) return { text: own, lang: null };
      const other = zh ? p[field + "_en"] : p[field + "_zh"];
      return other ? { text: other, lang: zh ? "en" : "zh-CN", note: M.untranslated } : null;
    },
    // A vocabulary term's label; its slug until the vocabulary has arrived.
    termLabel: (vocab, kind, slug) => (vocab && vocab[kind][slug] ? text.label(vocab[kind][slug]) : slug),
    // A position method's label short enough for a sentence ("township seat", not its definition).
    methodLabel: (vocab, slug) => {
      const term = vocab && vocab.position_method && vocab.position_method[slug];
      return term ? (zh ? term.short_zh : term.short_en) || text.label(term) : "";
    },
    // "近似位置，误差约 8 公里（乡镇驻地）" / "approximate, ±8 km (township seat)".
    accuracyText(p, vocab) {
      let out = format(M.accuracyWithin, { distance: formatDistance(p.coord_accuracy_m, M) });
      if (p.approximate) out = format(M.accuracyApproximate, { accuracy: out });
      const method = text.methodLabel(vocab, p.position_method) || pick(p, "position_method");
      return method ? format(M.accuracyMethod, { accuracy: out, method }) : out;
    },
    // Words joined as a list in the page's language ("春、夏" / "Spring, Summer").
    list: (words) => words.filter(Boolean).join(M.listSeparator),
    // A base's towns in the page's language (the bases API serves towns_en beside the Chinese towns).
    towns: (p) => text.list((zh ? p.towns : p.towns_en || p.towns) || []),
  };
  return text;
}

// GET /api/vocabulary -> {genre: {slug: term}, ..., facilityIcons, genreColours}.
export function vocabularyIndex(v) {
  const index = { genre: {}, terrain: {}, facility: {}, season: {}, position_method: {}, facilityIcons: v.facility_icons || {},
    genreColours: v.genre_colours || {} };
  [["genre", v.genres], ["terrain", v.terrain], ["facility", v.facilities], ["season", v.seasons],
    ["position_method", v.position_methods]].forEach(([kind, terms]) => {
    (terms || []).forEach((t) => { index[kind][t.slug] = t; });
  });
  return index;
}
