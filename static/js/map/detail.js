/* The detail panel of one site: GET /api/sites/<id>/details, drawn as text, with the pack button,
 * photos, tags, facilities, facts, staff notes, coordinates to copy, navigation links and the sun.
 */
import { getJSON } from "./api.js";
import { byId, el } from "./dom.js";
import { format, formatDistance } from "./format.js";
import { whenStill } from "./sight.js";

// "27.792200, 120.087800": six decimals, as copied.  Pure.
export function coordText(lat, lng) {
  return lat.toFixed(6) + ", " + lng.toFixed(6);
}

// The details URL for a site, with the sun date when one is chosen.  Pure.
export function detailsUrl(siteApi, id, date) {
  return siteApi + "/" + id + "/details" + (date ? "?date=" + date : "");
}

// ctx: map, settings, M, text, state, status, vocab(), markers(), layers, list, pack, failure(err),
// writeUrl(), actions {setPanelOpen}.
export function createDetail(ctx) {
  const { map, settings, M, text, state, status } = ctx;
  const panel = byId("scout-detail");
  const body = byId("scout-detail-body");
  let seq = 0;

  byId("scout-detail-close").addEventListener("click", closeSite);
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape") closeSite(); });

  function closeSite() {
    panel.hidden = true;
    ctx.layers.showAccuracy(null);
    const previous = state.site;
    state.site = null;
    ctx.writeUrl();
    document.querySelectorAll(".is-active").forEach((n) => n.classList.remove("is-active"));
    const item = previous && document.querySelector('.scout-result[data-site-id="' + previous + '"]');
    if (item) item.focus();
  }

  function openSite(id, options = {}) {
    state.site = id;
    ctx.writeUrl();
    ctx.list.markActive(id);
    const mine = ++seq;
    status.loading += 1;
    return getJSON(detailsUrl(settings.api.site, id, state.date)).then((d) => {
      if (mine !== seq) return;  // another site was opened meanwhile
      renderDetail(d);
      panel.hidden = false;
      if (options.from !== "url") panel.focus();
      const f = d.feature;
      const where = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
      ctx.layers.showAccuracy(f);
      if (options.from === "list" && document.body.classList.contains("panel-open")) ctx.actions.setPanelOpen(false);
      // After a zoom still under way (a bubble's): a move asked for meanwhile would be undone when it ends.
      whenStill(map, () => {
        if (mine !== seq) return;
        const marker = ctx.markers()[id];
        if (marker && options.from === "list") {
          // The zoom may end after another site was opened: only the current one is marked.
          ctx.layers.siteCluster.zoomToShowLayer(marker, () => { if (state.site === id) ctx.list.markActive(id); });
        } else if (!marker && options.from === "list" && status.mode === "view") {
          // Inside a server cluster: zoom to where it stands alone (the view reloads and marks it).
          map.setView(where, Math.max(map.getZoom(), settings.membersZoom));
        }
        ctx.actions.keepInSight(where);  // above a phone's drawer, once the map has got there
      });
    }).catch((err) => {
      if (mine !== seq) return;
      body.textContent = "";
      body.appendChild(el("p", "scout-error", ctx.failure(err)));
      panel.hidden = false;
    }).then(() => { status.loading -= 1; });
  }

  function copyRow(labelText, lat, lng) {
    const row = el("div", "scout-coord");
    row.appendChild(el("span", "scout-coord-label", labelText));
    const value = coordText(lat, lng);
    row.appendChild(el("code", "scout-coord-value", value));
    const button = el("button", "scout-copy", M.copy);
    button.type = "button";
    button.addEventListener("click", () => {
      const done = () => {
        button.textContent = M.copied;
        setTimeout(() => { button.textContent = M.copy; }, 1500);
      };
      if (navigator.clipboard) navigator.clipboard.writeText(value).then(done, () => {});
    });
    row.appendChild(button);
    return row;
  }

  function section(title) {
    const s = el("section", "scout-detail-section");
    s.appendChild(el("h3", null, title));
    return s;
  }

  // title: a longer explanation, shown on hover.
  function definition(list, term, value, title) {
    if (value === null || value === undefined || value === "") return;
    list.appendChild(el("dt", null, term));
    const dd = el("dd", null, value);
    if (title) dd.title = title;
    list.appendChild(dd);
  }

  function packButton(f) {
    const inDraft = ctx.pack.inDraft(f.id);
    const button = el("button", "scout-pack-toggle", inDraft ? M.removeFromPack : M.addToPack);
    button.type = "button";
    button.setAttribute("data-site-id", f.id);
    button.setAttribute("aria-pressed", inDraft ? "true" : "false");
    button.addEventListener("click", () => ctx.pack.toggle(f.id, text.primaryName(f.properties)));
    return button;
  }

  function photoSection(photos) {
    const s = section(M.photos);
    if (!photos.length) {
      s.appendChild(el("p", "scout-muted", M.noPhotos));
      return s;
    }
    const strip = el("div", "scout-photos");
    photos.forEach((ph) => {
      // Thumbnail linking to the full public copy; every value set as a property, never as markup.
      const link = el("a", "scout-photo");
      link.href = ph.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      if (ph.caption) link.title = ph.caption;
      const img = el("img");
      const scale = Math.min(1, 320 / Math.max(ph.width, ph.height, 1));
      img.src = ph.thumb_url;
      img.alt = ph.caption || M.photos;
      img.width = Math.round(ph.width * scale);
      img.height = Math.round(ph.height * scale);
      img.loading = "lazy";
      img.decoding = "async";
      img.style.maxWidth = "100%";
      img.style.height = "auto";
      link.appendChild(img);
      strip.appendChild(link);
    });
    s.appendChild(strip);
    return s;
  }

  function tagList(p) {
    const tags = el("ul", "scout-tags");
    (p.genres || []).forEach((g) => tags.appendChild(el("li", "scout-tag scout-tag-genre", text.termLabel(ctx.vocab(), "genre", g))));
    (p.terrain || []).forEach((t) => tags.appendChild(el("li", "scout-tag", text.termLabel(ctx.vocab(), "terrain", t))));
    return tags;
  }

  // Each facility with how it is known, worded by the server (label_zh/label_en): only a verified one gets its
  // pictogram as a plain fact; a reported one is marked "?", one verified absent "✕".  Null when none is recorded.
  function facilityList(entries) {
    if (!(entries || []).length) return null;
    const vocab = ctx.vocab();
    const list = el("ul", "scout-facilities");
    entries.forEach((e) => {
      const li = el("li", "scout-facility scout-facility-" + e.status);
      li.setAttribute("data-facility", e.facility);
      li.setAttribute("data-status", e.status);
      const mark = e.status === "verified_present" ? ((vocab && vocab.facilityIcons[e.facility]) || "•")
        : e.status === "reported" ? "?" : "✕";
      const icon = el("span", "scout-facility-icon", mark);
      icon.setAttribute("aria-hidden", "true");
      li.appendChild(icon);
      li.appendChild(el("span", "scout-facility-label", text.pick(e, "label")));
      if (e.status === "reported" && e.source) li.title = e.source;
      list.appendChild(li);
    });
    return list;
  }

  function facts(p) {
    const list = el("dl", "scout-facts");
    // The server words it: at an estimated point it says the elevation is the site's, not the point's.
    definition(list, M.elevationM, text.pick(p, "elevation_label"));
    definition(list, M.seasons, text.list((p.best_seasons || []).map((s) => text.termLabel(ctx.vocab(), "season", s))));
    // The method's short label inline, its full definition on hover.
    definition(list, M.accuracy, text.accuracyText(p, ctx.vocab()), text.termLabel(ctx.vocab(), "position_method",
      p.position_method));
    if (!p.verified) definition(list, "⚠", M.unverified);
    return list;
  }

  // The public reads the source as a sentence; staff (their properties carry permit_notes) also see the notes.
  function sources(p) {
    const source = el("details", "scout-source");
    source.appendChild(el("summary", null, M.source));
    source.appendChild(el("p", "scout-provenance", text.pick(p, "provenance")));
    if ("permit_notes" in p) {
      source.appendChild(el("h4", "scout-source-notes", M.sourceNotes));
      source.appendChild(el("p", "scout-coord-source", p.coord_source));
      if (p.facts_source) source.appendChild(el("p", "scout-facts-source", p.facts_source));
    }
    return source;
  }

  // Staff-only notes and the history reach the page only for a signed-in planner.
  function staffSection(d) {
    const p = d.feature.properties;
    if (!(p.permit_notes || p.contact_notes || d.history_url)) return null;
    const staff = section(M.staffOnly);
    if (p.permit_notes) staff.appendChild(el("p", "scout-permit", text.labelled(M.permits, p.permit_notes)));
    if (p.contact_notes) staff.appendChild(el("p", "scout-contact", text.labelled(M.contacts, p.contact_notes)));
    [[d.edit_url, M.edit, "scout-edit"], [d.history_url, M.history, "scout-history"],
     [d.field_url, M.verifyOnSite, "scout-verify-on-site"]].forEach(([href, title, className]) => {
      if (!href) return;
      const a = el("a", className, title);
      a.href = href;
      staff.appendChild(a);
      staff.appendChild(document.createTextNode(" "));
    });
    return staff;
  }

  // A text in the page's language; one the record has only in the other language comes after a note saying so,
  // marked with its language.  local: text.localText()'s answer.
  function textSection(title, local) {
    if (!local) return null;
    const s = section(title);
    if (local.note) s.appendChild(el("p", "scout-muted scout-untranslated", local.note));
    const body = el("p", null, local.text);
    if (local.lang) body.lang = local.lang;
    s.appendChild(body);
    return s;
  }

  function positionSection(d) {
    const pos = section(M.position);
    pos.appendChild(copyRow(M.coordWgs84, d.coordinates.wgs84[1], d.coordinates.wgs84[0]));
    pos.appendChild(copyRow(M.coordGcj02, d.coordinates.gcj02[1], d.coordinates.gcj02[0]));
    const nav = el("p", "scout-navigate");
    nav.appendChild(el("span", null, text.labelled(M.navigate, "")));
    [["amap", M.amapName], ["baidu", M.baidu]].forEach(([key, title]) => {
      const a = el("a", "scout-nav-" + key, title);
      a.href = d.navigation[key];
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      nav.appendChild(a);
      nav.appendChild(document.createTextNode(" "));
    });
    pos.appendChild(nav);
    const seat = d.from_county_seat;
    pos.appendChild(el("p", "scout-from-seat", text.labelled(M.fromSeat, format(M.fromSeatLine, {
      distance: formatDistance(seat.distance_m, M), compass: text.pick(seat, "compass"), bearing: Math.round(seat.bearing_deg) }))));
    return pos;
  }

  function sunSection(sun, id) {
    const s = section(M.sun);
    const dateLabel = el("label", "scout-sun-date");
    dateLabel.appendChild(el("span", null, M.date + " "));
    const input = el("input");
    input.type = "date";
    input.value = sun.date;
    input.id = "scout-sun-date";
    input.addEventListener("change", () => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(input.value)) return;
      state.date = input.value;
      openSite(id, { from: "date" });
    });
    dateLabel.appendChild(input);
    s.appendChild(dateLabel);
    if (sun.polar) {
      s.appendChild(el("p", null, sun.polar === "day" ? M.polarDay : M.polarNight));
      return s;
    }
    const table = el("table", "scout-sun");
    const rows = el("tbody");
    sun.events.forEach((e) => {
      const tr = el("tr");
      tr.setAttribute("data-event", e.name);
      tr.appendChild(el("th", null, M["sun_" + e.name] || e.name));
      tr.appendChild(el("td", null, e.time.slice(11, 16)));
      tr.appendChild(el("td", null, M.azimuth + " " + Math.round(e.azimuth_deg) + "°"));
      rows.appendChild(tr);
    });
    table.appendChild(rows);
    s.appendChild(table);
    s.appendChild(el("p", "scout-muted", M.flatHorizon));
    return s;
  }

  function renderDetail(d) {
    const f = d.feature, p = f.properties;
    const add = (node) => { if (node) body.appendChild(node); };
    body.textContent = "";
    body.setAttribute("data-site-id", f.id);
    const title = el("h2", null, text.primaryName(p));
    title.id = "scout-detail-title";
    add(title);
    add(el("p", "scout-detail-secondary", text.secondaryName(p)));
    if (p.base) add(el("p", "scout-detail-base", text.pick(p, "base_name") || p.base));
    add(packButton(f));
    add(photoSection(d.photos));
    add(tagList(p));
    add(facilityList(p.facility_status));
    add(facts(p));
    add(sources(p));
    add(staffSection(d));
    const suggest = el("a", "scout-suggest-correction", M.suggestCorrection);
    suggest.href = settings.api.suggest + "?site=" + f.id;
    add(suggest);
    add(textSection(M.description, text.localText(p, "description")));
    add(textSection(M.access, text.localText(p, "access_notes")));
    add(positionSection(d));
    add(sunSection(d.sun, f.id));
  }

  return { openSite, closeSite };
}
