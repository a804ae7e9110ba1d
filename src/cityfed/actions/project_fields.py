"""The fields staff edit (§8 names) ↔ the vocabulary dataclasses (Project, Challenge).

One translation, used by the REST API, the web forms and the CLI, so validation and its messages
("title: this field is required") are the same wherever a city publishes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from cityfed.actions.errors import (
    EXPECTED_STRING,
    ONE_OF,
    REQUIRED,
    TOO_LONG,
    ActionError,
    FieldError,
    Problem,
)
from cityfed.actions.licences import spdx_expression
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.activitypub.vocab.common import Place
from cityfed.schemas.fields import FieldSpec
from cityfed.schemas.objects import (
    CHALLENGE_SPECS,
    COMMON_FIELDS,
    COMMON_LIMITS,
    OWN,
    PROJECT_SPECS,
)

CityObject = Project | Challenge

KINDS: dict[str, type[CityObject]] = {"project": Project, "challenge": Challenge}
TYPE_NAMES = {"project": "Project", "challenge": "Challenge"}

_HASHTAG = re.compile(r"^[\w]{1,100}$", re.UNICODE)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")

COMMON = frozenset(COMMON_FIELDS)
# A project's own fields: those ``schemas.objects.ProjectFields`` declares, and the challenges it
# addresses; a challenge's: its deadline and what ``ChallengeFields`` declares.
PROJECT_ONLY = frozenset({*(spec.name for spec in PROJECT_SPECS), "addresses"})
CHALLENGE_ONLY = frozenset({"deadline", *(spec.name for spec in CHALLENGE_SPECS)})
ALLOWED = {"project": COMMON | PROJECT_ONLY, "challenge": COMMON | CHALLENGE_ONLY}
LIMITS = {
    **COMMON_LIMITS,
    **{spec.name: spec.limit for spec in (*PROJECT_SPECS, *CHALLENGE_SPECS) if spec.kind == "text"},
}


NOT_A_HASHTAG = Problem("not_a_hashtag", "{tag!r} is not a hashtag (letters, digits, _)")
NOT_A_FIELD = Problem("unknown_field", "not a field of a {kind}")
NOT_A_URL = Problem("not_a_url", "expected an http(s) URL")
NOT_A_LIST = Problem("not_a_list", "expected a list of strings")
NOT_A_DATE = Problem("not_a_date", "expected an ISO 8601 date (2026-05-01) or date-time")
NOT_GOALS = Problem("not_goals", "expected a list of goal numbers 1-17")
GOAL_RANGE = Problem("goal_range", "goals are numbered 1 to 17")
NOT_A_LANGUAGE = Problem("not_a_language", "expected a language tag such as en or pt-BR")
NOT_A_BOOLEAN = Problem("not_a_boolean", "expected true or false")
ENDS_BEFORE_START = Problem("ends_before_start", "must not be before start_date")


@dataclass(frozen=True)
class Submission:
    """Validated changes: vocabulary keyword arguments plus node-only flags."""

    values: dict[str, Any]
    featured: bool | None = None


def _text(name: str, value: Any, *, required: bool = False, limit: int | None = None) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FieldError(name, REQUIRED)
        return None
    if not isinstance(value, str):
        raise FieldError(name, EXPECTED_STRING)
    value = str(value).strip()
    limit = limit or LIMITS.get(name, 2000)
    if len(value) > limit:
        raise FieldError(name, TOO_LONG, limit=limit)
    return value


def _url(name: str, value: Any) -> str | None:
    text = _text(name, value)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise FieldError(name, NOT_A_URL)
    return text


def _list_of_text(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(name, NOT_A_LIST)
    return [v.strip() for v in value if v.strip()]


def _datetime(name: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError(name, NOT_A_DATE)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(name, NOT_A_DATE) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _tags(value: Any) -> list[str]:
    tags = []
    for tag in _list_of_text("tags", value):
        tag = tag.lstrip("#")
        if not _HASHTAG.match(tag):
            raise FieldError("tags", NOT_A_HASHTAG, tag=tag)
        if tag not in tags:
            tags.append(tag)
    return tags


def _sdgs(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise FieldError("sdgs", NOT_GOALS)
    if any(not 1 <= v <= 17 for v in value):
        raise FieldError("sdgs", GOAL_RANGE)
    return sorted(set(value))


def _location(value: Any) -> Place | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return Place(name=value.strip())
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise FieldError("location", 'expected a name or {"name", "latitude", "longitude"}')
    try:
        return Place(
            name=value["name"].strip(),
            latitude=value.get("latitude"),
            longitude=value.get("longitude"),
        )
    except (ValueError, TypeError) as exc:
        raise FieldError("location", str(exc).split(": ", 1)[-1]) from None


def _translations(value: Any) -> dict[str, dict[str, str]]:
    if value is None:
        return {"name_map": {}, "teaser_map": {}, "description_map": {}}
    if not isinstance(value, dict):
        raise FieldError("translations", 'expected {"de": {"title": ..., "teaser": ...}}')
    maps: dict[str, dict[str, str]] = {"name_map": {}, "teaser_map": {}, "description_map": {}}
    for lang, entry in value.items():
        if not _LANGUAGE.match(lang) or not isinstance(entry, dict):
            raise FieldError("translations", f"{lang!r} needs a language tag and an object")
        for key, target in (
            ("title", "name_map"),
            ("teaser", "teaser_map"),
            ("description", "description_map"),
        ):
            text = _text(f"translations.{lang}.{key}", entry.get(key))
            if text:
                maps[target][lang] = text
    return maps


def _declared(spec: FieldSpec, value: Any) -> Any:
    """One field declared in ``cityfed.schemas``, checked as its kind says."""
    if spec.kind == "lines":
        return _list_of_text(spec.name, value)
    if spec.kind == "url":
        return _url(spec.name, value)
    # A licence's length is one of the SPDX rules, checked (with its own message) below.
    text = _text(spec.name, value, limit=spec.limit if spec.kind == "text" else None)
    if spec.kind == "licence" and text is not None:
        try:
            return spdx_expression(text)
        except ActionError as exc:
            raise exc.at(spec.name) from None
    return text


def parse(kind: str, body: dict[str, Any], *, partial: bool) -> Submission:
    """Validate an API body; ``partial`` (PATCH) means only the given fields change."""
    unknown = sorted(set(body) - ALLOWED[kind])
    if unknown:
        raise FieldError(unknown[0], NOT_A_FIELD, kind=kind)
    cls = KINDS[kind]
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in body

    if given("title"):
        values["name"] = _text("title", body.get("title"), required=True)
    if given("teaser"):
        values["teaser"] = _text("teaser", body.get("teaser")) or ""
    if given("description"):
        values["description"] = _text("description", body.get("description")) or ""
    if given("phase"):
        phase = body.get("phase") or cls.__dataclass_fields__["phase"].default
        if phase not in cls.PHASES:
            raise FieldError("phase", ONE_OF, choices=", ".join(cls.PHASES))
        values["phase"] = phase
    if given("language"):
        language = body.get("language") or "en"
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            raise FieldError("language", NOT_A_LANGUAGE)
        values["language"] = language
    if given("tags"):
        values["tags"] = _tags(body.get("tags"))
    if given("sdgs"):
        values["sdgs"] = _sdgs(body.get("sdgs"))
    if given("location"):
        values["location"] = _location(body.get("location"))
    if given("start_date"):
        values["start_time"] = _datetime("start_date", body.get("start_date"))
    if given("end_date"):
        values["end_time"] = _datetime("end_date", body.get("end_date"))
    if given("translations"):
        values.update(_translations(body.get("translations")))
    if kind == "challenge" and given("deadline"):
        values["deadline"] = _datetime("deadline", body.get("deadline"))
    for spec in OWN[kind]:
        if given(spec.name):
            values[spec.name] = _declared(spec, body.get(spec.name))
    if kind == "project" and given("addresses"):
        values["addresses"] = [
            _url("addresses", item) or ""
            for item in _list_of_text("addresses", body.get("addresses"))
        ]
    primary = values.get("language")
    for target in ("name_map", "teaser_map", "description_map"):
        if primary and primary in values.get(target, {}):
            raise FieldError(
                "translations", f"{primary!r} is the primary language, not a translation"
            )
    featured = body.get("featured")
    if featured is not None and not isinstance(featured, bool):
        raise FieldError("featured", NOT_A_BOOLEAN)
    if (
        values.get("start_time")
        and values.get("end_time")
        and values["end_time"] < values["start_time"]
    ):
        raise FieldError("end_date", ENDS_BEFORE_START)
    return Submission(values, featured)


def _date(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def view(
    obj: CityObject, *, featured: bool = False, likes: int = 0, boosts: int = 0
) -> dict[str, Any]:
    """The API's JSON view of a project or challenge (the same field names as ``parse``), with
    the Likes and Announces (boosts) it received."""
    kind = "project" if isinstance(obj, Project) else "challenge"
    translations: dict[str, dict[str, str]] = {}
    for target, key in (
        ("name_map", "title"),
        ("teaser_map", "teaser"),
        ("description_map", "description"),
    ):
        for lang, text in getattr(obj, target).items():
            translations.setdefault(lang, {})[key] = text
    out: dict[str, Any] = {
        "id": obj.id,
        "url": obj.url or obj.id,
        "type": kind,
        "attributed_to": obj.attributed_to,
        "title": obj.name,
        "teaser": obj.teaser,
        "description": obj.description,
        "phase": obj.phase,
        "tags": list(obj.tags),
        "language": obj.language,
        "sdgs": list(obj.sdgs),
        "location": (
            {
                "name": obj.location.name,
                "latitude": obj.location.latitude,
                "longitude": obj.location.longitude,
            }
            if obj.location
            else None
        ),
        "start_date": _date(obj.start_time),
        "end_date": _date(obj.end_time),
        "published": _date(obj.published),
        "updated": _date(obj.updated),
        "translations": translations,
        "featured": featured,
        "likes": likes,
        "boosts": boosts,
    }
    if isinstance(obj, Challenge):
        out["deadline"] = _date(obj.deadline)
    for spec in OWN[kind]:
        value = getattr(obj, spec.name)
        out[spec.name] = list(value) if spec.kind == "lines" else value
    if isinstance(obj, Project):
        out["is_based_on"] = obj.is_based_on
        out["addresses"] = list(obj.addresses)
    else:
        out["resolved_by"] = list(obj.resolved_by)
    return out
