// The pack draft's operations (static/js/map/pack.js): pure, so no browser and no storage.
import assert from "node:assert/strict";
import { test } from "node:test";

import { emptyDraft, inDraft, moved, packBody, parseDraft, toggled } from "../../static/js/map/pack.js";

test("a stored draft is read back; anything unreadable gives an empty draft", () => {
  assert.deepEqual(parseDraft('{"items": [{"id": 3, "note": "dawn"}], "name": "A"}'), { items: [{ id: 3, note: "dawn" }], name: "A" });
  assert.deepEqual(parseDraft(null), emptyDraft());
  assert.deepEqual(parseDraft("{not json"), emptyDraft());
  assert.deepEqual(parseDraft('{"items": 5}'), emptyDraft());
});

test("toggling adds a site at the end, and removes it the second time", () => {
  let draft = toggled(toggled(emptyDraft(), 4), 9);
  assert.deepEqual(draft.items.map((i) => i.id), [4, 9]);
  assert.ok(inDraft(draft, 9));
  draft = toggled(draft, 4);
  assert.deepEqual(draft.items.map((i) => i.id), [9]);
  assert.ok(!inDraft(draft, 4));
});

test("moving swaps with the neighbour and does nothing past either end", () => {
  const draft = [1, 2, 3].reduce((d, id) => toggled(d, id), emptyDraft());
  assert.deepEqual(moved(draft, 2, -1).items.map((i) => i.id), [1, 3, 2]);
  assert.deepEqual(moved(draft, 0, 1).items.map((i) => i.id), [2, 1, 3]);
  assert.equal(moved(draft, 0, -1), draft, "the first cannot move up");
  assert.equal(moved(draft, 2, 1), draft, "the last cannot move down");
  assert.deepEqual(draft.items.map((i) => i.id), [1, 2, 3], "the old draft is not changed");
});

test("the request body: trimmed name and notes, empty notes and dates left out, sites in draft order", () => {
  const draft = { name: "  外景一  ", items: [{ id: 5, note: " 日出 " }, { id: 2, note: "  " }, { id: 8, note: "" }],
    shoot_date: "2026-05-01" };
  assert.deepEqual(packBody(draft), { name: "外景一", site_ids: [5, 2, 8], notes: { 5: "日出" }, shoot_date: "2026-05-01" });
});
