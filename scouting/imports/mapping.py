"""A file row's attributes -> the fields of a site record (the record cleaner in `scouting.sites` checks them).

Planners' files name things their own way: Chinese or English column names, vocabulary terms as zh/en labels,
"百丈漈瀑布 (Baizhangji Falls)" as one name, KML balloons as HTML, numbers with "米" after them, and this
app's own exports with their extra columns.  Everything here is pure (no database, no files), so each rule
can be tested on its own; a value that cannot be converted is passed on unchanged for the cleaner to name.
"""
from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass
class MappedColumns:
    """`map_props` of every row of a file, held as columns: `columns[field][i]` is row i's value (None: the row
    gives none; map_props never maps to None; rows with the same term list share one list: read, never change),
    `reported[attribute][i]` whether row i's ignored attribute is worth reporting."""

    size: int
    columns: dict[str, list[Any]]
    reported: dict[str, list[bool]]

    def column(self, field: str) -> list[Any]:
        return self.columns.get(field) or [None] * self.size

    def row(self, i: int) -> dict[str, Any]:
        """Row i as map_props gives it (its lists its own: a column's rows may share one)."""
        return {field: list(values[i]) if type(values[i]) is list else values[i]
                for field, values in self.columns.items() if values[i] is not None}

    def ignored(self, i: int | None = None) -> set[str]:
        """The attributes ignored in row i, or in any row."""
        return {key for key, present in self.reported.items() if (any(present) if i is None else present[i])}


def map_rows(rows: list[Mapping[str, Any]], base_lookup: dict[str, str],
             html: bool) -> list[tuple[dict[str, Any], set[str]]]:
    """`map_props` for every row of a file (map_columns, made into one dict per row)."""
    mapped = map_columns(rows, base_lookup, html)
    return [(mapped.row(i), mapped.ignored(i)) for i in range(mapped.size)]


def map_columns(rows: list[Mapping[str, Any]], base_lookup: dict[str, str], html: bool) -> MappedColumns:
    """`map_props` for every row of a file, as columns: rows that share their attribute names (most files: all of
    them) are mapped a column at a time, each column's conversion chosen once and each distinct term list, method
    or base converted once; any other row goes through map_props.  Each row gets what map_props gives it."""
    size = len(rows)
    out = MappedColumns(size, {}, {})

    def target_column(field: str) -> list[Any]:
        return out.columns.setdefault(field, [None] * size)

    groups: dict[tuple, list[int]] = {}
    for i, props in enumerate(rows):
        groups.setdefault(tuple(props), []).append(i)
    for keys, numbers in groups.items():
        if len(numbers) < COLUMN_MIN_ROWS:
            for i in numbers:
                mapped, ignored = map_props(rows[i], base_lookup, html)
                for field, value in mapped.items():
                    target_column(field)[i] = value
                for key in ignored:
                    out.reported.setdefault(key, [False] * size)[i] = True
            continue
        whole = len(numbers) == size  # the common case: one group, its columns are the file's
        group = rows if whole else [rows[i] for i in numbers]
        filled: dict[str, list[Any]] = {}  # this group's fields so far (the first attribute mapped to one wins)
        # The group's columns in one pass over its rows (their attributes are in the same order): a pass per
        # attribute would visit every row's dict again.
        for key, column in zip(keys, zip(*map(tuple, map(operator.methodcaller("values"), group)), strict=True),
                               strict=True):
            target, reported = _key_target(key)
            if target is None:
                if reported:
                    present = [_present(value) for value in column]
                    if any(present):
                        flags = out.reported.setdefault(str(key), [False] * size)
                        for i, flag in zip(numbers, present, strict=True):
                            flags[i] = flags[i] or flag
                continue
            values = _convert_column(target, column, base_lookup, html)
            earlier = filled.get(target)
            filled[target] = values if earlier is None else [
                first if first is not None else value for first, value in zip(earlier, values, strict=True)]
        for field, values in filled.items():
            if whole and field not in out.columns:
                out.columns[field] = values
            else:
                full = target_column(field)
                for i, value in zip(numbers, values, strict=True):
                    full[i] = value
    statuses = out.columns.pop("facility_status", None)
    if statuses is not None:  # the fuller statement: each facility with its status
        facilities = target_column("facilities")
        for i, stated in enumerate(statuses):
            if stated is not None:
                facilities[i] = stated
    return out


