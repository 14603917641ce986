/* The field page: "I am here" (the device's position with its reported accuracy), a new site or a correction of
 * a nearby one, a facility checklist and photos; each capture goes into the queue (queue.js) and is sent when
 * there is a connection, each as its own write: POST for a new site, PATCH with If-Match for a correction.
 * A correction the server refuses as stale (412) waits in a resolve view, yours and the server's side by side.
 * User strings are set as text, never as HTML. */
(function () {
  "use strict";

  var GOOD_ACCURACY_M = 20;   // a fix this good is offered as good; a worse one may still be used, said so
  var WAIT_SECONDS = 45;      // after this, the best fix so far is offered with a note that no better one came
  var NEARBY = 6;             // sites offered for a correction, nearest first
  var Q = window.WenchengFieldQueue;
  var root = document.getElementById("field");
  if (!root || !Q) return;
  var M = JSON.parse(root.dataset.messages);
  var user = root.dataset.user;
  var state = { fix: null, best: null, sites: [], target: null, syncing: false, synced: [], ready: false };
  window.WenchengField = { state: state };
  var watchId = null, waitTimer = null;

  function $(id) { return document.getElementById(id); }
  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key] === undefined ? "" : values[key]; });
  }
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function metres(accuracy) { return Math.ceil(accuracy); }  // a stated accuracy is an upper bound

  // ------------------------------------------------------------------ position

  function showFix(pos) {
    var best = state.best;
    if (!best || pos.coords.accuracy <= best.accuracy) {
      state.best = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy };
    }
    var m = metres(pos.coords.accuracy);
    $("field-accuracy").textContent = format(M.accuracy, { m: m });
    $("field-use-fix").disabled = false;
    if (state.best.accuracy <= GOOD_ACCURACY_M) $("field-fix-note").textContent = M.good;
    else if (!waitTimer) $("field-fix-note").textContent = format(M.timeout, { s: WAIT_SECONDS, m: metres(state.best.accuracy) });
    else $("field-fix-note").textContent = format(M.poor, { m: metres(state.best.accuracy) });
  }

  function startFix() {
    if (!navigator.geolocation) { $("field-fix-note").textContent = M.unsupported; return; }
    stopFix();
    state.best = null;
    $("field-accuracy").textContent = M.waiting;
    $("field-fix-note").textContent = "";
    $("field-use-fix").disabled = true;
    waitTimer = setTimeout(function () {
      waitTimer = null;
      if (state.best && state.best.accuracy > GOOD_ACCURACY_M) {
        $("field-fix-note").textContent = format(M.timeout, { s: WAIT_SECONDS, m: metres(state.best.accuracy) });
      }
    }, WAIT_SECONDS * 1000);
    watchId = navigator.geolocation.watchPosition(showFix, function (err) {
      if (err.code === err.PERMISSION_DENIED) $("field-fix-note").textContent = M.denied;
    }, { enableHighAccuracy: true, maximumAge: 0, timeout: WAIT_SECONDS * 1000 });
  }

  function stopFix() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    if (waitTimer) clearTimeout(waitTimer);
    watchId = null;
    waitTimer = null;
  }

  function useFix() {
    if (!state.best) return;
    stopFix();
    state.fix = state.best;
    $("field-fix").textContent = format(M.fix, { lat: state.fix.lat.toFixed(6), lon: state.fix.lon.toFixed(6),
                                                  m: metres(state.fix.accuracy) });
    if (state.verifying) {  // opened from a site's panel ("Verify on site"): straight to its correction
      openForm(state.verifying);
      return;
    }
    listNearby();
    $("field-what").hidden = false;
  }

  /* ?site=<id>: the site to verify, from its detail panel on the map. */
  function siteFromAddress() {
    var id = Number(new URLSearchParams(location.search).get("site"));
    state.verifying = state.sites.filter(function (f) { return f.id === id; })[0] || null;
    if (state.verifying) $("field-verifying").textContent = format(M.verifying, { name: siteName(state.verifying.properties) });
  }

  // ------------------------------------------------------------------ nearby sites (for a correction)

  function distanceKm(a, lon, lat) {
    var rad = Math.PI / 180, dLat = (lat - a.lat) * rad, dLon = (lon - a.lon) * rad;
    var h = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(a.lat * rad) * Math.cos(lat * rad) * Math.pow(Math.sin(dLon / 2), 2);
    return 12742 * Math.asin(Math.sqrt(h));
  }

  function siteName(props) { return document.documentElement.lang === "en" ? props.name_en : props.name_zh; }

  function listNearby() {
    var list = $("field-nearby");
    list.textContent = "";
    state.sites.map(function (f) {
      return { feature: f, km: distanceKm(state.fix, f.geometry.coordinates[0], f.geometry.coordinates[1]) };
    }).sort(function (a, b) { return a.km - b.km; }).slice(0, NEARBY).forEach(function (item) {
      var button = el("button", format(M.nearby, { name: siteName(item.feature.properties), km: item.km.toFixed(1) }),
                      { type: "button", "data-site": item.feature.id });
      button.addEventListener("click", function () { openForm(item.feature); });
      var li = el("li");
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  function loadSites() {
    return fetch(root.dataset.sites, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : { features: [] };
    }).then(function (fc) { state.sites = fc.features || []; }, function () { state.sites = []; });
  }

  // ------------------------------------------------------------------ the capture form

  function openForm(feature) {
    var form = $("field-form");
    form.reset();
    state.target = feature || null;
    $("field-new-fields").hidden = !!feature;
    $("field-move").parentNode.hidden = !feature;
    $("field-move").checked = true;
    $("field-form-title").textContent = feature ? format(M.correction, { name: siteName(feature.properties) }) : M.new_site;
    form.elements.access_notes_zh.value = feature ? feature.properties.access_notes_zh || "" : "";
    $("field-form-error").textContent = "";
    form.hidden = false;
    form.scrollIntoView();
  }

  function slugFor(nameEn) {
    var base = nameEn.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48) || "site";
    var random = Array.from(crypto.getRandomValues(new Uint8Array(4)), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
    return base + "-" + random;
  }

  function checkedFacilities(form) {
    var checks = {};
    form.querySelectorAll("select[data-facility]").forEach(function (select) {
      if (select.value) checks[select.dataset.facility] = select.value;
    });
    return checks;
  }

  function capture(event) {
    event.preventDefault();
    var form = event.target, fix = state.fix, target = state.target;
    if (!fix) { $("field-form-error").textContent = M.need_fix; return; }
    var values = function (name) {
      return Array.from(form.querySelectorAll("input[name=" + name + "]:checked"), function (i) { return i.value; });
    };
    var text = function (name) { return form.elements[name].value.trim(); };
    var point = { type: "Point", coordinates: [fix.lon, fix.lat] };
    var gps = { coord_accuracy_m: metres(fix.accuracy), position_method: "gps" };
    var entry;
    if (!target) {
      if (!text("name_zh") || !text("name_en") || !values("genres").length) {
        $("field-form-error").textContent = M.required;
        return;
      }
      var props = Object.assign({ slug: slugFor(text("name_en")), name_zh: text("name_zh"), name_en: text("name_en"),
                                  genres: values("genres"), terrain: values("terrain") }, gps);
      ["description_zh", "access_notes_zh"].forEach(function (k) { if (text(k)) props[k] = text(k); });
      entry = { kind: "new", label: props.name_zh, feature: { type: "Feature", properties: props, geometry: point } };
    } else {
      var patch = {};
      if (text("access_notes_zh") !== (target.properties.access_notes_zh || "")) patch.access_notes_zh = text("access_notes_zh");
      var moved = $("field-move").checked;
      if (moved) Object.assign(patch, gps);
      entry = { kind: "correction", siteId: target.id, baseVersion: target.properties.version,
                label: siteName(target.properties),
                feature: { type: "Feature", properties: patch, geometry: moved ? point : null } };
    }
    entry.user = user;
    entry.checks = checkedFacilities(form);
    entry.photos = Array.from($("field-photos").files);
    if (target && !Object.keys(entry.feature.properties).length && !Object.keys(entry.checks).length &&
        !entry.photos.length) {
      $("field-form-error").textContent = M.nothing;
      return;
    }
    state.verifying = null;
    $("field-verifying").textContent = "";
    Q.add(entry).then(function () {
      form.hidden = true;
      $("field-what").hidden = true;
      $("field-online").textContent = M.queued;
      return render();
    }).then(sync);
  }

  // ------------------------------------------------------------------ sending

  /* A refusal in the page's language: the fields it names (their labels), else the HTTP status; the server's
   * own sentences are for programs (problem+json) and stay out of the page. */
  function problem(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      var fields = (body["invalid-params"] || []).map(function (p) {
        return M.labels[p.name] || (p.name === "checks" ? M.checks : M.position);
      });
      var reason = fields.length ? format(M.check_fields, { fields: fields.join(", ") }) : "HTTP " + response.status;
      return { status: response.status, body: body, reason: reason };
    });
  }

  function send(url, method, headers, body) {
    return fetch(url, { method: method, credentials: "same-origin", headers: headers, body: body });
  }

  function sendEntry(entry, csrf) {
    var json = { "Content-Type": "application/json", "X-CSRFToken": csrf };
    var body = Object.assign({}, entry.feature, { checks: entry.checks });
    var write;
    if (entry.kind === "new" && !entry.siteId) {
      write = send(root.dataset.createUrl, "POST", json, JSON.stringify(body));
    } else if (entry.kind === "correction" && !entry.written &&
               (Object.keys(entry.feature.properties).length || entry.feature.geometry || Object.keys(entry.checks).length)) {
      write = send(root.dataset.siteUrl.replace(/\/0$/, "/" + entry.siteId), "PATCH",
                   Object.assign({ "If-Match": '"' + entry.baseVersion + '"' }, json), JSON.stringify(body));
    } else {
      write = Promise.resolve(null);
    }
    return write.then(function (response) {
      if (response === null) return entry;
      if (response.status >= 500) throw new Error("server");  // not a refusal: sent again later, as it is
      if (response.ok) {
        return response.json().then(function (feature) {
          entry.siteId = feature.id;
          entry.written = true;
          return Q.put(entry);
        });
      }
      return problem(response).then(function (p) {
        if (p.status === 412 && p.body.current) {
          entry.state = "conflict";
          entry.current = p.body.current;
        } else if (p.status === 401) {
          throw new Error("signin");
        } else {
          entry.state = "refused";
          entry.reason = p.reason;
        }
        return Q.put(entry);
      });
    }).then(function (entry) {
      return entry.state === "pending" ? sendPhotos(entry, csrf) : entry;
    });
  }

  /* One photo at a time, each whole: a failed upload leaves nothing on the server and is sent again later. */
  function sendPhotos(entry, csrf) {
    if (!entry.photos.length) {
      return Q.remove(entry.id).then(function () {
        state.synced.push({ name: entry.label, id: entry.siteId });
        return entry;
      });
    }
    var data = new FormData();
    data.append("file", entry.photos[0], "photo.jpg");
    return send(root.dataset.photoUrl.replace(/\/0\//, "/" + entry.siteId + "/"), "POST", { "X-CSRFToken": csrf }, data)
      .then(function (response) {
        if (response.status >= 500) throw new Error("server");
        if (response.ok) {
          entry.photos = entry.photos.slice(1);
          return Q.put(entry).then(function () { return sendPhotos(entry, csrf); });
        }
        return problem(response).then(function (p) {
          if (p.status === 401) throw new Error("signin");
          entry.state = "refused";
          entry.reason = p.reason;
          return Q.put(entry);
        });
      });
  }

  /* One sender at a time across this phone's tabs (Web Locks): each reads the queue afresh once it holds the lock,
   * so a capture another tab has just sent is not sent again. */
  function exclusively(work) {
    return navigator.locks ? navigator.locks.request("scout-field-sync", work) : work();
  }

  function sendQueue() {
    return fetch(root.dataset.csrfUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(r.status >= 500 ? "server" : "signin");
      return r.json();
    }).then(function (token) {
      return Q.all(user).then(function (entries) {
        return entries.filter(function (e) { return e.state === "pending"; }).reduce(function (chain, entry) {
          return chain.then(function () { return sendEntry(entry, token.csrf_token); });
        }, Promise.resolve());
      });
    });
  }

  function sync() {
    if (state.syncing || !navigator.onLine) return render();
    state.syncing = true;
    $("field-online").textContent = M.sending;
    return exclusively(sendQueue).then(function () {
      $("field-online").textContent = "";
    }, function (err) {
      var reason = err && err.message;
      $("field-online").textContent = reason === "signin" ? M.signin : reason === "server" ? M.server : M.offline;
    }).then(function () {
      state.syncing = false;
      return render();
    });
  }

  // ------------------------------------------------------------------ the queue and the resolve view

  var FIELD_LABELS = M.labels;

  function shown(value) {
    if (value === undefined || value === null || value === "") return "—";
    return Array.isArray(value) ? value.join(", ") : String(value);
  }

  function statusOf(entries, facility) {
    var hit = (entries || []).filter(function (e) { return e.facility === facility; })[0];
    return hit ? M.statuses[hit.status] || hit.status : "—";
  }

  function resolveView(entry) {
    var box = el("div", null, { "class": "conflict" });
    box.appendChild(el("p", M.conflict));
    var table = el("table");
    var head = el("tr");
    [M.field, M.mine, M.theirs].forEach(function (t) { head.appendChild(el("th", t)); });
    table.appendChild(head);
    var theirs = entry.current.properties || {};
    var inputs = {};
    Object.keys(entry.feature.properties).filter(function (k) { return k in FIELD_LABELS; }).forEach(function (key) {
      var row = el("tr");
      row.appendChild(el("td", FIELD_LABELS[key]));
      var cell = el("td");
      var input = el("textarea", null, { "data-field": key, rows: "3", "aria-label": FIELD_LABELS[key] + " · " + M.mine });
      input.value = entry.feature.properties[key];
      inputs[key] = input;
      cell.appendChild(input);
      row.appendChild(cell);
      row.appendChild(el("td", shown(theirs[key]), { "data-theirs": key }));
      table.appendChild(row);
    });
    if (entry.feature.geometry) {
      var row = el("tr");
      row.appendChild(el("td", M.position));
      var mine = entry.feature.geometry.coordinates, there = (entry.current.geometry || {}).coordinates || [];
      row.appendChild(el("td", mine[1].toFixed(6) + ", " + mine[0].toFixed(6) + " " +
                               format(M.accuracy, { m: entry.feature.properties.coord_accuracy_m })));
      row.appendChild(el("td", there.length ? there[1].toFixed(6) + ", " + there[0].toFixed(6) + " " +
                               format(M.accuracy, { m: theirs.coord_accuracy_m }) : "—"));
      table.appendChild(row);
    }
    Object.keys(entry.checks).forEach(function (facility) {
      var row = el("tr");
      row.appendChild(el("td", M.checks + ": " + (M.facility_names[facility] || facility)));
      row.appendChild(el("td", M.statuses[entry.checks[facility]]));
      row.appendChild(el("td", statusOf(theirs.facility_status, facility)));
      table.appendChild(row);
    });
    box.appendChild(table);
    var keep = el("button", M.keep_mine, { type: "button", "class": "field-keep-mine" });
    keep.addEventListener("click", function () {
      Object.keys(inputs).forEach(function (k) { entry.feature.properties[k] = inputs[k].value.trim(); });
      entry.baseVersion = theirs.version;
      entry.state = "pending";
      delete entry.current;
      Q.put(entry).then(sync);
    });
    var take = el("button", M.take_theirs, { type: "button", "class": "field-take-theirs" });
    take.addEventListener("click", function () {
      // The server's values stay; only the photos (if any) are still sent.
      entry.feature.properties = {};
      entry.feature.geometry = null;
      entry.checks = {};
      entry.written = true;
      entry.state = "pending";
      delete entry.current;
      Q.put(entry).then(sync);
    });
    box.appendChild(keep);
    box.appendChild(take);
    return box;
  }

  function render() {
    return Q.all(user).then(function (entries) {
      var list = $("field-queue");
      list.textContent = "";
      $("field-queue-count").textContent = entries.length ? format(M.pending, { n: entries.length }) : M.none_pending;
      entries.forEach(function (entry) {
        var li = el("li", null, { "data-state": entry.state, "data-id": entry.id });
        var title = entry.kind === "new" ? M.new_site + ": " + entry.label : format(M.correction, { name: entry.label });
        li.appendChild(el("strong", title));
        if (entry.photos.length) li.appendChild(el("span", " · " + format(M.photos, { n: entry.photos.length })));
        if (entry.state === "conflict") li.appendChild(resolveView(entry));
        if (entry.state === "refused") {
          li.appendChild(el("p", format(M.failed, { reason: entry.reason }), { "class": "field-error" }));
          var discard = el("button", M.remove, { type: "button", "class": "field-discard" });
          discard.addEventListener("click", function () {
            if (window.confirm(M.confirm_remove)) Q.remove(entry.id).then(render);
          });
          li.appendChild(discard);
        }
        list.appendChild(li);
      });
      var done = $("field-synced");
      done.textContent = "";
      state.synced.forEach(function (s) {
        done.appendChild(el("li", format(M.synced, { name: s.name }), { "class": "field-done", "data-site": s.id }));
      });
      state.pending = entries.length;
    });
  }

  // ------------------------------------------------------------------ wiring

  $("field-here").addEventListener("click", startFix);
  $("field-use-fix").addEventListener("click", useFix);
  $("field-new").addEventListener("click", function () { openForm(null); });
  $("field-cancel").addEventListener("click", function () {
    $("field-form").hidden = true;
    state.verifying = null;
    $("field-verifying").textContent = "";
    if (state.fix) {
      listNearby();
      $("field-what").hidden = false;
    }
  });
  $("field-form").addEventListener("submit", capture);
  $("field-sync").addEventListener("click", sync);
  window.addEventListener("online", sync);
  // Back to the page (the phone woke, the app came to the front): the signal may be back without an `online` event.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) sync(); });
  window.addEventListener("offline", function () { $("field-online").textContent = M.offline; });
  if (!navigator.onLine) $("field-online").textContent = M.offline;
  Promise.all([loadSites(), render()]).then(function () {
    siteFromAddress();
    state.ready = true;
    return sync();
  });
})();
