"""Controlled vocabularies: the only terms a site may carry, each with zh-CN and English labels.

Slugs are the stable identifiers used in the database, the API and URLs; labels are for people.
The order of each vocabulary is the order shown in the UI.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    slug: str
    zh: str
    en: str
    # A label short enough to stand inside a sentence, e.g. "±8 km (township seat)"; the label above defines it.
    short_en: str = ""

    def short(self, lang: str) -> str:
        """The inline label in `lang` ("zh" or "en"): the short one where the full label is a definition."""
        return self.zh if lang == "zh" else (self.short_en or self.en)


def _terms(*rows: tuple[str, str, str]) -> dict[str, Term]:
    return {slug: Term(slug, zh, en) for slug, zh, en in rows}


GENRES = _terms(
    # The ten themed bases of the 2017 report (宗教 and 武侠 kept apart).
    ("costume", "古装", "Costume drama"),
    ("ming_qing", "明清", "Ming–Qing"),
    ("period", "年代", "Period (20th century)"),
    ("youth", "青春", "Youth drama"),
    ("wedding", "婚庆", "Wedding"),
    ("ethnic", "民族", "Ethnic (She people)"),
    ("red", "红色", "Revolutionary (red)"),
    ("nature", "自然风光", "Natural scenery"),
    ("religious", "宗教", "Religious"),
    ("wuxia", "武侠", "Wuxia (martial arts)"),
    ("historical", "历史", "Historical"),
    # Micro-film themes the report names, where a site suits them.
    ("documentary", "纪录片", "Documentary"),
    ("commercial", "商业定制", "Commercial / brand film"),
    ("fashion", "时尚潮流", "Fashion"),
    ("public_welfare", "公益教育", "Public welfare / education"),
    ("music_video", "音乐短片", "Music video"),
)

TERRAIN = _terms(
    ("waterfall", "瀑布", "Waterfall"),
    ("river", "江河溪流", "River / stream"),
    ("lake", "湖泊水库", "Lake / reservoir"),
    ("forest", "森林", "Forest"),
    ("mountain", "山峰", "Mountain / peak"),
    ("canyon", "峡谷", "Canyon / gorge"),
    ("ancient_village", "古村落", "Ancient village"),
    ("town_street", "城镇街巷", "Town street"),
    ("temple", "寺庙祠堂", "Temple / shrine"),
    ("industrial_heritage", "工业遗产", "Industrial heritage"),
    ("resort", "度假区别墅", "Resort / villas"),
    ("farmland", "田园梯田", "Farmland / terraces"),
    ("ancient_trail", "古道", "Ancient trail"),
    ("memorial", "纪念地", "Memorial site"),
)

FACILITIES = _terms(
    ("parking", "停车场", "Parking"),
    ("large_vehicle_access", "大型车辆通行", "Large-vehicle access"),
    ("mains_power", "市电接入", "Mains power"),
    ("accommodation", "住宿", "Accommodation"),
    ("catering", "餐饮", "Catering"),
    ("toilets", "卫生间", "Toilets"),
    ("mobile_signal", "手机信号", "Mobile signal"),
    ("drone_allowed", "可航拍", "Drone flights allowed"),
    ("boats", "船只游艇", "Boats / yachts"),
    ("hot_spring", "温泉", "Hot spring"),
    ("golf_green", "高尔夫果岭", "Golf green"),
    ("villas", "别墅", "Villas"),
    ("costume_props", "服装道具", "Costume & props"),
    ("equipment_hire", "器材租赁", "Equipment hire"),
)

SEASONS = _terms(
    ("spring", "春", "Spring"),
    ("summer", "夏", "Summer"),
    ("autumn", "秋", "Autumn"),
    ("winter", "冬", "Winter"),
)

# How a stored position was obtained, from best to worst.  Shown to users next to the accuracy.
POSITION_METHODS = {t.slug: t for t in (
    Term("surveyed", "实地测量", "Surveyed on site (GNSS)", "surveyed on site"),
    Term("gps", "手机定位", "Phone GPS (accuracy as reported)", "phone GPS"),
    Term("geocoded", "地图地理编码", "Geocoded point of interest", "geocoded"),
    Term("township_seat", "乡镇驻地", "Township seat (the place lies in this township)", "township seat"),
    Term("estimate", "估计位置", "Estimate", "estimate"),
)}

# Positions measured at the site itself: not approximate unless their accuracy says so.
ON_SITE_METHODS = ("surveyed", "gps")

# The vocabularies a site is tagged with, by the name used in the database and the API.
TAG_VOCABULARIES: dict[str, dict[str, Term]] = {
    "genre": GENRES,
    "terrain": TERRAIN,
    "facility": FACILITIES,
}


def as_json() -> dict:
    """The vocabularies as served by GET /api/vocabulary."""
    def listing(vocab: dict[str, Term]) -> list[dict]:
        return [{"slug": t.slug, "zh": t.zh, "en": t.en} for t in vocab.values()]

    def with_short(vocab: dict[str, Term]) -> list[dict]:
        return [{"slug": t.slug, "zh": t.zh, "en": t.en, "short_zh": t.short("zh"), "short_en": t.short("en")}
                for t in vocab.values()]

    return {
        "genres": listing(GENRES),
        "terrain": listing(TERRAIN),
        "facilities": listing(FACILITIES),
        "seasons": listing(SEASONS),
        "position_methods": with_short(POSITION_METHODS),
        "facility_icons": FACILITY_ICONS,
        "genre_colours": GENRE_COLOURS,
    }


# The colour of each genre on the map page (site dots, base flags, legend, filter chips), CSS hex.
# The page reads them from here (GET /api/vocabulary, the template), never from a copy of its own.
GENRE_COLOURS = {
    "costume": "#b03a2e", "ming_qing": "#7d5a3c", "period": "#5d6d7e", "youth": "#d35400", "wedding": "#c2185b",
    "ethnic": "#117a65", "red": "#c0392b", "nature": "#1e8449", "religious": "#7d3c98", "wuxia": "#283747",
    "historical": "#9a7d0a", "documentary": "#2c3e50", "commercial": "#1f618d", "fashion": "#ad1457",
    "public_welfare": "#239b56", "music_video": "#6c3483",
}

# A pictogram per facility, always shown beside its label (never instead of it).
FACILITY_ICONS = {
    "parking": "🅿️", "large_vehicle_access": "🚚", "mains_power": "🔌", "accommodation": "🛏️", "catering": "🍜",
    "toilets": "🚻", "mobile_signal": "📶", "drone_allowed": "🚁", "boats": "⛵", "hot_spring": "♨️",
    "golf_green": "⛳", "villas": "🏡", "costume_props": "👘", "equipment_hire": "🎥",
}

# Each tag term's bit in the site row's masks (sites.genre_mask, terrain_mask, facility_mask and
# facility_verified_mask), so a tag filter is `mask & :terms` on the rows the spatial index returns.
# Stored masks depend on these numbers: a bit never moves and is never reused (a new term takes the next free bit,
# with a migration that adds its tag_bits row and recomputes the masks).  Masks are signed 64-bit integers: bits 0..62.
TAG_BITS: dict[str, dict[str, int]] = {
    "genre": {
        "costume": 0, "ming_qing": 1, "period": 2, "youth": 3, "wedding": 4, "ethnic": 5, "red": 6, "nature": 7,
        "religious": 8, "wuxia": 9, "historical": 10, "documentary": 11, "commercial": 12, "fashion": 13,
        "public_welfare": 14, "music_video": 15,
    },
    "terrain": {
        "waterfall": 0, "river": 1, "lake": 2, "forest": 3, "mountain": 4, "canyon": 5, "ancient_village": 6,
        "town_street": 7, "temple": 8, "industrial_heritage": 9, "resort": 10, "farmland": 11, "ancient_trail": 12,
        "memorial": 13,
    },
    "facility": {
        "parking": 0, "large_vehicle_access": 1, "mains_power": 2, "accommodation": 3, "catering": 4, "toilets": 5,
        "mobile_signal": 6, "drone_allowed": 7, "boats": 8, "hot_spring": 9, "golf_green": 10, "villas": 11,
        "costume_props": 12, "equipment_hire": 13,
    },
}
MASK_BITS = 63


def tag_mask(vocabulary: str, terms) -> int:
    """The mask of some terms of a vocabulary (their bits ORed)."""
    values = _BIT_VALUES[vocabulary]
    return sum(values[term] for term in set(terms))


_BIT_VALUES = {vocabulary: {term: 1 << bit for term, bit in bits.items()} for vocabulary, bits in TAG_BITS.items()}


def record_masks(genres, terrain, facilities) -> dict[str, int]:
    """site_masks for a cleaned record's term lists and facility entries, without making its tag rows."""
    facility_mask, verified_mask = facility_masks(facilities)
    return {"genre_mask": tag_mask("genre", genres), "terrain_mask": tag_mask("terrain", terrain),
            "facility_mask": facility_mask, "facility_verified_mask": verified_mask}


