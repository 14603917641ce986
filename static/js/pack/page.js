/* The shared pack page: copy buttons for coordinates and the share link, and the owner's editor.
 *
 * Whoever made the pack in this browser holds its edit token (localStorage, kept by static/js/map/pack.js when the
 * share link was created); for them the page offers an editor: name, description, shooting date, the sites' order
 * and notes, removing and adding sites.  It saves with PATCH /api/packs/<token> (header X-Edit-Token) and If-Match
 * on the version it started from, so a change made elsewhere meanwhile is told, not overwritten; nothing typed is
 * lost on any failure.  The state operations are pure (tests/js/pack-page.test.mjs); the rest draws and wires them.
 */
import { ApiError } from "../map/api.js";
import { el } from "../map/dom.js";
import { format } from "../map/format.js";
import { TOKENS_KEY, moved } from "../map/pack.js";

const MAX_NAME = 200;
const MAX_SITES = 200;
const MAX_NOTE = 2000;
const MAX_DESCRIPTION = 5000;

// The edit token this browser holds for the pack, or null.  Pure.
export function editTokenFor(storedJson, packId) {
  try {
    const tokens = JSON.parse(storedJson || "{}");
    return tokens && typeof tokens[packId] === "string" ? tokens[packId] : null;
  } catch (e) {
    return null;
  }
}

// The editor's state from GET /api/packs/<token>.  Pure.
export function editorState(pack) {
  return {
    version: pack.version,
    name: pack.name || "",
    description: pack.description || "",
    shoot_date: pack.shoot_date || "",
    items: (pack.sites || []).map((f) => ({
      id: f.id, name_zh: f.properties.name_zh, name_en: f.properties.name_en, note: f.properties.pack_note || "",
    })),
  };
}

export function removed(state, id) {
  return { ...state, items: state.items.filter((i) => i.id !== id) };
}

// The site appended (a GeoJSON feature from /api/sites); unchanged when it is in the pack already.
export function added(state, feature) {
  if (state.items.some((i) => i.id === feature.id)) return state;
  const p = feature.properties;
  return { ...state, items: [...state.items, { id: feature.id, name_zh: p.name_zh, name_en: p.name_en, note: "" }] };
}

// The PATCH body: the whole editable pack, trimmed; empty notes, description and date sent as cleared.
export function patchBody(state) {
  const notes = {};
  state.items.forEach((i) => { if (i.note.trim()) notes[i.id] = i.note.trim(); });
  return {
    name: state.name.trim(),
    description: state.description.trim() || null,
    shoot_date: state.shoot_date || null,
    site_ids: state.items.map((i) => i.id),
    notes,
  };
}

// What is wrong before anything is sent, as {field: message} in the page's language (empty when nothing).  Pure.
export function inputProblems(state, M) {
  const problems = {};
  const name = state.name.trim();
  if (!name || name.length > MAX_NAME) problems.name = M.needName;
  if (!state.items.length || state.items.length > MAX_SITES) problems.site_ids = M.needSite;
  if (state.items.some((i) => i.note.length > MAX_NOTE)) problems.notes = M.badNote;
  if (state.description.length > MAX_DESCRIPTION) problems.description = M.badDescription;
  return problems;
}

const FIELD_MESSAGES = { name: "needName", site_ids: "needSite", notes: "badNote", description: "badDescription",
  shoot_date: "badDate" };

// A failed save told in the page's language, as {field, text}: field is the form field it belongs to, or null.
// The API's problem details name the field for programs; a person reads the sentence.  Pure.
export function failureText(err, M) {
  const status = err && err.status;
  if (status === 400) {
    const param = ((err.problem && err.problem["invalid-params"]) || [])[0];
    const key = param && FIELD_MESSAGES[param.name];
    if (key) return { field: param.name, text: M[key] };
  }
  const by = { 0: M.offline, 403: M.forbidden, 404: M.gone, 410: M.gone, 412: M.conflict, 429: M.tooMany };
  if (status in by) return { field: null, text: by[status] };
  return { field: null, text: format(M.failed, { status: status || "?" }) };
}

