/* The JSON API: GET with problem+json turned into its detail text, and paging by the "next" link. */

export async function getJSON(url, signal) {
  const r = await fetch(url, { headers: { Accept: "application/json" }, signal });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || (url + " answered " + r.status));
  return body;
}

export async function postJSON(url, payload) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || r.status);
  return body;
}

// A page's "next" link, or null.  Pure.
export function nextLink(page) {
  return (page.links || []).find((l) => l.rel === "next") || null;
}

// Every feature, following "next" links.
export async function fetchAll(url) {
  const features = [];
  let page = await getJSON(url);
  features.push(...page.features);
  for (let next = nextLink(page); next; next = nextLink(page)) {
    page = await getJSON(next.href);
    features.push(...page.features);
  }
  return { features, numberMatched: page.numberMatched };
}
