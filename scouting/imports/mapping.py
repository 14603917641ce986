"""A file row's attributes -> the fields of a site record (the record cleaner in `scouting.sites` checks them).

Planners' files name things their own way: Chinese or English column names, vocabulary terms as zh/en labels,
"百丈漈瀑布 (Baizhangji Falls)" as one name, KML balloons as HTML, numbers with "米" after them, and this
app's own exports with their extra columns.  Everything here is pure (no database, no files), so each rule
can be tested on its own; a value that cannot be converted is passed on unchanged for the cleaner to name.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any

from .. import facts, sites, vocab

_KEY_ALIASES = {
    "name": "name", "名称": "name", "名字": "name", "地名": "name", "title": "name", "标题": "name",
    "description": "description", "desc": "description", "描述": "description", "简介": "description",
    "说明": "description", "备注": "description",
    "genre": "genres", "题材": "genres", "类型": "genres", "terrain": "terrain", "地形": "terrain",
    "facility": "facilities", "设施": "facilities", "facility_status": "facility_status", "设施状态": "facility_status",
    "season": "best_seasons", "seasons": "best_seasons",
    "季节": "best_seasons", "ele": "elevation_m", "elevation": "elevation_m", "altitude": "elevation_m",
    "海拔": "elevation_m", "accuracy_m": "coord_accuracy_m", "精度": "coord_accuracy_m",
}
_FIELDS = {k for k in sites.EDITABLE if k not in ("lon", "lat")}
_TEXT = set(sites.TEXT_LIMITS) | {"name", "description"}
_NUMBERS = {"elevation_m", "area_m2", "coord_accuracy_m"}
_TERMS = {"genres": vocab.GENRES, "terrain": vocab.TERRAIN, "facilities": vocab.FACILITIES, "best_seasons": vocab.SEASONS}
# Columns that formats (and this app's own exports) always carry: not worth reporting as ignored.
_NOISE = {
    "id", "fid", "ogc_fid", "version", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
    "visibility", "draworder", "icon", "snippet", "time", "magvar", "geoidheight", "cmt", "src", "sym", "type",
    "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "link1_href", "link1_text", "link1_type",
    "link2_href", "link2_text", "link2_type", "base_name_zh", "base_name_en", "position_method_zh",
    "position_method_en", "approximate", "created_at", "updated_at", "distance_m", "genre_labels_zh",
    "pack_position", "pack_note", "lon", "lat", "lon_wgs84", "lat_wgs84", "lon_gcj02", "lat_gcj02", "gcj02_lon",
    "gcj02_lat", "lon_bd09", "lat_bd09", "longitude", "latitude", "lng", "long", "经度", "纬度", "x", "y", "wkt",
    "geometry", "geom", "the_geom", "facility_status_zh", "elevation_label_zh",
    "elevation_label_en",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@functools.lru_cache(maxsize=4096)  # every row of a file repeats the same few keys
def norm_key(key: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(key).strip().lstrip("\ufeff")).lower()


def map_props(props: Mapping[str, Any], base_lookup: dict[str, str], html: bool) -> tuple[dict[str, Any], set[str]]:
    """A row's attributes under the record's keys, values converted; the set of attributes ignored."""
    mapped: dict[str, Any] = {}
    ignored: set[str] = set()
    for key, value in props.items():
        target, reported = _key_target(key)
        if target is None:
            if reported and _present(value):
                ignored.add(str(key))
            continue
        value = plain_value(value)
        if not _present(value) or (target in mapped and mapped[target] is not None):
            continue
        mapped[target] = _convert(target, value, base_lookup, html)
    if "facility_status" in mapped:  # the fuller statement: each facility with its status
        mapped["facilities"] = mapped.pop("facility_status")
    return mapped, ignored


COLUMN_MIN_ROWS = 64  # rows sharing their attribute names that are mapped a column at a time


def map_rows(rows: list[Mapping[str, Any]], base_lookup: dict[str, str],
             html: bool) -> list[tuple[dict[str, Any], set[str]]]:
    """`map_props` for every row of a file: rows that share their attribute names (most files: all of them) are
    mapped a column at a time, each column's conversion chosen once; each row gets what map_props gives it."""
    out: list[tuple[dict[str, Any], set[str]] | None] = [None] * len(rows)
    groups: dict[tuple, list[int]] = {}
    for i, props in enumerate(rows):
        groups.setdefault(tuple(props), []).append(i)
    for keys, numbers in groups.items():
        if len(numbers) < COLUMN_MIN_ROWS:
            for i in numbers:
                out[i] = map_props(rows[i], base_lookup, html)
            continue
        mapped: list[dict[str, Any]] = [{} for _ in numbers]
        ignored: list[set[str]] = [set() for _ in numbers]
        for key in keys:
            target, reported = _key_target(key)
            column = [rows[i][key] for i in numbers]
            if target is None:
                if reported:
                    for unknown, value in zip(ignored, column, strict=True):
                        if _present(value):
                            unknown.add(str(key))
                continue
            convert = _column_converter(target, base_lookup, html)
            for rec, value in zip(mapped, column, strict=True):
                if target in rec and rec[target] is not None:
                    continue
                value = convert(value)
                if value is not _ABSENT:
                    rec[target] = value
        for i, rec, unknown in zip(numbers, mapped, ignored, strict=True):
            if "facility_status" in rec:
                rec["facilities"] = rec.pop("facility_status")
            out[i] = (rec, unknown)
    return out  # type: ignore[return-value]


