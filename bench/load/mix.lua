-- wrk script for bench/load.sh: a mix of what directors, crews and planners do at once.
--   wrk -t N -c N ... -s bench/load/mix.lua URL -- TOKEN SITE_IDS
-- One connection per wrk thread (-t equal to -c): wrk then calls request() and response() of a thread
-- strictly in turn, so each response is classified by the kind of the request it answers.
-- Answers counted as correct: 2xx/3xx; 412 for a planner's PATCH whose If-Match another planner made stale
-- (optimistic locking working as designed); 429 for a new pack beyond the limit per client address (every
-- client here is 127.0.0.1).  Anything else is a failure.

local threads = {}

function setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

local token, site_ids, hot_sites
counts = {}            -- counts["kind status"] = n; global, so done() can read it with thread:get
local kind             -- the kind of the request in flight
local target           -- the site of a site_get/site_patch in flight
local etags = {}       -- site id -> the ETag this thread last saw
local patch_due        -- a site whose PATCH follows once its ETag is known
local serial = 0
local packs = {}       -- pack ids this thread created

local function split(s)
   local out = {}
   for part in string.gmatch(s, "[^,]+") do out[#out + 1] = tonumber(part) or part end
   return out
end

function init(args)
   token = args[1]
   site_ids = split(args[2])
   -- Planners all edit the same few sites, so their writes really race.
   hot_sites = {site_ids[1], site_ids[2], site_ids[3], site_ids[4]}
   math.randomseed(id * 7919)
end

local GENRES = {"nature", "costume", "ming_qing", "red", "wedding", "youth", "wuxia", "documentary"}
local TERRAIN = {"waterfall", "river", "lake", "forest", "mountain", "ancient_village", "temple"}
local FACILITIES = {"parking", "toilets", "mobile_signal", "catering", "accommodation"}
local FORMATS = {"geojson", "kml", "csv", "gpx"}

local function pick(list) return list[math.random(#list)] end
local function site() return pick(site_ids) end
local function coord(lo, hi) return string.format("%.4f", lo + (hi - lo) * math.random()) end

local function bbox()
   local lon, lat = 119.80 + 0.3 * math.random(), 27.67 + 0.22 * math.random()
   return string.format("%.4f,%.4f,%.4f,%.4f", lon, lat, lon + 0.02 + 0.1 * math.random(), lat + 0.02 + 0.08 * math.random())
end

local function filters()
   local choice = math.random(4)
   if choice == 1 then return "genre=" .. pick(GENRES) .. "," .. pick(GENRES) end
   if choice == 2 then return "terrain=" .. pick(TERRAIN) .. "&facility=" .. pick(FACILITIES) end
   if choice == 3 then return "genre=" .. pick(GENRES) .. "&elev_min=100&elev_max=1200" end
   return "q=" .. pick({"%E7%80%91", "village", "temple", "%E6%B9%96"})  -- 瀑, village, temple, 湖
end

local function get(path, headers)
   return wrk.format("GET", path, headers or {})
end

local function json_request(method, path, body, headers)
   headers = headers or {}
   headers["Content-Type"] = "application/json"
   return wrk.format(method, path, headers, body)
end

local function patch_site(site_id)
   serial = serial + 1
   kind, target = "site_patch", site_id
   local body = string.format('{"type":"Feature","properties":{"access_notes_en":"load test %d-%d"}}', id, serial)
   return json_request("PATCH", "/api/sites/" .. site_id, body,
                       {["Authorization"] = "Bearer " .. token, ["If-Match"] = etags[site_id]})
end

-- kind, weight, request maker
local MIX = {
   {"map_page",      6, function() return get("/") end},
   {"sites_filter", 12, function() return get("/api/sites?" .. filters()) end},
   {"sites_bbox",    8, function() return get("/api/sites?bbox=" .. bbox()) end},
   {"sites_near",    8, function()
      return get("/api/sites?near=" .. coord(119.85, 120.1) .. "," .. coord(27.7, 27.9) .. "&radius_km=" .. math.random(3, 25))
   end},
   {"facets",       10, function() return get("/api/sites/facets?" .. filters()) end},
   {"details",      10, function() return get("/api/sites/" .. site() .. "/details?date=2026-10-01") end},
   {"bases",         4, function() return get("/api/bases") end},
   {"vocabulary",    3, function() return get("/api/vocabulary") end},
   {"ogc_items",     7, function() return get("/ogc/collections/sites/items?f=json&limit=20&bbox=" .. bbox()) end},
   {"ogc_item",      3, function() return get("/ogc/collections/sites/items/" .. site() .. "?f=json") end},
   {"export",        8, function() return get("/api/sites/export?format=" .. pick(FORMATS) .. "&" .. filters()) end},
   {"export_gpkg",   1, function() return get("/api/sites/export?format=gpkg&genre=nature") end},
   {"pack_create",   4, function()
      local first = math.random(#site_ids)
      local second = first % #site_ids + 1  -- the next one: never the same site twice
      return json_request("POST", "/api/packs", string.format('{"name":"load test pack","site_ids":[%d,%d]}',
                                                              site_ids[first], site_ids[second]))
   end},
   {"pack_read",     3, function()
      if #packs == 0 then return nil end
      return get("/api/packs/" .. pick(packs))
   end},
   {"site_write",   13, function()
      -- A planner's edit: GET the site for its ETag, then PATCH with If-Match (two requests in turn).
      local site_id = pick(hot_sites)
      if etags[site_id] then return patch_site(site_id) end
      patch_due = site_id
      kind, target = "site_get", site_id
      return get("/api/sites/" .. site_id)
   end},
}
local TOTAL = 0
for _, entry in ipairs(MIX) do TOTAL = TOTAL + entry[2] end

function request()
   if patch_due then
      local site_id = patch_due
      patch_due = nil
      if etags[site_id] then return patch_site(site_id) end
   end
   while true do
      local roll = math.random(TOTAL)
      for _, entry in ipairs(MIX) do
         roll = roll - entry[2]
         if roll <= 0 then
            kind = entry[1]
            local req = entry[3]()
            if req then return req end
            break
         end
      end
   end
end

local function etag_of(headers)
   return headers["ETag"] or headers["Etag"] or headers["etag"]
end

function response(status, headers, body)
   local key = kind .. " " .. status
   counts[key] = (counts[key] or 0) + 1
   if kind == "site_get" or kind == "site_patch" then
      -- A 200 carries the version now stored; after a 412 (someone saved first) the site is read again.
      etags[target] = status == 200 and etag_of(headers) or nil
   elseif kind == "pack_create" and status == 201 then
      local pack = string.match(body, '"id":%s*"([^"]+)"')
      if pack and #packs < 50 then packs[#packs + 1] = pack end
   end
end

-- Correct answers: 2xx/3xx; 412 only for a PATCH that lost a race; 429 only for a new pack.
local function outcome(kind_name, status)
   if status >= 200 and status < 400 then return "ok" end
   if status == 412 and kind_name == "site_patch" then return "conflict" end
   if status == 429 and kind_name == "pack_create" then return "limited" end
   if status >= 500 then return "server_error" end
   return "client_error"
end

local function json_string(s) return '"' .. string.gsub(s, '["\\]', "\\%0") .. '"' end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local c = thread:get("counts") or {}
      for key, n in pairs(c) do total[key] = (total[key] or 0) + n end
   end
   local kinds, statuses, outcomes = {}, {}, {ok = 0, conflict = 0, limited = 0, client_error = 0, server_error = 0}
   for key, n in pairs(total) do
      local kind_name, status = string.match(key, "^(%S+) (%d+)$")
      status = tonumber(status)
      kinds[kind_name] = kinds[kind_name] or {ok = 0, conflict = 0, limited = 0, client_error = 0, server_error = 0}
      local o = outcome(kind_name, status)
      kinds[kind_name][o] = kinds[kind_name][o] + n
      outcomes[o] = outcomes[o] + n
      statuses[status] = (statuses[status] or 0) + n
   end
   local parts = {}
   for k, v in pairs(kinds) do
      parts[#parts + 1] = string.format('%s:{"ok":%d,"conflict":%d,"limited":%d,"client_error":%d,"server_error":%d}',
                                        json_string(k), v.ok, v.conflict, v.limited, v.client_error, v.server_error)
   end
   local status_parts = {}
   for s, n in pairs(statuses) do status_parts[#status_parts + 1] = string.format('"%d":%d', s, n) end
   local e = summary.errors
   io.write(string.format(
      'LOAD-RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status_over_399":%d},' ..
      '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.0f},' ..
      '"outcomes":{"ok":%d,"conflict":%d,"limited":%d,"client_error":%d,"server_error":%d},' ..
      '"statuses":{%s},"kinds":{%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
      outcomes.ok, outcomes.conflict, outcomes.limited, outcomes.client_error, outcomes.server_error,
      table.concat(status_parts, ","), table.concat(parts, ",")))
end
