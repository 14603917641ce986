"""CQL2 filters (OGC API – Features Part 3) as conditions of the one query builder.

The `cql2` library (PyPI; the OGC's CQL2 grammar and JSON schema) parses CQL2 text or JSON and checks it; the tree
it returns, in the standard's JSON encoding, is walked here into SQLAlchemy expressions made from the same pieces
`search.site_conditions` uses (tag probes, the spatial index, the dialect's intersects).  No SQL text is built from
a filter, and anything the walk does not know is an InvalidParameter naming the operator or property.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cql2
import orjson
from shapely.geometry import box, shape
from shapely.validation import explain_validity
from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true

from . import vocab
from .crs import CRS84, geometry_to_crs84
from .db import SpatialDialect
from .errors import InvalidParameter
from .models import Site, SiteTag, ThemedBase
from .search import MAX_AREA_VERTICES, _tagged, in_bbox, mask_all, mask_any

LANGUAGES = ("cql2-text", "cql2-json")
MAX_FILTER = 20_000  # characters; a URL (web.MAX_URL_LENGTH) holds less, but the core never trusts its caller
# The parser recurses natively: thousands of nested brackets overflow its stack (the process dies), so nesting is
# counted first.  No real filter comes near this.
MAX_NESTING = 64
MAX_VERTICES = MAX_AREA_VERTICES * 4
COMPARISONS = {"=": "__eq__", "<>": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
ARRAY_FUNCTIONS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")  # matched in lower case
SPATIAL_FUNCTIONS = ("s_intersects", "s_disjoint")
OPERATORS = ("and", "or", "not", *COMPARISONS, "like", "between", "in", "is null", "casei", *ARRAY_FUNCTIONS,
             *SPATIAL_FUNCTIONS)  # as named in errors


@dataclass(frozen=True)
class Queryable:
    name: str
    type: str  # string | number | integer | boolean | array | geometry (JSON Schema's words)
    title_zh: str
    title_en: str
    column: Callable[[], Any] | None = None  # the SQL expression of a scalar property
    vocabulary: str | None = None  # arrays: the tag vocabulary (site_tags.vocabulary)
    enum: tuple[str, ...] = ()


def _base_slug():
    return select(ThemedBase.slug).where(ThemedBase.id == Site.base_id).scalar_subquery()


def _text(name: str, model, zh: str, en: str, enum: tuple[str, ...] = ()) -> Queryable:
    return Queryable(name, "string", zh, en, lambda: getattr(model, name), enum=enum)


SITE_QUERYABLES = {q.name: q for q in (
    _text("name_zh", Site, "中文名称", "Name (Chinese)"),
    _text("name_en", Site, "英文名称", "Name (English)"),
    _text("description_zh", Site, "中文简介", "Description (Chinese)"),
    _text("description_en", Site, "英文简介", "Description (English)"),
    Queryable("genres", "array", "题材", "Genres", vocabulary="genre", enum=tuple(vocab.GENRES)),
    Queryable("terrain", "array", "地形", "Terrain", vocabulary="terrain", enum=tuple(vocab.TERRAIN)),
    Queryable("facilities", "array", "设施", "Facilities", vocabulary="facility", enum=tuple(vocab.FACILITIES)),
    Queryable("base", "string", "所属基地", "Themed base (slug)", _base_slug),  # enum: the bases, read per request
    Queryable("elevation_m", "number", "海拔（米）", "Elevation (m)", lambda: Site.elevation_m),
    Queryable("area_m2", "number", "面积（平方米）", "Area (m²)", lambda: Site.area_m2),
    Queryable("coord_accuracy_m", "integer", "位置精度（米）", "Position accuracy (m)", lambda: Site.coord_accuracy_m),
    _text("position_method", Site, "定位方式", "Position method", tuple(vocab.POSITION_METHODS)),
    Queryable("verified", "boolean", "已核实", "Verified", lambda: Site.verified),
    Queryable("geometry", "geometry", "位置", "Location", lambda: Site.geom),
)}

BASE_QUERYABLES = {q.name: q for q in (
    _text("slug", ThemedBase, "标识", "Slug"),
    Queryable("number", "integer", "编号", "Number", lambda: ThemedBase.number),
    _text("name_zh", ThemedBase, "中文名称", "Name (Chinese)"),
    _text("name_en", ThemedBase, "英文名称", "Name (English)"),
    _text("description_zh", ThemedBase, "中文简介", "Description (Chinese)"),
    _text("description_en", ThemedBase, "英文简介", "Description (English)"),
    Queryable("coord_accuracy_m", "integer", "位置精度（米）", "Position accuracy (m)",
              lambda: ThemedBase.coord_accuracy_m),
    _text("position_method", ThemedBase, "定位方式", "Position method", tuple(vocab.POSITION_METHODS)),
    Queryable("geometry", "geometry", "位置", "Location", lambda: ThemedBase.geom),
)}

QUERYABLES = {"sites": SITE_QUERYABLES, "bases": BASE_QUERYABLES}


@dataclass(frozen=True)
class CqlFilter:
    """A checked filter of one collection, kept as canonical CQL2 JSON (hashable: it is part of a SiteQuery)."""

    collection: str
    tree: str
    crs: str = CRS84  # the CRS of the geometries in the filter (filter-crs)

    def condition(self, dialect: SpatialDialect) -> ColumnElement[bool]:
        return _Walk(self.collection, dialect, self.crs).condition(orjson.loads(self.tree))


def parse_filter(raw: str, lang: str | None, collection: str, crs: str = CRS84) -> CqlFilter:
    """Parse and check a filter; an InvalidParameter names `filter` (or `filter-lang`) and says why."""
    lang = lang or "cql2-text"
    if lang not in LANGUAGES:
        raise InvalidParameter("filter-lang", f"unknown filter language {lang!r}; use {' or '.join(LANGUAGES)}")
    if len(raw) > MAX_FILTER:
        raise InvalidParameter("filter", f"is {len(raw)} characters long; at most {MAX_FILTER} are allowed")
    depth = _nesting(raw, "'" if lang == "cql2-text" else '"')
    if depth > MAX_NESTING:
        raise InvalidParameter("filter", f"nests too deeply ({depth} levels of brackets, NOTs or operators); at most "
                                         f"{MAX_NESTING} are allowed")
    try:
        # Not Expr.validate(): its JSON Schema check takes a tenth of a second and grows exponentially with NOTs;
        # the walk below checks every node's operator, arity and types itself.
        expr = cql2.parse_text(raw) if lang == "cql2-text" else cql2.parse_json(raw)
        tree = expr.to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise InvalidParameter("filter", f"is not valid {lang}: {reason[:300]}") from None
    try:
        canonical = orjson.dumps(tree).decode()
    except (TypeError, RecursionError):  # a chain of operators nested past orjson's limit
        raise InvalidParameter("filter", "nests too deeply") from None
    found = CqlFilter(collection, canonical, crs)
    try:
        found.condition(SpatialDialect("postgis"))  # every operator and property checked now, before any query
    except (TypeError, ValueError, KeyError, IndexError):  # a node with too few or too many arguments
        raise InvalidParameter("filter", "an operator has the wrong number or kind of arguments") from None
    return found


def _nesting(raw: str, quote: str) -> int:
    """How deeply brackets nest outside quoted strings, and in CQL2 text NOTs, arithmetic and runs of minus signs
    (each nests the parser once more; counting them for good is an upper bound)."""
    depth = deepest = minus_run = 0
    quoted = escaped = False
    for i, char in enumerate(raw):
        if not quoted and quote == "'" and not char.isspace():
            minus_run = minus_run + 1 if char == "-" else 0
            if char in "+*/%":
                depth += 1
        if quoted:
            if quote == '"' and char == "\\" and not escaped:
                escaped = True
                continue
            if char == quote and not escaped:
                quoted = False
            escaped = False
        elif char == quote:
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif quote == "'" and raw[i:i + 3].upper() == "NOT" and not _word_char(raw[i - 1: i]) \
                and not _word_char(raw[i + 3: i + 4]):
            depth += 1
        deepest = max(deepest, depth + minus_run)
    return deepest


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _kind(node) -> str:
    if isinstance(node, dict):
        if "property" in node:
            return f"property {node['property']!r}"
        if "op" in node:
            return f"operator {str(node['op']).upper()!r}"
        return "value " + ", ".join(map(repr, node))
    return f"value {node!r}"


class _Walk:
    def __init__(self, collection: str, dialect: SpatialDialect, crs: str = CRS84):
        self.collection = collection
        self.queryables = QUERYABLES[collection]
        self.model = Site if collection == "sites" else ThemedBase
        self.dialect = dialect
        self.crs = crs
        self.in_area = False  # inside an AND beside S_INTERSECTS: the spatial index picks the few sites first

    # ------------------------------------------------------------------ errors

    def _unsupported(self, node) -> InvalidParameter:
        if isinstance(node, dict) and "op" in node:
            return InvalidParameter("filter", f"the operator {str(node['op']).upper()!r} is not supported; "
                                              f"supported are {', '.join(op.upper() for op in OPERATORS)}")
        return InvalidParameter("filter", f"{_kind(node)} cannot be used here")

    def _queryable(self, node) -> Queryable:
        name = node["property"]
        found = self.queryables.get(name)
        if found is None:
            raise InvalidParameter("filter", f"unknown property {name!r}; the queryables of {self.collection} are "
                                             f"{', '.join(self.queryables)}")
        return found

    # ------------------------------------------------------------------ conditions

    def condition(self, node) -> ColumnElement[bool]:
        if isinstance(node, bool):
            return true() if node else false()
        if not isinstance(node, dict) or "op" not in node:
            raise InvalidParameter("filter", f"{_kind(node)} is not a condition")
        op, args = str(node["op"]).lower(), node.get("args", [])  # cql2 spells some in camel case (isNull)
        if not isinstance(args, list):
            raise InvalidParameter("filter", f"the arguments of {op.upper()} must be a list")
        if op in ("and", "or"):
            if len(args) < 2:
                raise InvalidParameter("filter", f"{op.upper()} needs at least two conditions")
            outer = self.in_area
            if op == "and":
                self.in_area = outer or any(isinstance(a, dict) and a.get("op") == "s_intersects" for a in args)
            try:
                return (and_ if op == "and" else or_)(*(self.condition(a) for a in args))
            finally:
                self.in_area = outer
        if op == "not":
            (negated,) = args
            return not_(self.condition(negated))
        if op in COMPARISONS:
            return self._compare(op, *args)
        if op == "like":
            return self._like(*args)
        if op == "between":
            prop, low, high = args
            column = self._scalar(prop, ("number", "integer"))
            return column.between(self._literal(low, prop), self._literal(high, prop))
        if op == "in":
            prop, values = args
            if not isinstance(values, list) or not values:
                raise InvalidParameter("filter", f"IN needs a non-empty list of values, got {_kind(values)}")
            column = self._scalar(prop)
            return column.in_([self._literal(v, prop) for v in values])
        if op == "isnull":
            return self._is_null(args[0])
        if op in ARRAY_FUNCTIONS:
            return self._array(op, *args)
        if op in SPATIAL_FUNCTIONS:
            return self._spatial(op, *args)
        raise self._unsupported(node)

    def _scalar(self, node, types: tuple[str, ...] | None = None):
        """A property (or CASEI of one) as a column; its queryable's type must be one of `types`."""
        if isinstance(node, dict) and node.get("op") == "casei":
            return func.lower(self._scalar(node["args"][0], ("string",)))
        if not isinstance(node, dict) or "property" not in node:
            raise InvalidParameter("filter", f"expected a property, got {_kind(node)} (comparing two values "
                                             f"or using functions of properties is not supported)")
        queryable = self._queryable(node)
        if queryable.column is None:
            hint = " (use = 'term', A_CONTAINS, A_OVERLAPS, A_CONTAINEDBY or A_EQUALS)" if queryable.type == "array" else \
                " (use S_INTERSECTS)" if queryable.type == "geometry" else ""
            raise InvalidParameter("filter", f"{queryable.name!r} is {'an' if queryable.type[0] in 'ai' else 'a'} "
                                             f"{queryable.type} and cannot be compared this way{hint}")
        if types and queryable.type not in types:
            raise InvalidParameter("filter", f"{queryable.name!r} is a {queryable.type}; this operator takes "
                                             f"{' or '.join(types)} properties")
        return queryable.column()

    def _literal(self, node, prop):
        """A literal compared with `prop`, checked against its type (CASEI of a text lowers it)."""
        if isinstance(node, dict) and node.get("op") == "casei":
            return func.lower(self._literal(node["args"][0], prop))
        inner = prop["args"][0] if isinstance(prop, dict) and prop.get("op") == "casei" else prop
        queryable = self._queryable(inner)
        ok = {"string": isinstance(node, str), "boolean": isinstance(node, bool),
              "number": isinstance(node, int | float) and not isinstance(node, bool),
              "integer": isinstance(node, int | float) and not isinstance(node, bool)}.get(queryable.type, False)
        if not ok:
            raise InvalidParameter("filter", f"{queryable.name!r} is a {queryable.type}; {_kind(node)} is not")
        if isinstance(node, float) and not math.isfinite(node):
            raise InvalidParameter("filter", f"{queryable.name!r} needs a finite number")
        return node

    def _compare(self, op: str, left, right) -> ColumnElement[bool]:
        if not self._is_property(left) and self._is_property(right):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if op in ("=", "<>") and isinstance(left, dict) and "property" in left and isinstance(right, str) \
                and self._queryable(left).type == "array":
            # An extension for clients that see an array as a text field (QGIS, GDAL): genres = 'nature' is
            # A_OVERLAPS(genres, ('nature')), and <> its negation.
            has = self._array("a_overlaps", left, [right])
            return has if op == "=" else not_(has)
        column = self._scalar(left)
        return getattr(column, COMPARISONS[op])(self._literal(right, left))

    def _like(self, left, pattern) -> ColumnElement[bool]:
        column = self._scalar(left, ("string",))  # lower(column) under CASEI
        casei = any(isinstance(n, dict) and n.get("op") == "casei" for n in (left, pattern))
        raw = pattern["args"][0] if isinstance(pattern, dict) and pattern.get("op") == "casei" else pattern
        if not isinstance(raw, str):
            raise InvalidParameter("filter", f"LIKE needs a text pattern, got {_kind(raw)}")
        if casei:
            if not (isinstance(left, dict) and left.get("op") == "casei"):
                column = func.lower(column)
            return column.like(func.lower(raw), escape="\\")
        return self.dialect.like(column, raw)

    @staticmethod
    def _is_property(node) -> bool:
        return isinstance(node, dict) and ("property" in node or node.get("op") == "casei")

    def _is_null(self, node) -> ColumnElement[bool]:
        if isinstance(node, dict) and "property" in node and self._queryable(node).type == "array":
            return not_(self._tags_probe(self._queryable(node).vocabulary))
        return self._scalar(node).is_(None)

    # ------------------------------------------------------------------ arrays (the tag table)

    def _tags_probe(self, vocabulary: str, where=()) -> ColumnElement[bool]:
        return exists(select(SiteTag.site_id).where(SiteTag.site_id == Site.id, SiteTag.vocabulary == vocabulary,
                                                    *where))

    def _array(self, op: str, prop, values) -> ColumnElement[bool]:
        name = op.upper()
        if not isinstance(prop, dict) or "property" not in prop:
            raise InvalidParameter("filter", f"{name} takes the array property first, then a list of terms")
        queryable = self._queryable(prop)
        if queryable.type != "array":
            raise InvalidParameter("filter", f"{name} needs an array property; {queryable.name!r} is a "
                                             f"{queryable.type}")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidParameter("filter", f"{name} needs a list of {queryable.name} terms, got {_kind(values)}")
        terms = tuple(dict.fromkeys(values))
        known = vocab.TAG_VOCABULARIES[queryable.vocabulary]
        unknown = [t for t in terms if t not in known]
        if unknown:
            raise InvalidParameter("filter", f"unknown {queryable.name} term {unknown[0]!r}; valid terms are "
                                             f"{', '.join(known)}")
        # The same tests as /api/sites (search.site_conditions): within an area the site row's bitmask on the sites
        # the spatial index found, else the list of the sites with the term(s) from the tag index.
        if self.in_area:
            any_of = mask_any(queryable.vocabulary, terms)
            all_of = mask_all(queryable.vocabulary, terms)
        else:
            any_of = Site.id.in_(_tagged(queryable.vocabulary, terms))
            all_of = Site.id.in_(_tagged(queryable.vocabulary, terms).group_by(SiteTag.site_id)
                                 .having(func.count() == len(terms)))
        only_these = not_(self._tags_probe(queryable.vocabulary, [SiteTag.term.not_in(terms)]))
        if op == "a_overlaps":
            return any_of if terms else false()
        if op == "a_contains":
            return all_of if terms else true()
        if op == "a_containedby":
            return only_these
        return and_(only_these, all_of) if terms else only_these  # a_equals

    # ------------------------------------------------------------------ space

    def _spatial(self, op: str, left, right) -> ColumnElement[bool]:
        if not (isinstance(left, dict) and "property" in left):
            left, right = right, left
        if not (isinstance(left, dict) and "property" in left) or self._queryable(left).type != "geometry":
            raise InvalidParameter("filter", f"{op.upper()} compares the property 'geometry' with a geometry "
                                             f"or BBOX")
        geom = self._geometry(right)
        column = self._queryable(left).column()
        if self.model is Site and geom.equals(box(*geom.bounds)):
            found = in_bbox(self.dialect, geom.bounds)  # a box: what the bbox parameter does
        elif self.model is Site:
            # The spatial index first (as the area filter does), then the exact test.
            found = and_(self.dialect.bbox_filter(Site.__tablename__, Site.id, column, geom.bounds),
                         self.dialect.intersects(column, geom.wkt))
        else:
            found = self.dialect.intersects(column, geom.wkt)
        return found if op == "s_intersects" else not_(found)

    def _geometry(self, node):
        if isinstance(node, dict) and "bbox" in node:
            values = node["bbox"]
            minx, miny, maxx, maxy = (values[0], values[1], values[3], values[4]) if len(values) == 6 else values
            if minx > maxx or miny > maxy:
                raise InvalidParameter("filter", "a BBOX is minLon,minLat,maxLon,maxLat with min ≤ max")
            geom = box(minx, miny, maxx, maxy)
        elif isinstance(node, dict) and "type" in node and ("coordinates" in node or "geometries" in node):
            try:
                geom = shape(node)
            except (ValueError, TypeError, AttributeError, IndexError) as exc:
                raise InvalidParameter("filter", f"the {node['type']} is not a valid geometry: {exc}") from None
            if not geom.is_valid:
                raise InvalidParameter("filter", f"the {node['type']} is not valid: {explain_validity(geom)}")
        else:
            raise InvalidParameter("filter", f"expected a geometry or BBOX, got {_kind(node)}")
        if geom.is_empty:
            raise InvalidParameter("filter", "the geometry is empty")
        geom = geometry_to_crs84(self.crs, geom)
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            order = "longitude comes first" if self.crs == CRS84 else "in the axis order of filter-crs"
            raise InvalidParameter("filter", f"a coordinate of a geometry is out of range ({order})")
        vertices = len(geom.wkt.split(","))
        if vertices > MAX_VERTICES:
            raise InvalidParameter("filter", f"a geometry may have at most {MAX_VERTICES} vertices, got {vertices}")
        return geom
