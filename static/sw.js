/* Wencheng Scout's service worker, served as /sw.js (scope: the whole site) with SCOUT_OFFLINE prepended:
 *   version        changes with every shell file and with this file: a new deployment installs a new shell
 *   shell          the static files of the map and pack pages
 *   pages          paths of pages kept for offline use (the map, the offline packs list)
 *   pagePrefix     and the pack pages under this prefix (a pack's page and its print view)
 *   api            the JSON API's prefix
 *   tileOrigin     the offline basemap's origin (saved packs' tiles), or null
 *   audienceHeader the answer's audience: "public" (made for anyone) or "private" (for a signed-in user)
 *
 * Strategies:
 *   shell files          cache first (they are versioned as a whole)
 *   map/pack pages, API  network first; the answer is kept (public or private cache by its audience) and only
 *                        used when the network fails.  Online, every read comes from the server: never stale.
 *   saved packs' tiles   from the pack's cache, else the network
 *   everything else      not touched (other sites' tiles, writes, exports, staff pages)
 * Saved packs (caches "scout-pack-<id>") are written by static/js/offline.js on the pack page; this worker only
 * reads them.  A public answer to a page means nobody is signed in here any more: the private cache goes.
 */
/* global SCOUT_OFFLINE */
"use strict";

var SHELL_CACHE = "scout-shell-" + SCOUT_OFFLINE.version;
var PUBLIC_CACHE = "scout-public";
var PRIVATE_CACHE = "scout-private";
var PACK_PREFIX = "scout-pack-";
var KEEP_ANSWERS = 300;  // per data cache: the oldest go first (filters make many distinct API URLs)
var SHELL_PATHS = new Set(SCOUT_OFFLINE.shell);

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    // "reload": straight from the server, not from the HTTP cache of an older deployment.
    return cache.addAll(SCOUT_OFFLINE.shell.map(function (url) { return new Request(url, { cache: "reload" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("scout-shell-") === 0 && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isKeptPage(url) {
  return SCOUT_OFFLINE.pages.indexOf(url.pathname) >= 0 || url.pathname.indexOf(SCOUT_OFFLINE.pagePrefix) === 0;
}

function isKeptRead(url) {
  // Exports are files to download, and photo originals large staff-only files: neither is data a page reads.
  return url.pathname.indexOf(SCOUT_OFFLINE.api) === 0 && !/\/(export|original)$/.test(url.pathname);
}

function trim(cache) {
  return cache.keys().then(function (keys) {
    return Promise.all(keys.slice(0, Math.max(0, keys.length - KEEP_ANSWERS)).map(function (k) { return cache.delete(k); }));
  });
}

/* Keep a successful answer in the cache its audience allows; an answer with no audience is not kept. */
function keep(request, response, isPage) {
  var audience = response.headers.get(SCOUT_OFFLINE.audienceHeader);
  if (!response.ok || response.type !== "basic" || (audience !== "public" && audience !== "private")) {
    return Promise.resolve();
  }
  var forget = audience === "public" && isPage ? caches.delete(PRIVATE_CACHE) : Promise.resolve();
  return forget.then(function () {
    return caches.open(audience === "public" ? PUBLIC_CACHE : PRIVATE_CACHE);
  }).then(function (cache) {
    return cache.put(request, response).then(function () { return trim(cache); });
  });
}

/* From any cache (saved packs, public and private answers, the shell).  Answers vary on Cookie: a saved pack
 * was fetched without one, so Vary is ignored (what is in the caches is only ever this browser's own). */
function fromCache(request) {
  return caches.match(request, { ignoreVary: true });
}

function networkFirst(event, isPage) {
  var request = event.request;
  return fetch(request).then(function (response) {
    event.waitUntil(keep(request, response.clone(), isPage));
    return response;
  }, function (error) {
    return fromCache(request).then(function (cached) {
      // The map page reads its filters from the query string itself: any kept copy of it serves every query.
      return cached || (isPage ? caches.match(request, { ignoreVary: true, ignoreSearch: true }) : null);
    }).then(function (cached) {
      if (cached) return cached;
      throw error;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin === self.location.origin) {
    if (SHELL_PATHS.has(url.pathname)) {
      event.respondWith(caches.match(request, { cacheName: SHELL_CACHE }).then(function (hit) {
        return hit || fetch(request);
      }));
    } else if (request.mode === "navigate" ? isKeptPage(url) : isKeptRead(url)) {
      event.respondWith(networkFirst(event, request.mode === "navigate"));
    } else if (url.pathname.indexOf("/photos/") === 0) {
      // Public photo copies: a saved pack has them; otherwise the server.
      event.respondWith(fromCache(request).then(function (hit) { return hit || fetch(request); }));
    }
  } else if (SCOUT_OFFLINE.tileOrigin && url.origin === SCOUT_OFFLINE.tileOrigin) {
    event.respondWith(fromCache(request).then(function (hit) { return hit || fetch(request); }));
  }
});

/* The page asks to keep what it loaded before this worker controlled it (its first visit). */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep" || !Array.isArray(data.urls)) return;
  event.waitUntil(Promise.all(data.urls.map(function (href) {
    var url = new URL(href, self.location.origin);
    if (url.origin !== self.location.origin || !(isKeptPage(url) || isKeptRead(url))) return null;
    return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
      return keep(url.href, response, false);
    }).catch(function () { return null; });
  })));
});
