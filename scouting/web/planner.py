"""Planner pages (signed in as planner or admin): a site's history with restore."""
from __future__ import annotations

from datetime import date
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from .. import bases, checks, facts, sites, suggestions, vocab
from ..errors import InvalidParameter, InvalidParameters, PreconditionFailed, ScoutingError
from ..formats.geojson import site_feature
from ..i18n import current_language
from ..plain_text import is_id
from ..search import get_site
from .auth import limiter, site_limit
from .session import get_session

bp = Blueprint("planner", __name__)


class RestoreForm(FlaskForm):
    revision = IntegerField(validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])


def planner_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not current_user.can_edit_sites():
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.route("/sites/<int:site_id>/history", methods=["GET", "POST"])
@planner_required
def history(site_id: int):
    session = get_session()
    form = RestoreForm()
    if form.validate_on_submit():
        try:
            sites.restore_revision(session, site_id, form.revision.data, int(form.version.data), current_user.username)
            flash("restored")
        except PreconditionFailed:
            flash("stale")
        except ScoutingError as err:
            flash(err.detail)
        return redirect(url_for("planner.history", site_id=site_id))
    revisions = sites.site_history(session, site_id)
    hit = sites.site_or_404(session, site_id, include_deleted=True)
    label = "zh" if current_language() == "zh_CN" else "en"
    base_names = {slug: getattr(base, f"name_{label}") for slug, base in bases.bases_by_slug(session).items()}
    return render_template("history.html", site=hit.site, revisions=revisions, form=form, base_names=base_names,
                           facilities_text=lambda value: facts.stored_text(value, label))


# --------------------------------------------------------------------------- add and edit sites

