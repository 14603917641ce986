/* The JSON API: GET and POST with a failed answer turned into an ApiError (its status and problem+json
 * body), paging by the "next" link, and what to tell a person about a failure, in the page's language.
 */
import { format } from "./format.js";

export class ApiError extends Error {
  // status 0: no answer at all (offline, the server down, the connection cut).
  constructor(status, problem) {
    super(problem.detail || (status ? "HTTP " + status : "no answer"));
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

// The API's links start with the site's public address (SCOUTING_PUBLIC_URL); the page asks its own origin,
// whichever name it was opened under (connect-src 'self').
function ownOrigin(url) {
  const own = new URL(url, window.location.href);
  return own.pathname + own.search;
}

async function request(url, options) {
  let r;
  try {
    r = await fetch(url, options);
  } catch (err) {
    if (err.name === "AbortError") throw err;  // cancelled by us: not a failure
    throw new ApiError(0, {});
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

export function getJSON(url, signal) {
  return request(ownOrigin(url), { headers: { Accept: "application/json" }, signal });
}

export function postJSON(url, payload) {
  return request(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload) });
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

// A failure told in the page's language: never the server's English detail nor a parameter name (problem+json
// keeps those for programs).  A bad filter is named by its label.  filterOf: URL parameter -> filter name.  Pure.
export function problemText(err, M, filterOf) {
  if (!(err instanceof ApiError)) return M.pageError;  // a fault of the page itself, not of the request
  if (err.status === 0) return M.offline;
  const invalid = (err.problem["invalid-params"] || [])[0];
  const filter = invalid && filterOf[invalid.name];
  if (err.status === 400 && filter) return format(M.badFilter, { filter: M[filter] || filter });
  if (err.status === 404) return M.notFound;
  if (err.status === 414) return M.tooLong;
  if (err.status === 429) return M.tooMany;
  if (err.status >= 500) return M.serverUnavailable;
  return format(M.requestFailed, { status: err.status });
}