def _convert_column(target: str, column: list[Any], base_lookup: dict[str, str], html: bool) -> list[Any]:
    """map_props' steps (plain_value, _present, _convert) for a column of one field: None where a value is not
    there.  The common cases are taken first: plain text that needs no unquoting or HTML, numbers; a text that a
    column repeats (a term list, a method, a base) is converted once."""
    def general(value: Any) -> Any:
        value = plain_value(value)
        return _convert(target, value, base_lookup, html) if _present(value) else None

    if target in _TEXT:
        needs_html = html and target in ("description", "description_zh", "description_en")

        def text(value: Any) -> Any:
            if type(value) is str:
                stripped = value.strip()
                if not stripped:
                    return None
                if stripped[0] != "'" and not (needs_html and "<" in stripped):
                    return stripped
            return general(value)
        return [text(value) for value in column]
    if target in _NUMBERS:
        return [value if type(value) in (int, float) else general(value) for value in column]
    if target in _TERMS:
        # A list of text is converted once per distinct list, and the rows that hold it share the one result
        # (MappedColumns.row gives each row its own copy).
        known: dict[tuple, list[str]] = {}
        out = []
        for value in column:
            if type(value) is list:
                key = tuple(value)
                try:
                    out.append(known[key])
                    continue
                except KeyError:
                    if value and all(type(v) is str for v in value):
                        converted = known[key] = list(_terms(target, key))
                        out.append(converted)
                        continue
                except TypeError:  # an item that cannot be a key (a dict): the general steps
                    pass
            out.append(general(value))
        return out
    if target in ("position_method", "base"):
        converted: dict[str, Any] = {}  # a column repeats a few texts

        def repeated(value: Any) -> Any:
            if type(value) is str:
                try:
                    return converted[value]
                except KeyError:
                    result = converted[value] = general(value)
                    return result
            return general(value)
        return [repeated(value) for value in column]
    return [general(value) for value in column]


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
        zh, en = _languages(mapped.get(f"{base}_zh"), mapped.get(f"{base}_en"), mapped.get(base), base)
        if copy:
            zh, en = zh or en, en or zh
        if zh:
            out[f"{base}_zh"] = zh
        if en:
            out[f"{base}_en"] = en
    return out


def site_name_columns(mapped: MappedColumns, copy: bool) -> dict[str, list[str | None]]:
    """`site_names` of every row as columns (None where a row has none): the same rule, a column at a time."""
    out: dict[str, list[str | None]] = {}
    for base in ("name", "description"):
        zh, en, generic = (mapped.column(f"{base}_zh"), mapped.column(f"{base}_en"),
                           mapped.columns.get(base))
        if generic is None:  # no row has the generic field: each language is its own field
            pairs = zip(zh, en, strict=True)
        else:
            pairs = (_languages(*cells, base) for cells in zip(zh, en, generic, strict=True))
        if copy:
            pairs = ((z or e, e or z) for z, e in pairs)
        out[f"{base}_zh"], out[f"{base}_en"] = [], []
        zh_out, en_out = out[f"{base}_zh"], out[f"{base}_en"]
        for z, e in pairs:
            zh_out.append(z or None)
            en_out.append(e or None)
    return out


def _languages(zh: str | None, en: str | None, generic: str | None, base: str) -> tuple[str | None, str | None]:
    """A field's Chinese and English text from its own fields, else from the generic one (name, description)."""
    both = _split_bilingual(generic) if generic and base == "name" else None
    if both:
        return zh or both[0], en or both[1]
    if generic:
        if _has_cjk(generic):
            return zh or generic, en
        return zh, en or generic
    return zh, en


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