_ABSENT = object()  # a column converter's answer for a value that is not there (map_props skips it)


def _column_converter(target: str, base_lookup: dict[str, str], html: bool) -> Callable[[Any], Any]:
    """map_props' steps for one value of a column (plain_value, _present, _convert) with the common cases taken
    first: plain text that needs no unquoting or HTML, numbers, lists of terms (cached per list)."""
    def general(value: Any) -> Any:
        value = plain_value(value)
        return _convert(target, value, base_lookup, html) if _present(value) else _ABSENT

    if target in _TEXT:
        needs_html = html and target in ("description", "description_zh", "description_en")

        def text(value: Any) -> Any:
            if type(value) is str:
                stripped = value.strip()
                if not stripped:
                    return _ABSENT
                if stripped[0] != "'" and not (needs_html and "<" in stripped):
                    return stripped
            return general(value)
        return text
    if target in _NUMBERS:
        return lambda value: value if type(value) in (int, float) else general(value)
    if target in _TERMS:
        def terms(value: Any) -> Any:
            if type(value) is list and value and all(type(v) is str for v in value):
                return list(_terms(target, tuple(value)))
            return general(value)
        return terms
    return general


@functools.lru_cache(maxsize=4096)  # every row of a file repeats the same few keys
def _key_target(key: Any) -> tuple[str | None, bool]:
    """The record field an attribute maps to (None: not one), and whether an ignored one is worth reporting."""
    k = norm_key(key)
    target = k if k in _FIELDS or k in ("name", "description") else _KEY_ALIASES.get(k)
    return target, target is None and k not in _NOISE


_PLAIN_TYPES = frozenset((str, int, float, bool, list, dict, type(None)))


def plain_value(value: Any) -> Any:
    """numpy scalars and arrays from GDAL as Python values; NaN/NaT from GDAL mean 'no value'."""
    if type(value) in _PLAIN_TYPES:  # JSON's values: nothing to convert (and no attribute lookup that fails)
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bytes):
        return None
    return value


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return bool(value)
    return True


