"""cityfed.schemas: the declarations reach every place that used to name a field itself."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from cityfed.actions import adoption_fields, project_fields
from cityfed.activitypub.jsonld import CF_TERMS, context_document
from cityfed.activitypub.vocab import Challenge, Place, Project
from cityfed.activitypub.vocab.cooperation import Adoption
from cityfed.schemas import api
from cityfed.schemas.objects import ADOPTION_SPECS, CHALLENGE_SPECS, GROUPS, PROJECT_SPECS
from cityfed.web.opendata import CSV_COLUMNS
from cityfed.web.staff.forms import LINE_FIELDS, TEXT_FIELDS

PROJECT = Project(
    id="https://a.example/projects/1",
    attributed_to="https://a.example/actors/a",
    name="Heat-risk map",
    phase="pilot",
    location=Place(name="Berlin", latitude=52.5, longitude=13.4),
    start_time=datetime(2026, 5, 1, tzinfo=UTC),
    license="EUPL-1.2",
    partners=["TU Berlin"],
    outcomes="Shade.",
    lessons_learned="Ask first.",
)


def test_every_declared_field_travels_as_its_cf_term_and_back() -> None:
    doc = PROJECT.to_ap()
    for spec in PROJECT_SPECS:
        unset = [] if spec.kind == "lines" else None
        assert doc.get(spec.term, unset) == getattr(PROJECT, spec.name), spec.name
        assert CF_TERMS[spec.term] == "https://cityfed.org/ns#" + spec.term_name
        assert spec.term in context_document()["@context"]
    assert Project.from_ap(doc) == Project.from_plain(doc)
    back = Project.from_plain(doc)
    assert [getattr(back, s.name) for s in PROJECT_SPECS] == [
        getattr(PROJECT, s.name) for s in PROJECT_SPECS
    ]


def test_adoption_progress_is_declared_once() -> None:
    adoption = Adoption(
        id="https://b.example/adoptions/1",
        attributed_to="https://b.example/actors/b",
        project=PROJECT.id,
        local_project="https://b.example/projects/2",
        outcomes="Fewer heat days.",
        lessons_learned="Start small.",
    )
    doc = adoption.to_ap()
    assert {spec.term for spec in ADOPTION_SPECS} <= set(doc)
    assert Adoption.from_plain(doc) == adoption
    assert {"status", *(s.name for s in ADOPTION_SPECS)} == adoption_fields.PROGRESS_FIELDS


def test_the_api_views_are_what_the_response_structs_say() -> None:
    """The JSON the API answers decodes strictly into the struct the OpenAPI document is
    generated from (a field the view adds or drops fails here)."""
    project_view = project_fields.view(PROJECT)
    decoded = msgspec.convert(project_view, api.Project, strict=True)
    assert msgspec.to_builtins(decoded) == project_view
    challenge = Challenge(id="https://a.example/challenges/1", attributed_to=PROJECT.attributed_to)
    challenge_view = project_fields.view(challenge)
    assert msgspec.to_builtins(msgspec.convert(challenge_view, api.Challenge)) == challenge_view


def test_the_request_structs_take_the_fields_the_parser_takes() -> None:
    for kind, create in (("project", api.ProjectCreate), ("challenge", api.ChallengeCreate)):
        names = {field.encode_name for field in msgspec.structs.fields(create)}
        assert names == project_fields.ALLOWED[kind] | {"as"}
        with pytest.raises(msgspec.ValidationError, match="unknown field"):
            msgspec.convert({"title": "x", "colour": "red"}, create)
    body = {"title": "Heat-risk map", "lessons_learned": "Ask first.", "partners": ["TU"]}
    assert msgspec.convert(body, api.ProjectCreate).lessons_learned == "Ask first."
    assert project_fields.parse("project", body, partial=False).values["lessons_learned"] == (
        "Ask first."
    )
    too_long = {"title": "x", "lessons_learned": "y" * 20_001}
    with pytest.raises(msgspec.ValidationError, match="lessons_learned"):
        msgspec.convert(too_long, api.ProjectCreate)
    with pytest.raises(project_fields.FieldError, match="lessons_learned: at most 20000"):
        project_fields.parse("project", too_long, partial=False)


def test_forms_and_export_list_the_declared_fields() -> None:
    for spec in (*PROJECT_SPECS, *CHALLENGE_SPECS):
        assert spec.name in (LINE_FIELDS if spec.kind == "lines" else TEXT_FIELDS)
    exported = [spec.name for spec in PROJECT_SPECS if not spec.markdown]
    assert [c for c in CSV_COLUMNS if c in {s.name for s in GROUPS["project"]}] == exported