async function send(url, options) {
  let r;
  try {
    r = await fetch(url, options);
  } catch (e) {
    throw new ApiError(0, {});
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

// Without the clipboard API (a plain-http address other than localhost) or its permission, the value beside the
// button is selected instead, ready for the phone's own "copy".
function selectBeside(button) {
  const code = button.parentElement.querySelector("code");
  if (!code) return;
  const range = document.createRange();
  range.selectNodeContents(code);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

function wireCopyButtons(M) {
  document.querySelectorAll("button.pack-copy[data-copy]").forEach((button) => {
    const label = button.textContent;
    button.addEventListener("click", () => {
      if (!navigator.clipboard) { selectBeside(button); return; }
      // Without a public address the share link is a path: the copy is the address this page was opened at.
      const value = button.getAttribute("data-copy");
      const text = value.startsWith("/") ? new URL(value, window.location.href).href : value;
      navigator.clipboard.writeText(text).then(() => {
        button.textContent = M.copied;
        button.setAttribute("data-copied", "true");
        setTimeout(() => { button.textContent = label; }, 1500);
      }, () => selectBeside(button));
    });
  });
}

function field(labelText, input, id) {
  const label = el("label", "pack-edit-field");
  label.appendChild(el("span", null, labelText));
  input.id = id;
  label.appendChild(input);
  const error = el("span", "pack-edit-error");
  error.id = id + "-error";
  error.hidden = true;
  label.appendChild(error);
  return label;
}

function createEditor(section, token, M) {
  const packApi = section.getAttribute("data-api");
  const sitesApi = section.getAttribute("data-sites-api");
  const zh = section.getAttribute("data-lang") === "zh";
  const siteName = (i) => (zh ? i.name_zh : i.name_en || i.name_zh);
  let state = null;
  let theirs = null;  // the version someone else saved meanwhile, once a save was refused as stale

  const form = el("form", "pack-edit-form");
  form.noValidate = true;
  const nameInput = el("input");
  nameInput.type = "text";
  nameInput.maxLength = MAX_NAME;
  const description = el("textarea");
  description.rows = 2;
  const shootDate = el("input");
  shootDate.type = "date";
  const list = el("ol", "pack-edit-items");
  list.id = "pack-edit-items";
  const sitesError = el("p", "pack-edit-error");
  sitesError.id = "pack-edit-site_ids-error";
  sitesError.hidden = true;
  const search = el("input");
  search.type = "search";
  search.placeholder = M.searchSites;
  const found = el("ul", "pack-edit-found");
  found.id = "pack-edit-found";
  const status = el("p", "pack-edit-status");
  status.id = "pack-edit-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const save = el("button", null, M.save);
  save.type = "submit";
  save.id = "pack-edit-save";
  const overwrite = el("button", null, M.overwrite);
  overwrite.type = "button";
  overwrite.id = "pack-edit-overwrite";
  overwrite.hidden = true;
  const cancel = el("button", null, M.cancel);
  cancel.type = "button";
  cancel.id = "pack-edit-cancel";

  form.appendChild(field(M.name, nameInput, "pack-edit-name"));
  form.appendChild(field(M.description, description, "pack-edit-description"));
  form.appendChild(field(M.shootDate, shootDate, "pack-edit-shoot_date"));
  form.appendChild(list);
  form.appendChild(sitesError);
  const notesError = el("p", "pack-edit-error");
  notesError.id = "pack-edit-notes-error";
  notesError.hidden = true;
  form.appendChild(notesError);
  form.appendChild(field(M.addSite, search, "pack-edit-search"));
  form.appendChild(found);
  const buttons = el("p", "scout-buttons pack-edit-buttons");
  [save, overwrite, cancel].forEach((b) => buttons.appendChild(b));
  form.appendChild(buttons);
  form.appendChild(status);
  section.appendChild(form);

  nameInput.addEventListener("input", () => { state.name = nameInput.value; });
  description.addEventListener("input", () => { state.description = description.value; });
  shootDate.addEventListener("input", () => { state.shoot_date = shootDate.value; });

  function renderItems() {
    list.textContent = "";
    state.items.forEach((item, index) => {
      const li = el("li", "pack-edit-item");
      li.setAttribute("data-site-id", item.id);
      const name = siteName(item);
      li.appendChild(el("span", "pack-edit-name", name));
      const note = el("textarea", "pack-edit-note");
      note.rows = 2;
      note.maxLength = MAX_NOTE;
      note.placeholder = M.note;
      note.setAttribute("aria-label", M.note + (zh ? "：" : ": ") + name);
      note.value = item.note;
      note.addEventListener("input", () => { item.note = note.value; });  // no redraw: the focus stays
      li.appendChild(note);
      const tools = el("span", "pack-edit-tools");
      [[M.moveUp, "↑", -1, "up"], [M.moveDown, "↓", 1, "down"]].forEach(([title, arrow, delta, kind]) => {
        const b = el("button", "pack-edit-" + kind, arrow);
        b.type = "button";
        b.title = title;
        b.setAttribute("aria-label", title + (zh ? "：" : ": ") + name);
        b.disabled = moved(state, index, delta) === state;
        b.addEventListener("click", () => {
          state = moved(state, index, delta);
          renderItems();
          // The keyboard stays with the moved site.
          const again = list.querySelector('[data-site-id="' + item.id + '"] .pack-edit-' + kind);
          if (again && !again.disabled) again.focus();
        });
        tools.appendChild(b);
      });
      const remove = el("button", "pack-edit-remove", "×");
      remove.type = "button";
      remove.title = M.remove;
      remove.setAttribute("aria-label", M.remove + (zh ? "：" : ": ") + name);
      remove.addEventListener("click", () => { state = removed(state, item.id); renderItems(); });
      tools.appendChild(remove);
      li.appendChild(tools);
      list.appendChild(li);
    });
  }

  // Enter in the search box looks for sites; it does not save the pack.
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
  let searchSeq = 0;
  search.addEventListener("input", () => {
    const q = search.value.trim();
    const mine = ++searchSeq;
    if (!q) { found.textContent = ""; return; }
    send(sitesApi + "?limit=10&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
      .then((page) => {
        if (mine !== searchSeq) return;  // a later keystroke asked again
        found.textContent = "";
        if (!page.features.length) found.appendChild(el("li", "pack-edit-none", format(M.noMatch, { q })));
        page.features.forEach((f) => {
          const li = el("li");
          li.setAttribute("data-site-id", f.id);
          const inPack = state.items.some((i) => i.id === f.id);
          const b = el("button", "pack-edit-add", (inPack ? M.inPack : M.add) + (zh ? "：" : ": ") +
            siteName(f.properties));
          b.type = "button";
          b.disabled = inPack;
          b.addEventListener("click", () => {
            state = added(state, f);
            renderItems();
            b.disabled = true;
            b.textContent = M.inPack + (zh ? "：" : ": ") + siteName(f.properties);
          });
          li.appendChild(b);
          found.appendChild(li);
        });
      })
      .catch((err) => { if (mine === searchSeq) status.textContent = failureText(err, M).text; });
  });

  function showProblems(problems) {
    form.querySelectorAll(".pack-edit-error").forEach((n) => { n.hidden = true; n.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    Object.keys(problems).forEach((name) => {
      const box = document.getElementById("pack-edit-" + name + "-error");
      if (box) { box.textContent = problems[name]; box.hidden = false; }
      const input = document.getElementById("pack-edit-" + name);
      if (input) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", box.id); }
    });
  }

  function submit(version) {
    const problems = inputProblems(state, M);
    showProblems(problems);
    if (Object.keys(problems).length) { status.textContent = ""; return; }
    status.textContent = M.saving;
    section.removeAttribute("data-failed");
    save.disabled = true;
    send(packApi, { method: "PATCH", body: JSON.stringify(patchBody(state)), headers: {
      "Content-Type": "application/json", Accept: "application/json", "X-Edit-Token": token,
      "If-Match": '"' + version + '"' } })
      .then(() => { window.location.reload(); })  // the page shows the saved pack, drawn by the server
      .catch((err) => {
        const told = failureText(err, M);
        status.textContent = told.text;
        section.setAttribute("data-failed", String(err.status));
        if (told.field) showProblems({ [told.field]: told.text });
        // A stale edit: the stored version is in the 412's body; saving on it (knowingly) replaces theirs.
        const current = err.status === 412 && err.problem && err.problem.current;
        if (current) {
          theirs = current.version;
          overwrite.hidden = false;
        }
      })
      .then(() => { save.disabled = false; });
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); submit(state.version); });
  overwrite.addEventListener("click", () => submit(theirs));
  cancel.addEventListener("click", () => window.location.reload());

  return function open() {
    section.hidden = false;
    status.textContent = M.loading;
    send(packApi, { headers: { Accept: "application/json" }, cache: "no-store" }).then((pack) => {
      state = editorState(pack);
      nameInput.value = state.name;
      description.value = state.description;
      shootDate.value = state.shoot_date;
      renderItems();
      status.textContent = "";
      section.setAttribute("data-ready", "true");
      nameInput.focus();
    }).catch((err) => { status.textContent = failureText(err, M).text; });
  };
}

function main() {
  const section = document.getElementById("pack-editor");
  if (!section) return;
  const M = JSON.parse(section.getAttribute("data-messages"));
  wireCopyButtons(M);
  let stored = null;
  try { stored = window.localStorage.getItem(TOKENS_KEY); } catch (e) { /* storage blocked: no editor */ }
  const token = editTokenFor(stored, section.getAttribute("data-pack"));
  if (!token) return;
  const open = createEditor(section, token, M);
  const button = document.getElementById("pack-edit-open");
  button.hidden = false;
  button.addEventListener("click", () => { button.hidden = true; open(); });
}

if (typeof document !== "undefined") main();
