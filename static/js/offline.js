/* Offline use: registers the service worker (/sw.js), saves a pack for offline on its page, lists and removes
 * saved packs.  A saved pack is one cache, "scout-pack-<id>", holding its page, print view, data, photos and
 * basemap tiles, plus a small record (OFFLINE_RECORD) of its name, size and date; removing it deletes that cache.
 * Loaded as a plain script by the map, pack and offline-packs pages; user strings are set as text, never HTML. */
(function () {
  "use strict";

  var PACK_PREFIX = "scout-pack-";
  var OFFLINE_RECORD = "/offline/record.json";  // a key inside each pack's cache, never fetched from the server
  var PARALLEL = 6;  // downloads at a time: quick on 4G, gentle on the tile server

  var script = document.currentScript;
  var state = { registered: false, saving: false, lastSave: null };
  window.WenchengOffline = { state: state };

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key] === undefined ? "" : values[key]; });
  }

  function megabytes(bytes) {
    return bytes ? Math.max(bytes / 1048576, 0.1).toFixed(1) : "0.0";
  }

  function register() {
    if (!("serviceWorker" in navigator) || !script || !script.dataset.sw) return;
    var hadController = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.register(script.dataset.sw, { scope: script.dataset.scope || "/" }).then(function () {
      state.registered = true;
    }).catch(function (err) { console.warn("service worker not registered:", err); });
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (hadController) return;
      hadController = true;
      // This visit's page and data came before the worker: ask it to keep them for the next visit offline.
      var urls = [location.href].concat(performance.getEntriesByType("resource").map(function (e) { return e.name; }));
      navigator.serviceWorker.controller.postMessage({ type: "keep", urls: urls });
    });
  }

  function savedPacks() {
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf(PACK_PREFIX) === 0; }).map(function (name) {
        return caches.open(name).then(function (cache) { return cache.match(OFFLINE_RECORD); }).then(function (r) {
          return r ? r.json() : null;
        });
      }));
    }).then(function (records) { return records.filter(Boolean); });
  }

  function savedPack(id) {
    return caches.open(PACK_PREFIX + id).then(function (cache) { return cache.match(OFFLINE_RECORD); })
      .then(function (r) { return r ? r.json() : null; });
  }

  function removePack(id) {
    return caches.delete(PACK_PREFIX + id);
  }

  /* Fetch every URL into the pack's cache, a few at a time; any failure removes the half-saved copy. */
  function savePack(planUrl, lang, progress) {
    var plan, cacheName, cache, bytes = 0, done = 0;
    return fetch(planUrl, { credentials: "omit", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(planUrl + " " + r.status);
      return r.json();
    }).then(function (p) {
      plan = p;
      cacheName = PACK_PREFIX + plan.id;
      return caches.delete(cacheName).then(function () { return caches.open(cacheName); });
    }).then(function (c) {
      cache = c;
      // Pages in the page's language, and always as anyone sees them (no cookie): a pack is public to its link.
      var jobs = plan.urls.map(function (url) {
        return { url: url, init: { credentials: "omit", headers: { "Accept-Language": lang } } };
      }).concat(plan.tiles.map(function (url) { return { url: url, init: { credentials: "omit", mode: "cors" } }; }));
      var next = 0;
      function worker() {
        if (next >= jobs.length) return Promise.resolve();
        var job = jobs[next++];
        return fetch(job.url, job.init).then(function (response) {
          if (!response.ok) throw new Error(job.url + " " + response.status);
          return response.clone().blob().then(function (blob) {
            bytes += blob.size;
            return cache.put(job.url, response);
          });
        }).then(function () {
          done += 1;
          progress(done, jobs.length);
          return worker();
        });
      }
      var workers = [];
      for (var i = 0; i < Math.min(PARALLEL, jobs.length); i++) workers.push(worker());
      return Promise.all(workers).then(function () {
        var record = { id: plan.id, name: plan.name, page: plan.page, bytes: bytes, tiles: plan.tiles.length,
                       zooms: plan.zooms, saved_at: new Date().toISOString() };
        state.lastSave = record;
        return cache.put(OFFLINE_RECORD, new Response(JSON.stringify(record),
                                                      { headers: { "Content-Type": "application/json" } }))
          .then(function () { return record; });
      });
    }).catch(function (err) {
      return (cacheName ? caches.delete(cacheName) : Promise.resolve()).then(function () { throw err; });
    });
  }

  /* The pack page: the estimate is on the page already (server-side); this saves, shows progress, and removes. */
  function mountPackPage(section) {
    var m = JSON.parse(section.dataset.messages);
    var id = section.dataset.pack;
    var save = section.querySelector("#pack-offline-save");
    var remove = section.querySelector("#pack-offline-remove");
    var status = section.querySelector("#pack-offline-status");
    var bar = section.querySelector("#pack-offline-progress");
    function show(record) {
      save.textContent = record ? m.update : m.save;
      remove.hidden = !record;
      status.textContent = record ? format(m.saved, { date: record.saved_at.slice(0, 10), mb: megabytes(record.bytes) }) : "";
      section.dataset.saved = record ? "true" : "false";
    }
    if (!("caches" in window)) {
      save.disabled = true;
      status.textContent = m.unsupported;
      return;
    }
    savedPack(id).then(show);
    save.addEventListener("click", function () {
      if (state.saving) return;
      state.saving = true;
      save.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      status.textContent = m.saving_start;
      savePack(section.dataset.plan, section.dataset.lang, function (done, total) {
        bar.max = total;
        bar.value = done;
        status.textContent = format(m.saving, { done: done, total: total });
      }).then(show, function (err) {
        console.warn("saving for offline failed:", err);
        status.textContent = m.failed;
      }).then(function () {
        state.saving = false;
        save.disabled = false;
        bar.hidden = true;
      });
    });
    remove.addEventListener("click", function () {
      removePack(id).then(function () {
        show(null);
        status.textContent = m.removed;
      });
    });
  }

  /* The offline packs page: every saved pack with its size and date, each removable. */
  function mountList(section) {
    var m = JSON.parse(section.dataset.messages);
    var list = section.querySelector("#offline-pack-list");
    var empty = section.querySelector("#offline-empty");
    function render() {
      if (!("caches" in window)) {
        empty.textContent = m.unsupported;
        empty.hidden = false;
        return Promise.resolve();
      }
      return savedPacks().then(function (records) {
        list.textContent = "";
        empty.hidden = records.length > 0;
        records.sort(function (a, b) { return a.name.localeCompare(b.name); });
        records.forEach(function (record) {
          var li = document.createElement("li");
          li.className = "offline-pack";
          li.dataset.pack = record.id;
          var link = document.createElement("a");
          link.href = record.page;
          link.textContent = record.name;
          var facts = document.createElement("span");
          facts.textContent = " " + format(m.facts, { date: record.saved_at.slice(0, 10), mb: megabytes(record.bytes),
                                                       tiles: record.tiles });
          var button = document.createElement("button");
          button.type = "button";
          button.className = "offline-remove";
          button.textContent = m.remove;
          button.addEventListener("click", function () { removePack(record.id).then(render); });
          li.append(link, facts, " ", button);
          list.appendChild(li);
        });
        section.dataset.ready = "true";
      });
    }
    render();
  }

  register();
  document.addEventListener("DOMContentLoaded", function () {
    var packSection = document.getElementById("pack-offline");
    if (packSection) mountPackPage(packSection);
    var listSection = document.getElementById("offline-packs");
    if (listSection) mountList(listSection);
  });
  window.WenchengOffline.savedPacks = savedPacks;
})();
