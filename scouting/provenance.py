"""Where a site's position and facts come from, as one sentence for the public in each language.

The staff's notes (coord_source, facts_source) name file rows, repositories and commits: they stay with the data,
in the API and the exports.  The public reads the position's method, how far off it may be, whether someone checked
it on the ground, and the site's short public source phrase (source_public_zh/_en), or a plain fallback.
"""
from __future__ import annotations

from typing import Any

from .models import Site, ThemedBase

# The position methods as a sentence says them (vocab.POSITION_METHODS' labels are headings).
METHOD_WORDS = {
    "zh": {"surveyed": "实地测量", "gps": "手机定位", "geocoded": "地图地名定位", "township_seat": "乡镇驻地",
           "estimate": "估计"},
    "en": {"surveyed": "surveyed on site", "gps": "phone GPS", "geocoded": "a map's place-name point",
           "township_seat": "the township seat", "estimate": "an estimate"},
}
FALLBACK_SOURCE = {"zh": "尚未整理成公开说明", "en": "not yet written up for the public"}


def accuracy_words(metres: float | int | None, lang: str) -> str | None:
    """"约 8 公里" / "about 8 km"; metres under a kilometre stay metres."""
    if metres is None:
        return None
    if metres >= 1000:
        km = round(metres / 1000, 1)
        number = f"{km:g}"
        return f"约 {number} 公里" if lang == "zh" else f"about {number} km"
    number = f"{round(metres):d}"
    return f"约 {number} 米" if lang == "zh" else f"about {number} m"


def provenance_text(position_method: str | None, accuracy_m: float | int | None, verified: bool,
                    source_public: str | None, lang: str) -> str:
    """One sentence, e.g. "位置：乡镇驻地，误差约 8 公里，尚未实地核实。来源：百度地图地名坐标（大峃镇驻地）。"."""
    method = METHOD_WORDS[lang].get(position_method or "")
    accuracy = accuracy_words(accuracy_m, lang)
    source = (source_public or "").strip().rstrip("。.;；") or FALLBACK_SOURCE[lang]
    if lang == "zh":
        parts = [f"位置：{method}" if method else "位置"]
        if accuracy:
            parts.append(f"误差{accuracy}")
        parts.append("已实地核实" if verified else "尚未实地核实")
        return "，".join(parts) + f"。来源：{source}。"
    parts = [f"Position: {method}" if method else "Position"]
    if accuracy:
        parts.append(f"may be off by {accuracy}")
    parts.append("checked on the ground" if verified else "not yet checked on the ground")
    return ", ".join(parts) + f". Source: {source}."


def site_provenance(site: Site | ThemedBase) -> dict[str, Any]:
    """`provenance_zh` and `provenance_en` of a site (or a themed base: the same position fields and public
    source phrase), for its GeoJSON properties."""
    return {f"provenance_{lang}": provenance_text(site.position_method, site.coord_accuracy_m, bool(site.verified),
                                                  getattr(site, f"source_public_{lang}"), lang)
            for lang in ("zh", "en")}
