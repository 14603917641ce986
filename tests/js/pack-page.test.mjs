// The pack page editor's state operations (static/js/pack/page.js): pure, so no browser and no storage.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../static/js/map/api.js";
import { added, editTokenFor, editorState, failureText, inputProblems, patchBody, removed } from "../../static/js/pack/page.js";

const M = { needName: "NAME", needSite: "SITES", badNote: "NOTE", badDescription: "DESC", badDate: "DATE",
  offline: "OFFLINE", forbidden: "FORBIDDEN", gone: "GONE", conflict: "CONFLICT", tooMany: "SLOW",
  failed: "FAILED {status}" };

const feature = (id, note) => ({ id, properties: { name_zh: "点" + id, name_en: "Site " + id, pack_note: note } });
const pack = { version: 3, name: "外景", description: null, shoot_date: "2026-05-01",
  sites: [feature(4, "日出"), feature(9, null)] };

test("the edit token is this pack's, from what the map page stored; anything else gives none", () => {
  assert.equal(editTokenFor('{"abc": "tok1", "def": "tok2"}', "def"), "tok2");
  assert.equal(editTokenFor('{"abc": "tok1"}', "def"), null, "another pack's token does not open this one");
  assert.equal(editTokenFor(null, "abc"), null);
  assert.equal(editTokenFor("{broken", "abc"), null);
  assert.equal(editTokenFor('{"abc": 5}', "abc"), null, "only a text is a token");
});

test("the editor starts from the stored pack: order, names, notes and version", () => {
  const state = editorState(pack);
  assert.equal(state.version, 3);
  assert.deepEqual(state.items.map((i) => [i.id, i.note]), [[4, "日出"], [9, ""]]);
  assert.equal(state.description, "", "no description edits as an empty text");
  assert.equal(state.items[1].name_en, "Site 9");
});

test("adding appends once; removing drops the site; the old state is not changed", () => {
  const state = editorState(pack);
  const more = added(state, feature(7));
  assert.deepEqual(more.items.map((i) => i.id), [4, 9, 7]);
  assert.equal(added(more, feature(7)), more, "a site already in the pack is not added twice");
  assert.deepEqual(removed(more, 9).items.map((i) => i.id), [4, 7]);
  assert.deepEqual(state.items.map((i) => i.id), [4, 9]);
});

test("the PATCH body: trimmed texts, empty notes left out, cleared fields sent as null, sites in order", () => {
  const state = { ...editorState(pack), name: "  新名  ", description: "  ", shoot_date: "" };
  state.items[0].note = "  黄昏 ";
  state.items[1].note = "   ";
  assert.deepEqual(patchBody(state), { name: "新名", description: null, shoot_date: null, site_ids: [4, 9],
    notes: { 4: "黄昏" } });
});

test("an empty name, no sites and an over-long note are caught before sending, each at its field", () => {
  assert.deepEqual(inputProblems(editorState(pack), M), {});
  const bad = { ...editorState(pack), name: "  ", items: [] };
  assert.deepEqual(inputProblems(bad, M), { name: "NAME", site_ids: "SITES" });
  const long = editorState(pack);
  long.items[0].note = "x".repeat(2001);
  assert.deepEqual(inputProblems(long, M), { notes: "NOTE" });
});

test("a failed save is told as a sentence, never the API's field name or English detail", () => {
  const problem = (name) => ({ detail: name + ": must be a date", "invalid-params": [{ name, reason: "must be a date" }] });
  assert.deepEqual(failureText(new ApiError(400, problem("shoot_date")), M), { field: "shoot_date", text: "DATE" });
  assert.deepEqual(failureText(new ApiError(412, {}), M), { field: null, text: "CONFLICT" });
  assert.deepEqual(failureText(new ApiError(403, {}), M), { field: null, text: "FORBIDDEN" });
  assert.deepEqual(failureText(new ApiError(0, {}), M), { field: null, text: "OFFLINE" });
  assert.deepEqual(failureText(new ApiError(400, problem("expires_on")), M), { field: null, text: "FAILED 400" });
  assert.deepEqual(failureText(new ApiError(500, {}), M), { field: null, text: "FAILED 500" });
});