class SiteForm(FlaskForm):
    """The fields of a site.  Checking is done once, by scouting.sites, and its errors shown per field."""

    name_zh = StringField()
    name_en = StringField()
    slug = StringField()
    base = SelectField(choices=[])
    genres = SelectMultipleField(choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    terrain = SelectMultipleField(choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    best_seasons = SelectMultipleField(choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    elevation_m = StringField()
    area_m2 = StringField()
    description_zh = TextAreaField()
    description_en = TextAreaField()
    access_notes_zh = TextAreaField()
    access_notes_en = TextAreaField()
    permit_notes = TextAreaField()
    contact_notes = TextAreaField()
    lon = StringField()
    lat = StringField()
    datum = SelectField(choices=[(d, d) for d in sites.DATUMS])  # labelled in the page's language by _choices
    coord_source = StringField()
    coord_accuracy_m = StringField()
    position_method = SelectField(choices=[])
    facts_source = TextAreaField()
    source_public_zh = StringField()
    source_public_en = StringField()
    verified = BooleanField()
    confirm_outside = BooleanField()
    version = HiddenField()


def _choices(form: SiteForm, label: str) -> None:
    def pairs(vocabulary):
        return [(t.slug, getattr(t, label)) for t in vocabulary.values()]

    form.genres.choices = pairs(vocab.GENRES)
    form.terrain.choices = pairs(vocab.TERRAIN)
    form.best_seasons.choices = pairs(vocab.SEASONS)
    form.position_method.choices = pairs(vocab.POSITION_METHODS)
    form.datum.choices = [("wgs84", gettext("WGS-84 (GPS, Tianditu)")), ("gcj02", gettext("GCJ-02 (Amap)")),
                          ("bd09", gettext("BD-09 (Baidu Maps)"))]
    form.base.choices = [("", "—")] + [(b.slug, f"{b.number}. {getattr(b, 'name_' + label)}")
                                       for b in bases.all_bases(get_session())]


def site_labels() -> dict[str, str]:
    """The site form's labels in the page's language: the one table the form shows and its errors name fields by."""
    return {
        "name_zh": gettext("Name (Chinese)"), "name_en": gettext("Name (English)"),
        "slug": gettext("Short id (optional)"), "base": gettext("Themed base"), "genres": gettext("Genre"),
        "terrain": gettext("Terrain"), "best_seasons": gettext("Best seasons"),
        "elevation_m": gettext("Elevation (m)"), "area_m2": gettext("Area (m²)"),
        "datum": gettext("Coordinate system of the numbers below"), "lon": gettext("Longitude"),
        "lat": gettext("Latitude"), "geometry": gettext("Position"),
        "confirm_outside": gettext("The position is outside Wencheng County: keep it"),
        "coord_source": gettext("Where the position comes from"), "coord_accuracy_m": gettext("Accuracy (m)"),
        "position_method": gettext("How it was obtained"), "verified": gettext("Verified on the ground"),
        "facilities": gettext("Facilities"), "description_zh": gettext("Description (Chinese)"),
        "description_en": gettext("Description (English)"), "access_notes_zh": gettext("Access (Chinese)"),
        "access_notes_en": gettext("Access (English)"), "permit_notes": gettext("Permits (staff only)"),
        "contact_notes": gettext("Contacts (staff only)"), "facts_source": gettext("Sources of the facts"),
        "source_public_zh": gettext("Public source (Chinese)"), "source_public_en": gettext("Public source (English)"),
    }


def error_sentence(problem: InvalidParameter, labels: dict[str, str]) -> str:
    """An error as a sentence in the page's language naming the field by its label (checks.SENTENCES)."""
    params = dict(problem.params)
    if params.get("facility") in vocab.FACILITIES:
        language = "zh" if current_language() == "zh_CN" else "en"
        params["facility"] = getattr(vocab.FACILITIES[params["facility"]], language)
    if "other" in params:
        params["other"] = labels.get(params["other"], "")
    params.update(label=labels.get(problem.name, ""), confirm=labels.get("confirm_outside", ""))
    key = "slug_needed" if (problem.name, problem.key) == ("slug", "required") else problem.key or "invalid"
    sentence = checks.SENTENCES.get(key, checks.SENTENCES["invalid"])
    return gettext(sentence, **params)


# Where a parameter's error is shown when it is not a field of its own.
_ERROR_SLOTS = {"geometry": "confirm_outside", "version": "form", "csrf_token": "form"}


def form_errors(problems: list[InvalidParameter], labels: dict[str, str], fields) -> dict[str, str]:
    """Each field's first error as a sentence, keyed by where it is shown ("form" for the top), in the form's order."""
    order = list(labels)
    errors: dict[str, str] = {}
    for problem in problems:
        slot = _ERROR_SLOTS.get(problem.name, problem.name)
        slot = slot if slot in fields or slot == "facilities" else "form"
        errors.setdefault(slot, error_sentence(problem, labels))
    return dict(sorted(errors.items(), key=lambda item: order.index(item[0]) if item[0] in order else -1))


def _number(text: str | None, name: str, problems: list[InvalidParameter]) -> float | None:
    """Form text to a number for the record (its range is the record's rule); an empty field is no value."""
    if text is None or not text.strip():
        return None
    try:
        return checks.number(text, name)
    except InvalidParameter as err:
        problems.append(err)
        return None


def _raw_from_form(form: SiteForm, problems: list[InvalidParameter]) -> dict:
    raw = {name: (getattr(form, name).data or None) for name in (
        "name_zh", "name_en", "slug", "base", "description_zh", "description_en", "access_notes_zh",
        "access_notes_en", "permit_notes", "contact_notes", "coord_source", "facts_source", "source_public_zh",
        "source_public_en", "position_method")}
    raw.update(genres=form.genres.data or [], terrain=form.terrain.data or [], facilities=_facilities_from_form(),
               best_seasons=form.best_seasons.data or [], verified=bool(form.verified.data),
               **{name: _number(getattr(form, name).data, name, problems)
                  for name in ("elevation_m", "area_m2", "coord_accuracy_m")})
    return raw


# The form's facility rows: facility-<slug> is the status ("" = not recorded), then the source of a reported
# one, or who/when/how of a verified one.
_FACT_INPUTS = {"source": "source", "by": "verified_by", "at": "verified_at", "how": "verified_how"}


def _facilities_from_form() -> list[dict]:
    entries = []
    for slug in vocab.FACILITIES:
        status = request.form.get(f"facility-{slug}", "")
        if not status:
            continue
        entry = {"facility": slug, "status": status}
        for suffix, key in _FACT_INPUTS.items():
            value = request.form.get(f"facility-{slug}-{suffix}", "").strip()
            wanted = key == "source" if status == facts.REPORTED else True
            if value and wanted:
                entry[key] = value
        entries.append(entry)
    return entries


def _facility_rows(hit, label: str, submitted: bool) -> dict:
    """What the form's facility rows show: as submitted, else as stored; a verification defaults to today by me."""
    if submitted:
        stored = {e["facility"]: e for e in _facilities_from_form()}
    else:
        stored = {e["facility"]: e for e in (hit.site.facility_facts() if hit else [])}
    today = date.today().isoformat()
    rows = []
    for term in vocab.FACILITIES.values():
        entry = stored.get(term.slug, {})
        rows.append({"slug": term.slug, "label": getattr(term, label), "status": entry.get("status", ""),
                     "source": entry.get("source") or "", "by": entry.get("verified_by") or current_user.username,
                     "at": entry.get("verified_at") or today, "how": entry.get("verified_how") or "visit"})
    return {"rows": rows,
            "statuses": [("", None)] + [(s, getattr(facts.STATUS_LABELS[s], label)) for s in facts.STATUSES],
            "methods": [(m.slug, getattr(m, label)) for m in facts.VERIFY_METHODS.values()]}


def _point(form: SiteForm) -> tuple[float, float]:
    """The typed or clicked position, converted to WGS-84 from the datum the planner chose."""
    lon, lat = checks.lon_lat(form.lon.data or "", form.lat.data or "", "lon", "lat")
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
    raw = sites.feature_to_raw(feature, form.datum.data or "wgs84")
    return raw["lon"], raw["lat"]


def _fill(form: SiteForm, hit) -> None:
    rec = sites.site_record(hit.site, hit.lon, hit.lat)
    for name, field in form._fields.items():
        if name in rec and name not in ("csrf_token",):
            value = rec[name]
            field.data = value if not isinstance(value, float) or name not in ("lon", "lat") else f"{value:.7f}"
    form.lon.data, form.lat.data = f"{hit.lon:.7f}", f"{hit.lat:.7f}"
    form.base.data = rec["base"] or ""
    form.version.data = str(hit.site.version)


def _version(text: str | None) -> int:
    """The hidden version field: the site's version when the form was opened."""
    if not text or not text.strip().isdigit():
        raise InvalidParameter("version", "is missing or not a whole number: reload the page and edit again",
                               "reload")
    return int(text)


@bp.route("/sites/new", methods=["GET", "POST"])
@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@planner_required
def edit(site_id: int | None = None):
    session = get_session()
    label = "zh" if current_language() == "zh_CN" else "en"
    form = SiteForm()
    _choices(form, label)
    hit = sites.site_or_404(session, site_id) if site_id else None
    problems: list[InvalidParameter] = []
    stale = None
    if request.method == "GET":
        if hit:
            _fill(form, hit)
        else:
            form.lon.data, form.lat.data = request.args.get("lon", ""), request.args.get("lat", "")
            form.position_method.data = "estimate" if request.args.get("source") else "surveyed"
            form.name_zh.data = request.args.get("name", "")
            form.coord_source.data = request.args.get("source", "")
    elif form.validate_on_submit():
        # Every error at once: the form's own (numbers, the position), then the record's rules.
        raw = _raw_from_form(form, problems)
        try:
            raw["lon"], raw["lat"] = _point(form)
        except InvalidParameters as err:
            problems += err.problems
        except InvalidParameter as err:
            problems.append(err)
        if hit:
            raw.pop("slug", None)  # a site's short id does not change: links and packs use it
        try:
            if problems:  # nothing is written; the record's own errors are still reported with these
                # (a position the form refused is absent from the record: not "required" on top of the real error)
                skip = {"lon", "lat", "geometry"} if "lon" not in raw else set()
                problems += [p for p in sites.site_problems(session, raw, site_id, bool(form.confirm_outside.data))
                             if p.name not in skip]
            elif hit:
                saved = sites.update_site(session, site_id, raw, _version(form.version.data), current_user.username,
                                          bool(form.confirm_outside.data))
            else:
                saved = sites.create_site(session, raw, current_user.username, bool(form.confirm_outside.data))
            if not problems:
                return redirect(url_for("pages.index", site=saved.id))
        except InvalidParameters as err:
            problems += err.problems
        except InvalidParameter as err:
            problems.append(err)
        except PreconditionFailed as err:
            stale = site_feature(err.site, include_staff=True)
    else:  # WTForms' own checks failed (a choice not offered, the CSRF token): show them at their fields too
        problems = [InvalidParameter(name, " ".join(messages), "form_expired" if name == "csrf_token" else "choose")
                    for name, messages in form.errors.items()]
    labels = site_labels()
    errors = form_errors(problems, labels, form._fields)
    status = 200 if request.method == "GET" else (409 if stale else 400)
    return render_template("site_form.html", form=form, hit=hit, errors=errors, stale=stale, label=label,
                           labels=labels, facility_form=_facility_rows(hit, label, request.method == "POST")), status


@bp.post("/sites/<int:site_id>/delete")
@planner_required
def delete(site_id: int):
    # CSRFProtect has already checked the form's token (every POST outside the token-authorised APIs).
    try:
        sites.delete_site(get_session(), site_id, _version(request.form.get("version")), current_user.username)
    except InvalidParameter:
        abort(400, "version: send the version of the site you are deleting (reload the page)")
    flash("deleted")
    return redirect(url_for("planner.history", site_id=site_id))


@bp.post("/sites/<int:site_id>/undelete")
@planner_required
def undelete(site_id: int):
    sites.undelete_site(get_session(), site_id, current_user.username)
    return redirect(url_for("pages.index", site=site_id))


# --------------------------------------------------------------------------- suggestions

class SuggestionForm(FlaskForm):
    name = StringField()
    message = TextAreaField()
    suggester_name = StringField()
    suggester_contact = StringField()
    lon = StringField()
    lat = StringField()
    site_id = HiddenField()


@bp.route("/suggest", methods=["GET", "POST"])
@limiter.limit(site_limit("6 per 10 minutes"), methods=["POST"])
def suggest():
    """Anyone may suggest a new site or a correction; it waits for a planner."""
    session = get_session()
    form = SuggestionForm()
    site = None
    site_id = request.values.get("site_id") or request.args.get("site")
    if site_id and str(site_id).isdigit() and is_id(int(site_id)):
        hit = get_site(session, int(site_id))
        site = hit.site if hit else None
    problems: list[InvalidParameter] = []
    if request.method == "GET":
        form.lon.data, form.lat.data = request.args.get("lon", ""), request.args.get("lat", "")
        form.site_id.data = str(site.id) if site else ""
    elif form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("name", "message", "suggester_name", "suggester_contact")}
        lon, lat = None, None  # a correction to a site may come without a position
        if (form.lon.data or "").strip() or (form.lat.data or "").strip():
            try:
                lon, lat = checks.lon_lat(form.lon.data or "", form.lat.data or "", "lon", "lat")
            except InvalidParameters as err:
                problems += err.problems
            except InvalidParameter as err:
                problems.append(err)
        data.update(lon=lon, lat=lat, site_id=site.id if site else None)
        try:  # every error at once: the typed position's, then the suggestion's own
            if problems:  # the refused position is reported already: not "needs a position" on top of it
                try:
                    suggestions.clean_suggestion(session, data)
                except InvalidParameters as err:
                    problems += [p for p in err.problems if p.name not in ("lon", "lat")]
            else:
                suggestions.create_suggestion(session, data)
                return render_template("suggest.html", form=form, site=site, errors={}, done=True)
        except InvalidParameters as err:
            problems += err.problems
        except InvalidParameter as err:
            problems.append(err)
    else:  # the CSRF token expired: say so, keep what was typed
        problems = [InvalidParameter(name, " ".join(messages), "form_expired" if name == "csrf_token" else "invalid")
                    for name, messages in form.errors.items()]
    labels = suggest_labels()
    errors = form_errors(problems, labels, form._fields)
    return render_template("suggest.html", form=form, site=site, errors=errors, labels=labels,
                           done=False), (400 if errors else 200)


def suggest_labels() -> dict[str, str]:
    """The suggestion form's labels in the page's language (shown, and named by its errors)."""
    return {"name": gettext("Name of the place"), "lon": gettext("Longitude"), "lat": gettext("Latitude"),
            "message": gettext("What do you suggest?"),
            "suggester_name": gettext("Your name (optional, credited if accepted)"),
            "suggester_contact": gettext("How to reach you (optional, staff only)")}


class ReviewForm(FlaskForm):
    reason = TextAreaField()


@bp.route("/suggestions", methods=["GET"])
@planner_required
def review_list():
    session = get_session()
    return render_template("suggestions.html", items=suggestions.pending(session), form=ReviewForm())


@bp.post("/suggestions/<int:suggestion_id>/accept")
@planner_required
def accept(suggestion_id: int):
    """Accepting opens the site form filled from the suggestion; the planner completes and saves it."""
    session = get_session()
    item = suggestions.review(session, suggestion_id, True, current_user.username)
    credit = f"suggested by {item.suggester_name}" if item.suggester_name else "suggested by a visitor"
    if item.site_id:
        flash(f"{credit}: {item.message}")
        return redirect(url_for("planner.edit", site_id=item.site_id))
    return redirect(url_for("planner.edit", lon=item.lon, lat=item.lat, name=item.name,
                            source=f"{credit} (suggestion {item.id}); position not yet verified"))


@bp.post("/suggestions/<int:suggestion_id>/reject")
@planner_required
def reject(suggestion_id: int):
    form = ReviewForm()
    try:
        suggestions.review(get_session(), suggestion_id, False, current_user.username, form.reason.data)
    except InvalidParameter as err:
        flash(err.detail)
    return redirect(url_for("planner.review_list"))


@bp.get("/api/suggestions")
@planner_required
def suggestions_geojson():
    """Pending suggestions with a position, for the planners' map layer."""
    items = suggestions.pending(get_session())
    features = [{"type": "Feature", "id": s.id, "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                 "properties": {"name": s.name, "message": s.message, "site_id": s.site_id,
                                "suggester_name": s.suggester_name,
                                "review_url": url_for("planner.review_list") + f"#suggestion-{s.id}"}}
                for s in items if s.lon is not None]
    return {"type": "FeatureCollection", "features": features}
