/* The field page's queue of captures, in IndexedDB ("scout-field", store "captures"): each entry survives reloads
 * and restarts until it is on the server.  An entry is a plain object:
 *   id          its key, made here (crypto.randomUUID)
 *   user        the planner who made it (the page shows and sends only the signed-in planner's entries)
 *   kind        "new" or "correction"
 *   siteId      the site (a correction; a new site's once it is created)
 *   baseVersion the version the correction started from (its If-Match)
 *   feature     the GeoJSON Feature to send (a new site's slug is made once, here: a retry finds it, see field.py)
 *   checks      {facility: verified_present | verified_absent}
 *   photos      Blobs not yet uploaded (each removed once the server has it)
 *   state       "pending", "conflict" (with `current`, the server's site) or "refused" (with `reason`)
 * Loaded as a plain script; exposes window.WenchengFieldQueue. */
(function () {
  "use strict";

  var DB_NAME = "scout-field";
  var STORE = "captures";
  var opened = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function db() {
    if (!opened) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id" }); };
      opened = request(req);
    }
    return opened;
  }

  function store(mode) {
    return db().then(function (handle) { return handle.transaction(STORE, mode).objectStore(STORE); });
  }

  function put(entry) {
    return store("readwrite").then(function (s) { return request(s.put(entry)); }).then(function () { return entry; });
  }

  function all(user) {
    return store("readonly").then(function (s) { return request(s.getAll()); }).then(function (entries) {
      return entries.filter(function (e) { return e.user === user; })
        .sort(function (a, b) { return a.createdAt < b.createdAt ? -1 : 1; });
    });
  }

  function remove(id) {
    return store("readwrite").then(function (s) { return request(s.delete(id)); });
  }

  function add(fields) {
    var entry = Object.assign({ id: crypto.randomUUID(), createdAt: new Date().toISOString(), state: "pending",
                                photos: [], checks: {} }, fields);
    return put(entry);
  }

  window.WenchengFieldQueue = { add: add, put: put, all: all, remove: remove };
})();
