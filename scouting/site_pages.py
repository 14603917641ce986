"""Pages of sites as GeoJSON features: the hot path of /api/sites and OGC items.

A page is found in two steps (search.find_site_refs, then search.site_hits): the query reads only ids, points
and distances; the wide columns, tags and bases are read, and the feature built, only for sites this process has
not built since the data last changed.  Map moves and list pages overlap a lot, so most features of a page are
already built.  The kept features are dropped whenever the data version changes (every write bumps it in its
own transaction, see scouting/db.py), so nothing stale is served, across processes too.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from .formats.geojson import site_feature
from .search import ResultCache, SiteHit, SiteQuery, SiteRef, data_version, find_site_refs, site_hits


class SitePages:
    """Public site features kept per process (a bounded LRU, safe across threads), keyed by site id and valid
    for one data version."""

    def __init__(self, results: ResultCache, size: int = 5000):
        self.results = results
        self.size = size
        self._features: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._version: tuple | None = None
        self._lock = threading.Lock()

    def page(self, session: Session, q: SiteQuery, version: tuple | None = None) -> tuple[int, list[dict[str, Any]]]:
        """The number matched and the page's features, as site_feature makes them.  `version`: the data version
        when the caller has just read it in this transaction."""
        version = version or data_version(session)
        # Around a point the page's own pass counts the matches (search._nearest_page): no count query.
        counted = None if q.near else self.results.count_sites(session, q, version)
        matched, refs = find_site_refs(session, q, matched=counted)
        with self._lock:
            if version != self._version:
                self._features.clear()
                self._version = version
            kept = {ref.id: self._features[ref.id] for ref in refs if ref.id in self._features}
            for site_id in kept:
                self._features.move_to_end(site_id)
        missing = [ref for ref in refs if ref.id not in kept]
        if missing:
            built = {hit.site.id: site_feature(SiteHit(hit.site, hit.lon, hit.lat, None))
                     for hit in site_hits(session, missing)}
            kept.update(built)
            with self._lock:
                if version == self._version:
                    self._features.update(built)
                    while len(self._features) > self.size:
                        self._features.popitem(last=False)
        return matched, [_placed(kept[ref.id], ref) for ref in refs]


def _placed(feature: dict[str, Any], ref: SiteRef) -> dict[str, Any]:
    """A kept feature for one answer: its own top-level and geometry dicts (callers may reproject them); the
    properties are shared unless a distance is added, and no caller changes them."""
    properties = feature["properties"]
    if ref.distance_m is not None:
        properties = {**properties, "distance_m": round(ref.distance_m, 1)}
    return {**feature, "geometry": {"type": "Point", "coordinates": [ref.lon, ref.lat]}, "properties": properties}
