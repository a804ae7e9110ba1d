"""The publish/edit form of a project or challenge, mapped to the REST API's field names.

A submitted form becomes exactly the JSON body ``POST API /projects`` takes (§8), and that
body is validated by ``actions.project_fields.parse``: a form and an API call are refused for the
same reasons, with the same messages. To show every problem at once (parse stops at the first),
each field is first parsed on its own, then the whole body (for rules across fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDictProxy

from cityfed.actions.project_fields import ALLOWED, FieldError, Submission, parse
from cityfed.schemas.objects import CHALLENGE_SPECS, PROJECT_SPECS
from cityfed.web.staff.i18n import N_, Shown

MAX_TRANSLATIONS = 8
_DECLARED = (*PROJECT_SPECS, *CHALLENGE_SPECS)  # the fields ``cityfed.schemas`` declares
TEXT_FIELDS = (
    "title",
    "teaser",
    "description",
    "phase",
    "language",
    "start_date",
    "end_date",
    *(spec.name for spec in PROJECT_SPECS if spec.kind != "lines"),
    "deadline",
    *(spec.name for spec in CHALLENGE_SPECS if spec.kind != "lines"),
)
LINE_FIELDS = (*(spec.name for spec in _DECLARED if spec.kind == "lines"), "addresses")
DATE_FIELDS = ("start_date", "end_date", "deadline")
_TAG_SPLIT = re.compile(r"[,\s]+")


@dataclass
class Translation:
    lang: str = ""
    title: str = ""
    teaser: str = ""
    description: str = ""


@dataclass
class ItemForm:
    """What the form shows: text exactly as typed (or as stored), and the problems by field."""

    kind: str
    values: dict[str, str] = field(default_factory=dict)
    sdgs: set[int] = field(default_factory=set)
    featured: bool = False
    translations: list[Translation] = field(default_factory=list)
    errors: dict[str, Shown] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def slots(self) -> list[Translation]:
        """The translations shown: those given, plus one empty slot to add another."""
        filled = [t for t in self.translations if t.lang or t.title or t.teaser or t.description]
        return [*filled, Translation()][:MAX_TRANSLATIONS]


def _text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def read(kind: str, form: MultiDictProxy[Any]) -> ItemForm:
    """The submitted form, as typed."""
    values = {name: _text(form, name).replace("\r\n", "\n") for name in TEXT_FIELDS}
    for name in (*LINE_FIELDS, "tags", "location_name", "location_latitude", "location_longitude"):
        values[name] = _text(form, name).replace("\r\n", "\n")
    # Challenges picked from the known ones (checkboxes) and typed in (one address a line).
    picked = [v for v in form.getall("addresses", []) if isinstance(v, str)]
    values["addresses"] = "\n".join(picked).replace("\r\n", "\n")
    sdgs = {int(v) for v in form.getall("sdgs", []) if isinstance(v, str) and v.isdigit()}
    translations = [
        Translation(
            lang=_text(form, f"tr_lang_{i}").strip(),
            title=_text(form, f"tr_title_{i}"),
            teaser=_text(form, f"tr_teaser_{i}"),
            description=_text(form, f"tr_description_{i}").replace("\r\n", "\n"),
        )
        for i in range(MAX_TRANSLATIONS)
    ]
    return ItemForm(kind, values, sdgs, form.get("featured") == "on", translations)


def from_view(kind: str, view: dict[str, Any]) -> ItemForm:
    """The edit form of a stored object (``project_fields.view``'s output)."""
    values: dict[str, str] = {}
    for name in TEXT_FIELDS:
        value = view.get(name)
        if name in DATE_FIELDS and value:
            value = str(value)[:10]  # <input type="date"> takes YYYY-MM-DD
        values[name] = "" if value is None else str(value)
    values["tags"] = " ".join(view.get("tags") or [])
    for name in LINE_FIELDS:
        values[name] = "\n".join(view.get(name) or [])
    location = view.get("location") or {}
    values["location_name"] = location.get("name") or ""
    for axis in ("latitude", "longitude"):
        number = location.get(axis)
        values[f"location_{axis}"] = "" if number is None else str(number)
    translations = [
        Translation(
            lang, entry.get("title", ""), entry.get("teaser", ""), entry.get("description", "")
        )
        for lang, entry in sorted((view.get("translations") or {}).items())
    ]
    return ItemForm(
        kind, values, set(view.get("sdgs") or []), bool(view.get("featured")), translations
    )


def body(item: ItemForm) -> dict[str, Any]:
    """The API body for this form: the same names and shapes ``POST API /projects`` takes."""
    allowed = ALLOWED[item.kind]
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in allowed:
            # An empty optional field is "not given" for the API too; dates must be None.
            out[name] = item.value(name) or None
    out["tags"] = [tag for tag in _TAG_SPLIT.split(item.value("tags")) if tag]
    out["sdgs"] = sorted(item.sdgs)
    for name in LINE_FIELDS:
        if name in allowed:
            out[name] = list(dict.fromkeys(_lines(item.value(name))))  # once each
    name = item.value("location_name").strip()
    lat, lon = item.value("location_latitude").strip(), item.value("location_longitude").strip()
    if name or lat or lon:
        out["location"] = {"name": name, "latitude": lat or None, "longitude": lon or None}
    else:
        out["location"] = None
    translations: dict[str, dict[str, str]] = {}
    for entry in item.translations:
        if entry.lang or entry.title or entry.teaser or entry.description:
            translations[entry.lang] = {
                "title": entry.title,
                "teaser": entry.teaser,
                "description": entry.description,
            }
    out["translations"] = translations
    out["featured"] = item.featured
    return out


def _error_key(item: ItemForm, name: str) -> str:
    """Where a FieldError is shown: its field, or the translation slot it concerns."""
    if name.startswith("translations."):
        lang, _, part = name[len("translations.") :].rpartition(".")
        for index, entry in enumerate(item.slots()):
            if entry.lang == lang:
                return f"tr_{part}_{index}"
        return "translations"
    return name


def validate(item: ItemForm) -> Submission | None:
    """The Submission for ``actions.projects``, or None with ``item.errors`` filled in."""
    data = body(item)
    item.errors = {}
    if "" in data["translations"]:
        item.errors["translations"] = N_("give the language of each translation")
        del data["translations"][""]
    if data["location"] is not None and not data["location"]["name"]:
        item.errors["location"] = N_("give the place's name")
    for name, value in data.items():
        try:
            parse(item.kind, {name: value}, partial=True)
        except FieldError as exc:
            key = _error_key(item, exc.field)
            item.errors.setdefault(key, exc)
    if item.errors:
        return None
    try:
        return parse(item.kind, data, partial=False)
    except FieldError as exc:
        item.errors[_error_key(item, exc.field)] = exc
        return None
