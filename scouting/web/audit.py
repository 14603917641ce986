"""The audit log on the web: who is acting in each request (for scouting.audit), the planners' page, admins' export.

The origin is handed to the core as a function, so the signed-in user (or the API token's user, once `api_user`
has checked it) is looked up only when a write records an event.  The address is `request.remote_addr`, which
is the client's behind a proxy (SCOUTING_PROXY_FIX, scouting.web.security) and the socket's peer otherwise.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, g, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit, audit_text
from ..errors import InvalidParameter
from ..formats.audit_export import AUDIT_FORMATS, audit_export
from ..i18n import current_language
from ..models import Site
from .admin import admin_required
from .planner import planner_required, site_labels
from .session import get_session

bp = Blueprint("audit", __name__)


def request_origin() -> audit.Origin:
    channel = "api" if request.path.startswith("/api/") else "web"
    origin = audit.Origin(actor="anonymous", channel=channel, remote_addr=request.remote_addr,
                          user_agent=request.user_agent.string or None)
    api_user = g.get("api_user")
    if api_user is not None:
        return audit.with_actor(origin, api_user.username, api_user.id, f"token:{g.get('api_token_id')}")
    credential = "edit-token" if request.headers.get("X-Edit-Token") else None
    if current_user.is_authenticated:
        return audit.with_actor(origin, current_user.username, current_user.id, credential or "session")
    return audit.with_actor(origin, "anonymous", None, credential)


def init_app(app: Flask) -> None:
    @app.before_request
    def _set_audit_origin():
        g.audit_origin_token = audit.set_origin(request_origin)

    @app.teardown_request
    def _reset_audit_origin(_exc):
        token = g.pop("audit_origin_token", None)
        if token is not None:
            try:
                audit.reset_origin(token)
            except ValueError:  # set in another context (cannot happen with Flask's request handling; be safe)
                pass


@bp.get("/audit")
@planner_required
def events():
    args = request.args.to_dict()
    args.pop("lang", None)  # the site's language switch, not a filter
    page = audit.parse_page(args.pop("page", None))
    flt = audit.parse_filter(args)
    session = get_session()
    found = audit.find_events(session, flt, page)
    lang = "zh" if current_language() == "zh_CN" else "en"
    return render_template("audit.html", found=found, flt=flt, actors=audit.actors(session),
                           formats=tuple(AUDIT_FORMATS), is_admin=current_user.role == "admin",
                           rows={e.id: _row(e, lang) for e in found.events}, site_names=_site_names(session, found, lang),
                           action_choices=_choices(audit_text.ACTIONS, audit_text.FAMILIES, lang),
                           object_choices=_choices(audit_text.OBJECT_TYPES, {}, lang),
                           other_action=audit_text.action_label("", lang), other_object=audit_text.object_type_label("", lang))


def _row(event, lang: str) -> dict[str, str]:
    """An event's columns as a person reads them in `lang` (the export keeps the codes, for programs)."""
    labels = site_labels()
    return {"action": audit_text.action_label(event.action, lang), "channel": audit_text.channel_label(event.channel, lang),
            "actor": audit_text.actor_label(event.actor, lang),
            "credential": audit_text.credential_label(event.credential, lang),
            "object": audit_text.object_type_label(event.object_type, lang) if event.object_type else "",
            "summary": audit_text.summary_text(event.action, event.summary, lang, lambda f: labels.get(f, f))}


def _site_names(session, found, lang: str) -> dict[str, str]:
    """The names of the sites the page's events are about, in `lang` (their slugs are codes)."""
    ids = {int(e.object_id) for e in found.events if e.object_type == "site" and (e.object_id or "").isdigit()}
    if not ids:
        return {}
    rows = session.execute(select(Site.id, Site.name_zh, Site.name_en).where(Site.id.in_(ids)))
    return {str(i): (zh if lang == "zh" else (en or zh)) for i, zh, en in rows}


def _choices(terms, families, lang: str) -> list[tuple[str, str]]:
    return [(code, term.short(lang)) for code, term in (*families.items(), *terms.items())]


@bp.get("/audit/export")
@admin_required
def export():
    args = request.args.to_dict()
    fmt = args.pop("format", "csv")
    if fmt not in AUDIT_FORMATS:
        raise InvalidParameter("format", f"must be one of {', '.join(AUDIT_FORMATS)}")
    flt = audit.parse_filter(args, allowed=audit.FILTERS[:-1])
    maker = current_app.extensions["scouting"]["sessionmaker"]  # the stream outlives the request's session
    mimetype, extension = AUDIT_FORMATS[fmt]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    current_app.logger.info("audit log exported by %s as %s (%s)", current_user.username, fmt, flt.as_args())
    return Response(_streamed(maker, flt, fmt), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="audit-{stamp}.{extension}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


def _streamed(maker, flt, fmt):
    session = maker()
    try:
        yield from audit_export(audit.iter_events(session, flt), fmt)
    finally:
        session.close()


@bp.app_template_filter("utc")
def utc_text(moment) -> str:
    return audit.as_utc(moment).strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_global()
def audit_object_url(event) -> str | None:
    """Where an event's object can be looked at: a site's history."""
    if event.object_type == "site" and (event.object_id or "").isdigit():
        return url_for("planner.history", site_id=int(event.object_id))
    return None
