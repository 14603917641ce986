"""The audit log as a person reads it, in Chinese or English: labels of actions, channels, object kinds and
credentials, and each event's summary worded at display time.

The core writes each event's summary as one short English line in a fixed form per action ("<slug>; changed:
name_en, elevation_m", "for ping", "3 site(s)"): the export keeps those lines for programs.  The page words them
again here from the parts of that form, so every row ever written, old ones included, reads in the page's language
without a migration or a second stored copy.  A summary in no known form is shown only on the English page (it is
English); the Chinese page then shows the action's label alone.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from . import facts, vocab
from .vocab import Term

ACTIONS = vocab._terms(
    ("site.create", "新建外景地", "site created"),
    ("site.update", "修改外景地", "site changed"),
    ("site.delete", "删除外景地", "site deleted"),
    ("site.undelete", "恢复已删除的外景地", "deleted site brought back"),
    ("site.restore", "还原外景地的旧版本", "site restored to an earlier version"),
    ("photo.upload", "上传照片", "photo uploaded"),
    ("photo.delete", "删除照片", "photo deleted"),
    ("pack.create", "新建资料包", "pack created"),
    ("pack.update", "修改资料包", "pack changed"),
    ("pack.delete", "删除资料包", "pack deleted"),
    ("suggestion.create", "提交建议", "suggestion sent"),
    ("suggestion.accept", "采纳建议", "suggestion accepted"),
    ("suggestion.reject", "退回建议", "suggestion rejected"),
    ("import.commit", "导入文件", "file imported"),
    ("geodata.load", "载入基础数据", "reference data loaded"),
    ("synth.load", "生成测试外景地", "synthetic sites made"),
    ("user.create", "新建账户", "account created"),
    ("user.role", "更改账户角色", "account role changed"),
    ("user.enable", "启用账户", "account switched on"),
    ("user.disable", "停用账户", "account switched off"),
    ("user.password", "更改密码", "password changed"),
    ("token.create", "新建 API 令牌", "API token created"),
    ("token.revoke", "停用 API 令牌", "API token switched off"),
    ("login.success", "登录", "signed in"),
    ("login.failure", "登录失败", "sign-in refused"),
)
# The filter's families ("site." matches every site action).
FAMILIES = vocab._terms(
    ("site.", "外景地（全部）", "sites (all)"), ("photo.", "照片（全部）", "photos (all)"),
    ("pack.", "资料包（全部）", "packs (all)"), ("suggestion.", "建议（全部）", "suggestions (all)"),
    ("user.", "账户（全部）", "accounts (all)"), ("token.", "API 令牌（全部）", "API tokens (all)"),
    ("login.", "登录（全部）", "sign-ins (all)"),
)
OTHER_ACTION = Term("", "其他操作", "other action")
OBJECT_TYPES = vocab._terms(
    ("site", "外景地", "site"), ("photo", "照片", "photo"), ("pack", "资料包", "pack"),
    ("suggestion", "建议", "suggestion"), ("user", "账户", "account"), ("token", "API 令牌", "API token"),
    ("import", "导入", "import"), ("geodata", "基础数据", "reference data"),
)
CHANNELS = vocab._terms(
    ("web", "网页", "web page"), ("api", "API", "API"), ("cli", "命令行", "command line"),
    ("import", "导入", "import"), ("internal", "系统内部", "internal"),
)
ROLES = vocab._terms(("director", "导演", "director"), ("planner", "策划", "planner"), ("admin", "管理员", "administrator"))
PACK_FIELDS = vocab._terms(
    ("name", "名称", "name"), ("description", "说明", "description"), ("site_ids", "外景地", "sites"),
    ("notes", "备注", "notes"), ("shoot_date", "拍摄日期", "shooting date"), ("expires_on", "到期日", "expiry date"),
)
LOGIN_REASONS = vocab._terms(
    ("unknown username", "用户名不存在", "unknown username"), ("wrong password", "密码错误", "wrong password"),
    ("account switched off", "账户已停用", "account switched off"),
)


def _term(table: dict[str, Term], code: str | None, lang: str, fallback: Term | None = None) -> str:
    term = table.get(code or "") or fallback
    return term.short(lang) if term else (code or "")


def action_label(action: str, lang: str) -> str:
    return _term(ACTIONS, action, lang, FAMILIES.get(action) or OTHER_ACTION)


def object_type_label(object_type: str | None, lang: str) -> str:
    return _term(OBJECT_TYPES, object_type, lang, Term("", "其他", "other"))


def channel_label(channel: str, lang: str) -> str:
    return _term(CHANNELS, channel, lang, Term("", "其他", "other"))


def actor_label(actor: str, lang: str) -> str:
    """A username as is; the system's own actors by what they are."""
    if actor == "system":
        return "系统" if lang == "zh" else "the system"
    if actor == "anonymous":
        return "匿名访客" if lang == "zh" else "anonymous visitor"
    if actor.startswith("cli:"):
        return f"命令行（{actor[4:]}）" if lang == "zh" else f"command line ({actor[4:]})"
    return actor