def _convert(target: str, value: Any, base_lookup: dict[str, str], html: bool) -> Any:
    if target in _TEXT:
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        text = str(value).strip()
        if text.startswith("'") and text[1:2] in _FORMULA_START:
            text = text[1:]  # this app's CSV export neutralises formulas with a leading apostrophe
        if html and target in ("description", "description_zh", "description_en") and "<" in text:
            text = _html_text(text)
        return text
    if target in _NUMBERS:
        return _number(value)
    if target in _TERMS:
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return list(_terms(target, tuple(value) if isinstance(value, list) else value))
        return [vocab_term(t, _TERMS[target]) for t in _term_list(value)]
    if target == "facility_status":  # this app's exports: a JSON list of {facility, status, ...}
        value = facts.from_cell(value)
        if isinstance(value, list):
            return [{**v, "facility": vocab_term(str(v.get("facility", "")), vocab.FACILITIES)} if isinstance(v, dict)
                    else v for v in value]
        return value
    if target == "verified":
        return _boolean(value)
    if target == "base":
        text = str(value).strip()
        return base_lookup.get(text) or base_lookup.get(text.casefold()) or text
    if target == "position_method":
        return vocab_term(str(value).strip(), vocab.POSITION_METHODS)
    return value


@functools.lru_cache(maxsize=4096)  # a file repeats a few hundred term lists
def _terms(target: str, value: str | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(vocab_term(t, _TERMS[target]) for t in _term_list(list(value) if isinstance(value, tuple) else value))


def _number(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return value
    text = str(value).strip().rstrip("m米 ")
    try:
        return float(text)
    except ValueError:
        return str(value)  # clean_site_record says "must be a number"


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "y", "1", "是", "已核实", "t"):
        return True
    if text in ("false", "no", "n", "0", "否", "未核实", "f"):
        return False
    return str(value)


def _term_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = str(value).strip()
        items = None
        if text.startswith("["):
            try:
                loaded = json.loads(text)
                items = [str(v) for v in loaded] if isinstance(loaded, list) else None
            except (ValueError, RecursionError):
                items = None
        if items is None:
            items = re.split(r"[,，、;；|]", text)
    return [i.strip() for i in items if i and i.strip()]


def vocab_term(text: str, vocabulary: dict[str, vocab.Term]) -> str:
    """A slug, or the slug of a zh/en label (any case); unknown text is returned for the validator to name."""
    if text in vocabulary:
        return text
    folded = text.casefold().replace("-", "_").replace(" ", "_")
    for term in vocabulary.values():
        if folded == term.slug or text == term.zh or text.casefold() == term.en.casefold():
            return term.slug
    return text


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _split_bilingual(name: str) -> tuple[str, str] | None:
    """"百丈漈瀑布 (Baizhangji Falls)" -> both names: how this app's GPX/KML exports and many planners write them."""
    text = name.strip()
    if not text.endswith((")", "）")):
        return None
    for i, c in enumerate(text):
        if c in "(（" and i:
            zh, en = text[:i].strip(), text[i + 1:-1].strip()
            if _has_cjk(zh) and not _has_cjk(en) and re.search("[A-Za-z]", en):
                return zh, en
    return None


def _has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def site_names(mapped: dict, copy: bool) -> dict[str, str]:
    """name_zh/name_en (and descriptions) from their own fields or from `name`/`description`: CJK text is Chinese.

    For a new site (copy=True) a missing language copies the other, as the seed data does.
    """
    out: dict[str, str] = {}
    for base in ("name", "description"):
        zh, en, generic = mapped.get(f"{base}_zh"), mapped.get(f"{base}_en"), mapped.get(base)
        both = _split_bilingual(generic) if generic and base == "name" else None
        if both:
            zh, en = zh or both[0], en or both[1]
        elif generic:
            if _has_cjk(generic):
                zh = zh or generic
            else:
                en = en or generic
        if copy:
            zh, en = zh or en, en or zh
        if zh:
            out[f"{base}_zh"] = zh
        if en:
            out[f"{base}_en"] = en
    return out


class _TextOnly(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    """A KML balloon's HTML as plain text (the app shows descriptions as text)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)