def facility_masks(facilities) -> tuple[int, int]:
    """(facility_mask, facility_verified_mask) of a record's facility entries: a facility verified absent sets no
    bit, one verified present sets both (one loop: a bulk import asks this of every new site)."""
    values = _BIT_VALUES["facility"]
    mask = verified = 0
    for entry in facilities:
        status = entry["status"]
        if status != "verified_absent":
            value = values[entry["facility"]]
            mask |= value
            if status == "verified_present":
                verified |= value
    return mask, verified


def site_masks(tags) -> dict[str, int]:
    """A site's mask columns from its site_tags rows (dicts with vocabulary, term and, for a facility, status).

    Bulk writers may set them with the site row: the insert triggers then find every bit set and write nothing
    more.  (A facility verified absent sets no bit; one verified present sets both facility masks.)"""
    def terms(vocabulary: str) -> list[str]:
        return [tag["term"] for tag in tags if tag["vocabulary"] == vocabulary]

    facilities = [{"facility": tag["term"], "status": tag.get("status")} for tag in tags if tag["vocabulary"] == "facility"]
    return record_masks(terms("genre"), terms("terrain"), facilities)


# The English name of each place a themed base is centred on (bases.towns holds the Chinese names, as the 2017
# report gives them).  Pinyin and qualifiers as in geodata/SOURCES.md §7; a test keeps every seed base's towns here.
TOWNS = {
    "南田": "Nantian",
    "梧溪": "Wuxi (Wencheng)",
    "周山": "Zhoushan (Wencheng)",
    "李山": "Lishan",
    "让川": "Rangchuan",
    "大峃镇": "Daxue Town",
    "天鹅堡": "Tian'ebao",
    "玉壶": "Yuhu",
    "月老山": "Yuelao Mountain",
    "培头": "Peitou",
    "珊溪": "Shanxi (Wencheng)",
    "百丈漈": "Baizhangji",
    "安福寺": "Anfu Temple",
    "百丈漈水电站": "Baizhangji Hydropower Station",
}


def towns_en(towns: list[str]) -> list[str]:
    """The English names of a base's towns; a town not in TOWNS keeps its Chinese name (a test forbids that for
    the seed data)."""
    return [TOWNS.get(town, town) for town in towns]
