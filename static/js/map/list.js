/* The panel's results: the count line, the list of sites (all of them, or the pages in view), facet
 * counts on the chips and the base menu, and the advice of an empty result.
 */
import { nextLink } from "./api.js";
import { byId, el } from "./dom.js";
import { format, formatDistance } from "./format.js";

// The best filter to clear for an empty result: the one whose removal brings back the most sites.  Pure.
export function bestRelaxation(without) {
  let best = null;
  Object.keys(without || {}).forEach((name) => {
    if (best === null || without[name] > without[best]) best = name;
  });
  return best !== null && without[best] > 0 ? best : null;
}

// The note under a list of the sites in view.  Pure.
export function inViewNote(shown, numberMatched, M) {
  if (numberMatched === 0) return M.noneInView;
  return shown < numberMatched ? format(M.listInView, { shown, n: numberMatched }) : format(M.allInView, { n: numberMatched });
}

// ctx: M, text, state, status, vocab(), bases, markers(), layers, actions {openSite, setFilters, loadMore}.
export function createList(ctx) {
  const { M, text, state, status } = ctx;
  let listed = {};  // id -> feature, for the sites listed in "view" mode

  function setCount(message) {
    byId("scout-count").textContent = message;
  }

  function resultItem(f) {
    const p = f.properties;
    const li = el("li");
    const button = el("button", "scout-result");
    button.type = "button";
    button.setAttribute("data-site-id", f.id);
    button.appendChild(el("span", "scout-result-name", text.primaryName(p)));
    button.appendChild(el("span", "scout-result-secondary", text.secondaryName(p)));
    let meta = (p.genres || []).map((g) => text.termLabel(ctx.vocab(), "genre", g)).join(" · ");
    if (p.distance_m !== undefined) meta = formatDistance(p.distance_m, M) + " · " + meta;
    button.appendChild(el("span", "scout-result-meta", meta));
    button.appendChild(el("span", "scout-result-accuracy", "±" + formatDistance(p.coord_accuracy_m, M)));
    button.addEventListener("click", () => ctx.actions.openSite(f.id, { from: "list" }));
    button.addEventListener("mouseenter", () => highlight(f.id, "list"));
    button.addEventListener("mouseleave", () => highlight(null));
    button.addEventListener("focus", () => highlight(f.id, "list"));
    button.addEventListener("blur", () => highlight(null));
    li.appendChild(button);
    return li;
  }

  // "all" mode: every match, no paging.
  function showAll(features) {
    listed = {};
    const list = byId("scout-results");
    list.textContent = "";
    byId("scout-results-note").hidden = true;
    byId("scout-more").hidden = true;
    features.forEach((f) => list.appendChild(resultItem(f)));
  }

  // "view" mode: the first page of the sites in view.
  function showPage(page) {
    listed = {};
    byId("scout-results").textContent = "";
    appendPage(page);
  }

  function appendPage(page) {
    const list = byId("scout-results");
    page.features.forEach((f) => {
      listed[f.id] = f;
      list.appendChild(resultItem(f));
    });
    const note = byId("scout-results-note");
    note.hidden = false;
    note.textContent = inViewNote(Object.keys(listed).length, page.numberMatched, M);
    const next = nextLink(page);
    const more = byId("scout-more");
    more.hidden = !next;
    more.onclick = next ? () => ctx.actions.loadMore(next.href, more) : null;
  }

  // Hovering a list item lights up its marker (or the cluster holding it), and the other way round.
  function highlight(id, from) {
    document.querySelectorAll(".is-highlighted").forEach((n) => n.classList.remove("is-highlighted"));
    if (id === null) return;
    const item = document.querySelector('.scout-result[data-site-id="' + id + '"]');
    if (item) {
      item.classList.add("is-highlighted");
      if (from === "map") item.scrollIntoView({ block: "nearest" });
    }
    ctx.layers.highlightSite(ctx.markers()[id], listed[id]);
  }

  function markActive(id) {
    document.querySelectorAll(".is-active").forEach((n) => n.classList.remove("is-active"));
    const item = document.querySelector('.scout-result[data-site-id="' + id + '"]');
    if (item) item.classList.add("is-active");
    const marker = ctx.markers()[id];
    const icon = marker && marker.getElement ? marker.getElement() : null;
    if (icon) icon.classList.add("is-active");
  }

  function baseOption(slug, count) {
    const base = ctx.bases[slug];
    const name = base.number + ". " + text.primaryName(base);
    return count === undefined ? name : format(M.withCount, { label: name, n: count });
  }

  function addBaseOptions(features) {
    const select = byId("scout-base");
    features.forEach((f) => {
      ctx.bases[f.properties.slug] = f.properties;
      const option = el("option", null, baseOption(f.properties.slug));
      option.value = f.properties.slug;
      select.appendChild(option);
    });
  }

  function showFacets(facets) {
    document.querySelectorAll(".scout-chip").forEach((chip) => {
      const counts = facets.counts[chip.getAttribute("data-vocab")] || {};
      const n = counts[chip.getAttribute("data-term")] || 0;
      chip.querySelector(".scout-chip-count").textContent = n;
      chip.classList.toggle("is-empty", n === 0);
    });
    Array.prototype.forEach.call(byId("scout-base").options, (option) => {
      if (!option.value || !ctx.bases[option.value]) return;
      option.textContent = baseOption(option.value, facets.counts.base[option.value] || 0);
    });
    status.numberMatched = facets.numberMatched;
    setCount(facets.numberMatched === 1 ? M.oneSiteMatches : format(M.sitesMatch, { n: facets.numberMatched }));
    showEmpty(facets.numberMatched === 0 ? facets.without || {} : null);
  }

  // An empty result says so and offers to clear the filter that removed the most; a failed one says why.
  function showEmpty(without, error) {
    const box = byId("scout-empty");
    box.textContent = "";
    if (!without && !error) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.appendChild(el("p", null, error || M.noSites));
    const best = bestRelaxation(without);
    if (best !== null) {
      const clear = el("button", "scout-relax", format(M.clearFilter, { filter: M[best] || best, n: without[best] }));
      clear.type = "button";
      clear.setAttribute("data-filter", best);
      clear.addEventListener("click", () => ctx.actions.clearFilter(best));
      box.appendChild(clear);
    }
    const all = el("button", "scout-relax-all", M.clearAll);
    all.type = "button";
    all.addEventListener("click", () => byId("scout-reset").click());
    box.appendChild(all);
  }

  return { setCount, showAll, showPage, appendPage, highlight, markActive, addBaseOptions, showFacets, showEmpty,
    isListed: (id) => id in listed };
}
