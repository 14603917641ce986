"""GeoJSON (RFC 7946) for sites, bases and boundaries: WGS-84 lon/lat, no `crs` member."""
from __future__ import annotations

from typing import Any

from shapely import wkt as shapely_wkt
from shapely.geometry import mapping
from shapely.geometry.polygon import orient

from .. import facts, provenance, vocab
from ..models import Boundary, ThemedBase
from ..search import SiteHit
from ..sites import STAFF_FIELDS, TAG_FIELDS, TEXT_LIMITS


def _labels(slugs: list[str], vocabulary: dict[str, vocab.Term]) -> list[dict[str, str]]:
    return [{"slug": s, "zh": vocabulary[s].zh, "en": vocabulary[s].en} for s in slugs if s in vocabulary]


def site_feature(hit: SiteHit, include_staff: bool = False) -> dict[str, Any]:
    site = hit.site
    props: dict[str, Any] = {key: getattr(site, key) for key in TEXT_LIMITS if key not in STAFF_FIELDS}
    if include_staff:
        props.update({key: getattr(site, key) for key in STAFF_FIELDS})
    for field, vocabulary in TAG_FIELDS.items():
        order = list(vocab.TAG_VOCABULARIES[vocabulary])
        props[field] = sorted(site.terms(vocabulary), key=order.index)
    # `facilities` lists what the site has (what a facility filter matches); this says how each is known,
    # verified absent ones included, with the labels people read.
    props["facility_status"] = facts.served(site.facility_facts())
    method = vocab.POSITION_METHODS.get(site.position_method)
    props.update(
        base=site.base.slug if site.base else None,
        base_name_zh=site.base.name_zh if site.base else None,
        base_name_en=site.base.name_en if site.base else None,
        elevation_m=site.elevation_m,
        # At a township-seat or estimated point the elevation is the site's, not the point's: say so.
        elevation_label_zh=facts.elevation_text(site.elevation_m, site.position_method, "zh"),
        elevation_label_en=facts.elevation_text(site.elevation_m, site.position_method, "en"),
        area_m2=site.area_m2,
        best_seasons=list(site.best_seasons or []),
        coord_accuracy_m=site.coord_accuracy_m,
        position_method=site.position_method,
        position_method_zh=method.zh if method else None,
        position_method_en=method.en if method else None,
        approximate=site.position_method not in vocab.ON_SITE_METHODS or site.coord_accuracy_m > 100,
        verified=site.verified,
        created_at=site.created_at.isoformat() if site.created_at else None,
        updated_at=site.updated_at.isoformat() if site.updated_at else None,
        version=site.version,
    )
    # For people: the source as a sentence in each language (coord_source/facts_source above are the notes).
    props.update(provenance.site_provenance(site))
    if hit.distance_m is not None:
        props["distance_m"] = round(hit.distance_m, 1)
    return {
        "type": "Feature",
        "id": site.id,
        "geometry": {"type": "Point", "coordinates": [hit.lon, hit.lat]},
        "properties": props,
    }


def base_feature(base: ThemedBase, lon: float, lat: float, site_count: int) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": base.id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "slug": base.slug, "number": base.number, "name_zh": base.name_zh, "name_en": base.name_en,
            "genres": list(base.genres), "genre_labels": _labels(list(base.genres), vocab.GENRES),
            "towns": list(base.towns), "towns_en": vocab.towns_en(list(base.towns)),
            "description_zh": base.description_zh, "description_en": base.description_en,
            "coord_source": base.coord_source, "coord_accuracy_m": base.coord_accuracy_m,
            "position_method": base.position_method, "facts_source": base.facts_source, "verified": base.verified,
            "site_count": site_count,
            # The source as a sentence for the public, as a site's (coord_source and facts_source are notes).
            **provenance.site_provenance(base),
        },
    }


def boundary_feature(boundary: Boundary, wkt: str) -> dict[str, Any]:
    # RFC 7946 wants exterior rings counter-clockwise.
    geom = shapely_wkt.loads(wkt)
    geom = type(geom)([orient(p, sign=1.0) for p in geom.geoms])
    return {
        "type": "Feature",
        "id": boundary.id,
        "geometry": mapping(geom),
        "properties": {"slug": boundary.slug, "adcode": boundary.adcode, "name_zh": boundary.name_zh,
                       "name_en": boundary.name_en, "source": boundary.source},
    }


def feature_collection(features: list[dict], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": features}
