/* The pack being put together.  A draft lives in this browser (localStorage) until "create share link"
 * sends it.  The draft operations are pure (they return a new draft); createPackPanel draws and wires it.
 */
import { postJSON } from "./api.js";
import { byId, el } from "./dom.js";

export const PACK_KEY = "wenchengScout.packDraft";
export const TOKENS_KEY = "wenchengScout.editTokens";

export function emptyDraft() {
  return { items: [] };
}

// A stored draft, or an empty one when there is none or it does not parse.
export function parseDraft(json) {
  try {
    const draft = JSON.parse(json);
    return draft && Array.isArray(draft.items) ? draft : emptyDraft();
  } catch (e) {
    return emptyDraft();
  }
}

export function inDraft(draft, id) {
  return draft.items.some((i) => i.id === id);
}

// Adds the site, or removes it when it is in already.
export function toggled(draft, id) {
  const items = inDraft(draft, id) ? draft.items.filter((i) => i.id !== id) : [...draft.items, { id, note: "" }];
  return { ...draft, items };
}

// The item at `index` swapped with its neighbour (delta -1: up, 1: down); unchanged at either end.
export function moved(draft, index, delta) {
  const other = index + delta;
  if (index < 0 || other < 0 || index >= draft.items.length || other >= draft.items.length) return draft;
  const items = draft.items.slice();
  [items[index], items[other]] = [items[other], items[index]];
  return { ...draft, items };
}

// The POST /api/packs body: trimmed name and notes, empty notes left out.
export function packBody(draft) {
  const notes = {};
  draft.items.forEach((i) => { if (i.note && i.note.trim()) notes[i.id] = i.note.trim(); });
  const body = { name: (draft.name || "").trim(), site_ids: draft.items.map((i) => i.id), notes };
  if (draft.shoot_date) body.shoot_date = draft.shoot_date;
  if (draft.expires_on) body.expires_on = draft.expires_on;
  return body;
}

function storeItem(key, value) {
  try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: kept in memory only */ }
}

function loadItem(key) {
  try { return window.localStorage.getItem(key); } catch (e) { return null; }
}

// ctx: settings, M, text (format.js), markers() -> {id: marker}, failure(err) -> text.  Returns the panel's operations.
export function createPackPanel(ctx) {
  const { M, text, settings } = ctx;
  let draft = parseDraft(loadItem(PACK_KEY));
  const names = {};  // site id -> name, for sites not on the map now

  function save(next) {
    draft = next;
    storeItem(PACK_KEY, JSON.stringify(draft));
    render();
  }

  function toggle(id, name) {
    if (name) names[id] = name;
    save(toggled(draft, id));
  }

  function rememberNames(features) {
    features.forEach((f) => { if (inDraft(draft, f.id)) names[f.id] = text.primaryName(f.properties); });
  }

  function itemRow(item, index) {
    const li = el("li", "scout-pack-item");
    li.setAttribute("data-site-id", item.id);
    const marker = ctx.markers()[item.id];
    const name = names[item.id] || (marker ? text.primaryName(marker.feature.properties) : "#" + item.id);
    li.appendChild(el("span", "scout-pack-name", name));
    const note = el("textarea", "scout-pack-note");
    note.rows = 2;
    note.maxLength = 2000;
    note.placeholder = M.noteFor;
    note.setAttribute("aria-label", M.noteFor + ": " + name);
    note.value = item.note || "";
    note.addEventListener("input", () => {
      item.note = note.value;  // kept without redrawing, so the textarea keeps its focus
      storeItem(PACK_KEY, JSON.stringify(draft));
    });
    li.appendChild(note);
    const tools = el("span", "scout-pack-tools");
    [[M.moveUp, "↑", -1], [M.moveDown, "↓", 1]].forEach(([title, arrow, delta]) => {
      const b = el("button", null, arrow);
      b.type = "button";
      b.title = title;
      b.setAttribute("aria-label", title + ": " + name);
      b.disabled = moved(draft, index, delta) === draft;
      b.addEventListener("click", () => save(moved(draft, index, delta)));
      tools.appendChild(b);
    });
    const remove = el("button", null, "×");
    remove.type = "button";
    remove.title = M.remove;
    remove.setAttribute("aria-label", M.remove + ": " + name);
    remove.addEventListener("click", () => toggle(item.id));
    tools.appendChild(remove);
    li.appendChild(tools);
    return li;
  }

  function render() {
    const list = byId("scout-pack-items");
    byId("scout-pack").hidden = draft.items.length === 0;
    byId("scout-pack-count").textContent = "(" + draft.items.length + ")";
    list.textContent = "";
    draft.items.forEach((item, index) => list.appendChild(itemRow(item, index)));
    byId("scout-pack-name").value = draft.name || "";
    byId("scout-pack-shoot").value = draft.shoot_date || "";
    byId("scout-pack-expires").value = draft.expires_on || "";
    document.querySelectorAll(".scout-pack-toggle").forEach((b) => {
      const id = +b.getAttribute("data-site-id");
      b.textContent = inDraft(draft, id) ? M.removeFromPack : M.addToPack;
      b.setAttribute("aria-pressed", inDraft(draft, id) ? "true" : "false");
    });
  }

  const FIELDS = { name: "name", shoot: "shoot_date", expires: "expires_on" };
  Object.keys(FIELDS).forEach((field) => {
    byId("scout-pack-" + field).addEventListener("change", (e) => save({ ...draft, [FIELDS[field]]: e.target.value }));
  });
  // "Give the pack a name first" goes as soon as there is a name (typed, pasted or restored).
  byId("scout-pack-name").addEventListener("input", (e) => {
    const result = byId("scout-pack-result");
    if (e.target.value.trim() && result.getAttribute("data-kind") === "needs-name") {
      result.textContent = "";
      result.removeAttribute("data-kind");
      e.target.removeAttribute("aria-invalid");
    }
  });
  byId("scout-pack-clear").addEventListener("click", () => {
    byId("scout-pack-result").textContent = "";
    save(emptyDraft());
  });
  byId("scout-pack-create").addEventListener("click", () => {
    const result = byId("scout-pack-result");
    draft = { ...draft, name: byId("scout-pack-name").value.trim() };
    result.removeAttribute("data-kind");
    if (!draft.name) {
      result.textContent = M.packNeedsName;
      result.setAttribute("data-kind", "needs-name");
      byId("scout-pack-name").setAttribute("aria-invalid", "true");
      byId("scout-pack-name").focus();
      return;
    }
    postJSON(settings.api.packs, packBody(draft)).then((pack) => {
      // The edit token is shown once: kept in this browser so its maker can change the pack later.
      try {
        const tokens = JSON.parse(loadItem(TOKENS_KEY) || "{}");
        tokens[pack.id] = pack.edit_token;
        storeItem(TOKENS_KEY, JSON.stringify(tokens));
      } catch (e) { /* ignore */ }
      result.textContent = M.packCreated + " ";
      const a = el("a", "scout-pack-link", pack.share_url);
      a.href = pack.share_url;
      result.appendChild(a);
    }).catch((err) => { result.textContent = ctx.failure(err); });
  });

  return { draft: () => draft, inDraft: (id) => inDraft(draft, id), toggle, render, rememberNames };
}