def credential_label(credential: str | None, lang: str) -> str:
    if not credential:
        return ""
    zh = lang == "zh"
    if credential.startswith("token:"):
        return f"API 令牌 #{credential[6:]}" if zh else f"API token #{credential[6:]}"
    if credential.startswith("os:"):
        return f"系统账户 {credential[3:]}" if zh else f"system account {credential[3:]}"
    words = {"session": ("已登录的会话", "signed-in session"), "password": ("密码", "password"),
             "edit-token": ("资料包编辑密钥", "pack edit key")}.get(credential)
    return (words[0] if zh else words[1]) if words else credential


def _join(parts: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(parts)


def _fields(names: str, lang: str, label: Callable[[str], str]) -> str:
    return _join([label(n.strip()) for n in names.split(",") if n.strip()], lang)


def _changed(text: str, lang: str, label: Callable[[str], str]) -> str:
    if text == "nothing changed":
        return "没有改动" if lang == "zh" else "nothing changed"
    fields = _fields(text.removeprefix("changed: "), lang, label)
    return f"修改：{fields}" if lang == "zh" else f"changed: {fields}"


def _facility_changes(text: str, lang: str) -> str:
    """"parking reported→verified_present, toilets +reported" as labels."""
    parts = []
    for part in text.split(", "):
        match = re.fullmatch(r"(\w+) (?:([+−])(\w+)|(\w+)→(\w+))", part)
        if not match or match.group(1) not in vocab.FACILITIES:
            return ""
        name = vocab.FACILITIES[match.group(1)].short(lang)
        status = facts.STATUS_LABELS
        if match.group(2):
            state = _term(status, match.group(3), lang)
            parts.append(f"{name}（{'新增' if match.group(2) == '+' else '去掉'}：{state}）" if lang == "zh"
                         else f"{name} ({'added' if match.group(2) == '+' else 'removed'}: {state})")
        else:
            parts.append(f"{name}（{_term(status, match.group(4), lang)} → {_term(status, match.group(5), lang)}）"
                         if lang == "zh" else
                         f"{name} ({_term(status, match.group(4), lang)} → {_term(status, match.group(5), lang)})")
    return ("；" if lang == "zh" else "; ").join(parts)


def _site_summary(action: str, summary: str, lang: str, label: Callable[[str], str]) -> str | None:
    """"[to revision 7; ]<slug>; changed: a, b[; facilities: …]" (sites.audit_summary); a create, delete or
    undelete is the slug alone, which the page shows as the site's name."""
    if action in ("site.create", "site.delete", "site.undelete"):
        return ""
    match = re.fullmatch(r"(?:to revision (\d+); )?[^;]*; (changed: [^;]*|nothing changed)(?:; facilities: (.*))?",
                         summary, re.S)
    if not match:
        return None
    text = _changed(match.group(2), lang, label)
    if match.group(3):
        detail = _facility_changes(match.group(3), lang)
        if not detail:
            return None
        text += f"；设施：{detail}" if lang == "zh" else f"; facilities: {detail}"
    if match.group(1):
        text = (f"还原到第 {match.group(1)} 版；" if lang == "zh" else f"to revision {match.group(1)}; ") + text
    return text


def _site_ref(text: str, lang: str) -> str | None:
    if text == "a new site":
        return "新外景地" if lang == "zh" else "a new site"
    match = re.fullmatch(r"(?:correction of )?site (\d+)", text)
    if not match:
        return None
    if text.startswith("correction"):
        return f"更正外景地 #{match.group(1)}" if lang == "zh" else f"correction of site #{match.group(1)}"
    return f"外景地 #{match.group(1)}" if lang == "zh" else f"site #{match.group(1)}"


def _count(text: str, lang: str) -> str | None:
    match = re.fullmatch(r"(\d+) site\(s\)", text)
    if not match:
        return None
    n = int(match.group(1))
    return f"{n} 处外景地" if lang == "zh" else f"{n} site{'s' if n != 1 else ''}"


def _rule_user(action: str, summary: str, lang: str) -> str | None:
    zh = lang == "zh"
    if action == "user.create":
        match = re.fullmatch(r"(.+), role (\w+)", summary)
        return match and (f"{match.group(1)}，角色：{_term(ROLES, match.group(2), lang)}" if zh
                          else f"{match.group(1)}, role: {_term(ROLES, match.group(2), lang)}")
    if action == "user.role":
        match = re.fullmatch(r"(.+): (\w+) -> (\w+)", summary)
        return match and (f"{match.group(1)}：{_term(ROLES, match.group(2), lang)} → {_term(ROLES, match.group(3), lang)}"
                          if zh else
                          f"{match.group(1)}: {_term(ROLES, match.group(2), lang)} → {_term(ROLES, match.group(3), lang)}")
    if action == "token.create":
        match = re.fullmatch(r"for (.+)", summary)
        return match and (f"给 {match.group(1)}" if zh else f"for {match.group(1)}")
    if action == "token.revoke":
        match = re.fullmatch(r"of (.+), switched off", summary)
        return match and (f"{match.group(1)} 的令牌" if zh else f"{match.group(1)}'s token")
    if action == "login.failure":
        if summary in LOGIN_REASONS:
            return _term(LOGIN_REASONS, summary, lang)
        match = re.fullmatch(r"(.+): (wrong password|account switched off)", summary)
        return match and f"{match.group(1)}{'：' if zh else ': '}{_term(LOGIN_REASONS, match.group(2), lang)}"
    if action in ("user.enable", "user.disable", "user.password", "login.success"):
        return summary  # the username
    return None


def _rule_other(action: str, summary: str, lang: str, label: Callable[[str], str]) -> str | None:
    zh = lang == "zh"
    if action in ("pack.create", "pack.delete"):
        return _count(summary, lang)
    if action == "pack.update":
        return _changed(summary, lang, lambda name: _term(PACK_FIELDS, name, lang))
    if action in ("suggestion.create", "suggestion.accept", "suggestion.reject"):
        return _site_ref(summary, lang)
    if action in ("photo.upload", "photo.delete"):
        match = re.fullmatch(r"site (\d+)(?:; (?:image/(\w+), ([\d,]+) bytes|(its files could not be stored)))?",
                             summary)
        if not match:
            return None
        text = _site_ref(f"site {match.group(1)}", lang)
        if match.group(2):
            size = int(match.group(3).replace(",", ""))
            text += f"；{match.group(2).upper()}，{size:,} 字节" if zh else f"; {match.group(2).upper()}, {size:,} bytes"
        elif match.group(4):
            text += "；文件未能保存" if zh else "; its files could not be stored"
        return text
    if action == "import.commit":
        match = re.fullmatch(r"(.+): created (\d+)(?: \(site ids? ([\d, -]+)\))?, updated (\d+), "
                             r"skipped (\d+) duplicate\(s\)", summary, re.S)
        if not match:
            return None
        name, created, ids, updated, skipped = match.groups()
        ids = ids and (f"（编号 {ids.replace(', ', '、')}）" if zh else f" (ids {ids})")
        return (f"{name}：新建 {created}{ids or ''}，更新 {updated}，跳过重复 {skipped}" if zh
                else f"{name}: {created} created{ids or ''}, {updated} updated, {skipped} duplicates skipped")
    if action == "geodata.load":
        parts = []
        for part in summary.split("; "):
            match = re.fullmatch(r"(\w+): (\d+) created, (\d+) updated, (\d+) unchanged", part)
            if not match:
                return None
            kind = {"sites": ("外景地", "sites"), "bases": ("主题基地", "themed bases"),
                    "boundaries": ("行政界线", "boundaries")}.get(match.group(1))
            if not kind:
                return None
            parts.append(f"{kind[0]}：新建 {match.group(2)}，更新 {match.group(3)}，未变 {match.group(4)}" if zh
                         else f"{kind[1]}: {match.group(2)} created, {match.group(3)} updated, "
                              f"{match.group(4)} unchanged")
        return ("；" if zh else "; ").join(parts)
    if action == "synth.load":
        match = re.fullmatch(r"(\d+) synthetic site\(s\), seed (\d+)", summary)
        return match and (f"{match.group(1)} 处测试外景地，随机种子 {match.group(2)}" if zh
                          else f"{match.group(1)} synthetic sites, seed {match.group(2)}")
    return None


def summary_text(action: str, summary: str | None, lang: str, field_label: Callable[[str], str]) -> str:
    """An event's summary in `lang`; `field_label` names a site's field as the site form does."""
    if not summary:
        return ""
    if action.startswith("site."):
        worded = _site_summary(action, summary, lang, field_label)
    elif action.startswith(("user.", "token.", "login.")):
        worded = _rule_user(action, summary, lang)
    else:
        worded = _rule_other(action, summary, lang, field_label)
    if worded is None:
        return summary if lang == "en" else ""
    return worded
