/* The filter form and the two map tools that set filters (a point with a radius, a drawn area).
 * The form's checkboxes are named by their URL parameter: the form itself says which filters are lists.
 */
import { byId, debounce } from "./dom.js";
import { round6 } from "./format.js";
import { changedFilters, clearing } from "./state.js";
import { ringPolylineParam } from "./layers.js";

// Names of the filters that the form's checkboxes hold, e.g. ["genre", "terrain", "facility"].
function listParams(form) {
  return [...new Set([...form.querySelectorAll("input[type=checkbox]")].map((box) => box.name))];
}

// ctx: map, settings, M, state, layers, list, actions {refresh}.
export function createFilters(ctx) {
  const { map, M, state } = ctx;
  const form = byId("scout-filters");
  form.addEventListener("submit", (e) => e.preventDefault());

  function formFromState() {
    form.querySelectorAll("input[type=checkbox]").forEach((box) => {
      const selected = (state.filters[box.name] || "").split(",");
      box.checked = selected.indexOf(box.value) >= 0;
      const chip = box.closest(".scout-chip");  // the "verified only" toggle is not a chip
      if (chip) chip.classList.toggle("is-checked", box.checked);
    });
    byId("scout-q").value = state.filters.q || "";
    byId("scout-base").value = state.filters.base || "";
    byId("scout-elev-min").value = state.filters.elev_min || "";
    byId("scout-elev-max").value = state.filters.elev_max || "";
    if (state.filters.radius_km) byId("scout-radius").value = state.filters.radius_km;
    const near = state.filters.near;
    byId("scout-near-point").textContent = near ? near.split(",").reverse().join(", ") : "";
    byId("scout-clear-near").hidden = !near;
    byId("scout-clear-area").hidden = !state.filters.area;
  }

  function stateFromForm() {
    const filters = {};
    listParams(form).forEach((name) => {
      const values = [...form.querySelectorAll("input[name=" + name + "]:checked")].map((b) => b.value);
      if (values.length) filters[name] = values.join(",");
    });
    const q = byId("scout-q").value.trim();
    if (q) filters.q = q;
    if (byId("scout-base").value) filters.base = byId("scout-base").value;
    if (byId("scout-elev-min").value !== "") filters.elev_min = byId("scout-elev-min").value;
    if (byId("scout-elev-max").value !== "") filters.elev_max = byId("scout-elev-max").value;
    // Set on the map, not in the form.
    ["near", "area", "bbox"].forEach((name) => { if (state.filters[name]) filters[name] = state.filters[name]; });
    if (filters.near) filters.radius_km = byId("scout-radius").value || "10";
    state.filters = filters;
  }

  function setFilters(changes) {
    state.filters = changedFilters(state.filters, changes);
    formFromState();
    ctx.actions.refresh({ fit: true });
  }

  function clearFilter(name) {
    if (name === "area") ctx.layers.drawnLayer.clearLayers();
    setFilters(clearing(ctx.settings.filters, name));
  }

  const onFormChange = () => { stateFromForm(); formFromState(); ctx.actions.refresh({ fit: true }); };
  form.addEventListener("change", (e) => {
    if (e.target.id !== "scout-q") onFormChange();
  });
  byId("scout-q").addEventListener("input", debounce(onFormChange, 300));
  byId("scout-reset").addEventListener("click", () => {
    state.filters = {};
    ctx.layers.drawnLayer.clearLayers();
    formFromState();
    ctx.actions.refresh({ fit: true });
  });

  // Near a point: a click on the map (its latlng is WGS-84 whatever the basemap) or the device's location.
  function setNear(lng, lat) {
    setFilters({ near: round6(lng) + "," + round6(lat), radius_km: byId("scout-radius").value || "10" });
  }
  byId("scout-pick-point").addEventListener("click", () => {
    ctx.list.setCount(M.pickPoint);
    map.getContainer().classList.add("is-picking");
    map.once("click", (e) => {
      map.getContainer().classList.remove("is-picking");
      setNear(e.latlng.lng, e.latlng.lat);
    });
  });
  byId("scout-my-location").addEventListener("click", () => {
    if (!navigator.geolocation) {
      ctx.list.setCount(M.locateFailed);
      return;
    }
    ctx.list.setCount(M.locating);
    navigator.geolocation.getCurrentPosition((pos) => setNear(pos.coords.longitude, pos.coords.latitude),
      () => ctx.list.setCount(M.locateFailed), { timeout: 10000 });
  });
  byId("scout-clear-near").addEventListener("click", () => setFilters({ near: null, radius_km: null }));

  // Inside an area drawn with the Draw plugin.
  map.on("draw:created", (e) => {
    ctx.layers.drawnLayer.clearLayers();
    ctx.layers.drawnLayer.addLayer(e.layer);
    setFilters({ area: ringPolylineParam(e.layer.getLatLngs()[0]) });
  });
  byId("scout-draw-polygon").addEventListener("click", () => new L.Draw.Polygon(map, { allowIntersection: false }).enable());
  byId("scout-draw-rectangle").addEventListener("click", () => new L.Draw.Rectangle(map).enable());
  byId("scout-clear-area").addEventListener("click", () => {
    ctx.layers.drawnLayer.clearLayers();
    setFilters({ area: null });
  });

  return { formFromState, setFilters, clearFilter };
}
