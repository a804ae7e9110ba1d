"""Project and Challenge: every field round trips, in our shape and in any JSON-LD shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityfed.activitypub.jsonld import (
    AS_CONTEXT_URL,
    CF_NAMESPACE,
    PUBLIC,
    compact_to_default,
    expand,
)
from cityfed.activitypub.vocab import (
    Challenge,
    Place,
    Project,
    parse_object,
)
from cityfed.activitypub.vocab.common import (
    as_list,
    canonical_language,
    first_of,
    format_datetime,
    id_of,
    parse_datetime,
)

AS = "https://www.w3.org/ns/activitystreams#"
CITY = "https://berlin.example/actors/berlin"
FOLLOWERS = CITY + "/followers"


pytestmark = pytest.mark.usefixtures("no_network")  # tests/conftest.py


def full_project() -> Project:
    """A Project with every field set to a non-default value."""
    return Project(
        id="https://berlin.example/projects/7",
        attributed_to=CITY,
        url="https://berlin.example/p/bike-lanes",
        name="Pop-up bike lanes",
        teaser="Temporary lanes that became permanent.",
        description="## Why\n\nBecause *cycling* is good.\n",
        language="en",
        name_map={"de": "Pop-up-Radwege", "pt-BR": "Ciclofaixas temporárias"},
        teaser_map={"de": "Vorübergehende Spuren, die blieben."},
        description_map={"de": "## Warum\n\nWeil Radfahren gut ist.\n"},
        phase="operational",
        tags=["mobility", "Radverkehr", "climate_action"],
        sdgs=[11, 13],
        location=Place("Berlin-Kreuzberg", 52.4986, 13.4033),
        start_time=datetime(2020, 4, 1, tzinfo=UTC),
        end_time=datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC),
        published=datetime(2020, 3, 15, 9, 30, tzinfo=UTC),
        updated=datetime(2024, 6, 1, 12, 0, 0, 250000, tzinfo=UTC),
        replies="https://berlin.example/projects/7/replies",
        extra={"sensitive": False, "zzCustom": {"nested": [1, 2, "three"]}},
        contact="mobility@berlin.example",
        license="EUPL-1.2",
        repository="https://code.berlin.example/bike-lanes",
        publiccode="https://code.berlin.example/bike-lanes/publiccode.yml",
        budget="EUR 1.2M",
        partners=["BVG", "ADFC Berlin"],
        outcomes="25 km of lanes, +20% cyclists",
        lessons_learned="Start with paint, measure, then build.",
        is_based_on="https://bogota.example/projects/ciclovia",
        addresses=["https://berlin.example/challenges/1", "https://hamburg.example/c/3"],
        adoptions="https://berlin.example/projects/7/adoptions",
    )


def full_challenge() -> Challenge:
    """A Challenge with every field set to a non-default value."""
    return Challenge(
        id="https://hamburg.example/challenges/3",
        attributed_to="https://hamburg.example/actors/hamburg",
        url="https://hamburg.example/c/heat",
        name="Cool schoolyards",
        teaser="Schoolyards reach 45 °C in summer.",
        description="We need *shade* and water.",
        language="de-DE",
        name_map={"en": "Cool schoolyards (en)"},
        teaser_map={"fr": "Les cours atteignent 45 °C."},
        description_map={"en": "Shade and water."},
        phase="evaluating",
        tags=["heat", "schools"],
        sdgs=[3, 11, 13],
        location=Place("Hamburg"),
        start_time=datetime(2024, 5, 1, tzinfo=UTC),
        end_time=datetime(2025, 9, 1, tzinfo=UTC),
        published=datetime(2024, 4, 1, 8, tzinfo=UTC),
        updated=datetime(2024, 4, 2, 8, tzinfo=UTC),
        replies="https://hamburg.example/challenges/3/replies",
        extra={"zzPriority": "high"},
        deadline=datetime(2024, 12, 31, 23, 0, tzinfo=UTC),
        requirements="Must work without irrigation.",
        solutions="https://hamburg.example/challenges/3/solutions",
        resolved_by=["https://berlin.example/projects/7"],
    )


def wire(doc: dict[str, Any]) -> dict[str, Any]:
    """What a peer receives: the document serialised and parsed again."""
    return orjson.loads(orjson.dumps(doc))


# --- every field, our own shape -----------------------------------------------------------------


@pytest.mark.parametrize("make", [full_project, full_challenge])
def test_every_field_round_trips(make: Any) -> None:
    obj = make()
    doc = wire(obj.to_ap(followers=FOLLOWERS))
    back = type(obj).from_ap(doc)
    assert back == obj
    # and the output is stable: writing the read-back object gives the same document
    assert wire(back.to_ap(followers=FOLLOWERS)) == doc


def test_project_document_uses_cf_vocabulary() -> None:
    doc = full_project().to_ap(followers=FOLLOWERS)
    assert doc["type"] == ["Note", "cf:Project"]
    assert doc["cf:phase"] == "operational"
    assert doc["cf:teaser"] == "Temporary lanes that became permanent."
    assert doc["cf:license"] == "EUPL-1.2"
    assert doc["cf:isBasedOn"] == "https://bogota.example/projects/ciclovia"
    assert doc["cf:lessonsLearned"].startswith("Start with paint")
    assert doc["source"] == {
        "content": "## Why\n\nBecause *cycling* is good.\n",
        "contentMap": {
            "en": "## Why\n\nBecause *cycling* is good.\n",
            "de": "## Warum\n\nWeil Radfahren gut ist.\n",
        },
        "mediaType": "text/markdown",
    }
    assert doc["location"] == {
        "type": "Place",
        "name": "Berlin-Kreuzberg",
        "latitude": 52.4986,
        "longitude": 13.4033,
    }
    assert doc["updated"] == "2024-06-01T12:00:00.250000Z"
    assert doc["published"] == "2020-03-15T09:30:00Z"
    assert doc["sensitive"] is False  # extra re-emitted


def test_challenge_document_uses_cf_vocabulary() -> None:
    doc = full_challenge().to_ap()
    assert doc["type"] == ["Note", "cf:Challenge"]
    assert doc["cf:phase"] == "evaluating"
    assert doc["cf:deadline"] == "2024-12-31T23:00:00Z"
    assert doc["cf:solutions"] == "https://hamburg.example/challenges/3/solutions"
    assert doc["cf:resolvedBy"] == ["https://berlin.example/projects/7"]
    assert "<p>Deadline: 2024-12-31</p>" in doc["content"]
    assert "cf:license" not in doc


def test_minimal_objects_round_trip() -> None:
    project = Project(id="https://a.example/p/1", attributed_to="https://a.example/actor")
    assert project.phase == "idea"
    assert Project.from_ap(wire(project.to_ap())) == project
    challenge = Challenge(id="https://a.example/c/1", attributed_to="https://a.example/actor")
    assert challenge.phase == "open"
    assert Challenge.from_ap(wire(challenge.to_ap())) == challenge


# --- through pyld ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [full_project, full_challenge])
def test_round_trip_through_expansion(make: Any) -> None:
    obj = make()
    expanded = expand(obj.to_ap(followers=FOLLOWERS))
    assert type(obj).from_ap(expanded) == obj  # expanded form read directly
    compacted = compact_to_default(expanded)
    assert type(obj).from_ap(compacted) == obj
    assert parse_object(expanded) == obj


def test_expanded_form_single_object() -> None:
    obj = full_project()
    [node] = expand(obj.to_ap())
    assert "@context" not in node
    assert node["@type"] == [AS + "Note", CF_NAMESPACE + "Project"]
    assert Project.from_ap(node) == obj
    assert parse_object(node) == obj


def unfamiliar_project_doc() -> dict[str, Any]:
    """The same project as ``full_project`` written by a stranger: own prefix, own term names."""
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {
                "cityfed": "https://cityfed.org/ns#",
                "stage": "cityfed:phase",
                "summaryLine": "cityfed:teaser",
                "summaryLines": {"@id": "cityfed:teaser", "@container": "@language"},
                "basedOn": {"@id": "cityfed:isBasedOn", "@type": "@id"},
                "tackles": {"@id": "cityfed:addresses", "@type": "@id"},
                "adoptionList": {"@id": "cityfed:adoptions", "@type": "@id"},
                "spdx": "cityfed:license",
                "title": "as:name",
                "titles": {"@id": "as:name", "@container": "@language"},
                "Goal": "cityfed:SDG",
                "Tag": "as:Hashtag",
                "custom": "https://stranger.example/ns#custom",
            },
        ],
        "@id": "https://berlin.example/projects/7",
        "@type": ["as:Note", "cityfed:Project"],
        "attributedTo": {"id": CITY, "type": "Organization"},
        "url": {"type": "Link", "href": "https://berlin.example/p/bike-lanes"},
        "title": "Pop-up bike lanes",
        "titles": {"de": "Pop-up-Radwege", "pt-br": "Ciclofaixas temporárias"},
        "summaryLine": "Temporary lanes that became permanent.",
        "summaryLines": {"de": "Vorübergehende Spuren, die blieben."},
        "content": "<p>anything</p>",
        "contentMap": {"en": "<p>anything</p>", "de": "<p>irgendwas</p>"},
        "source": {
            "content": "## Why\n\nBecause *cycling* is good.\n",
            "contentMap": {"de": "## Warum\n\nWeil Radfahren gut ist.\n"},
            "mediaType": "text/markdown",
        },
        "stage": "operational",
        "tag": [
            {"type": "Tag", "name": "#mobility", "href": "https://berlin.example/tags/mobility"},
            {"type": "Tag", "name": "#Radverkehr"},
            {"type": "Tag", "name": "#climate_action"},
            {"type": "Goal", "name": "SDG 11", "href": "https://sdgs.un.org/goals/goal11"},
            {"type": "cityfed:SDG", "href": "https://sdgs.un.org/goals/goal13"},
        ],
        "location": [
            {"type": "Place", "name": "Berlin-Kreuzberg", "latitude": 52.4986, "longitude": 13.4033}
        ],
        "startTime": "2020-04-01T02:00:00+02:00",
        "endTime": "2021-12-31T23:59:59Z",
        "published": "2020-03-15T09:30:00Z",
        "updated": "2024-06-01T12:00:00.25Z",
        "replies": {"id": "https://berlin.example/projects/7/replies", "type": "Collection"},
        "cityfed:contact": "mobility@berlin.example",
        "spdx": "EUPL-1.2",
        "cityfed:repository": "https://code.berlin.example/bike-lanes",
        "cityfed:publiccode": "https://code.berlin.example/bike-lanes/publiccode.yml",
        "cityfed:budget": "EUR 1.2M",
        "cityfed:partners": ["BVG", "ADFC Berlin"],
        "cityfed:outcomes": "25 km of lanes, +20% cyclists",
        "cityfed:lessonsLearned": "Start with paint, measure, then build.",
        "basedOn": "https://bogota.example/projects/ciclovia",
        "tackles": ["https://berlin.example/challenges/1", "https://hamburg.example/c/3"],
        "adoptionList": "https://berlin.example/projects/7/adoptions",
        "custom": "kept",
    }


def test_unfamiliar_prefixes_and_terms_are_read_correctly() -> None:
    expected = full_project()
    got = Project.from_ap(unfamiliar_project_doc())
    assert got.extra.pop("https://stranger.example/ns#custom") == "kept"
    expected.extra = {}
    assert got == expected
    assert isinstance(parse_object(unfamiliar_project_doc()), Project)


def test_unknown_properties_survive_a_foreign_shape() -> None:
    got = Project.from_ap(unfamiliar_project_doc())
    doc = got.to_ap()
    assert doc["https://stranger.example/ns#custom"] == "kept"
    [node] = expand(doc)
    assert node["https://stranger.example/ns#custom"] == [{"@value": "kept"}]


def test_type_spellings_dispatch() -> None:
    project_doc = full_project().to_ap()
    challenge_doc = full_challenge().to_ap()
    assert isinstance(parse_object(project_doc), Project)
    assert isinstance(parse_object(challenge_doc), Challenge)
    for spelling in (
        "cf:Project",
        ["cf:Project"],
        CF_NAMESPACE + "Project",
        ["Note", CF_NAMESPACE + "Project"],
    ):
        assert isinstance(parse_object({**project_doc, "type": spelling}), Project)
    assert isinstance(parse_object({**challenge_doc, "type": "cf:Challenge"}), Challenge)


def test_parse_object_ignores_other_objects() -> None:
    note = {
        "@context": AS_CONTEXT_URL,
        "id": "https://m.example/notes/1",
        "type": "Note",
        "attributedTo": "https://m.example/users/a",
        "content": "<p>hi</p>",
    }
    assert parse_object(note) is None
    # An unfamiliar remote context is never fetched; a plain Note there is simply not ours.
    pleroma_note = {**note, "@context": [AS_CONTEXT_URL, "https://p.example/litepub-0.1.jsonld"]}
    assert parse_object(pleroma_note) is None
    assert parse_object({**note, "type": ["Note", "cf:Adoption"]}) is None
    assert parse_object("not an object") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "extra",
    [
        # bovine always sends the DID context; Pleroma its LitePub context on its own host
        ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        ["https://pleroma.example/schemas/litepub-0.1.jsonld"],
        # never bundled, never fetched: read for the terms we know, as Mastodon does
        ["https://unknown.example/ns/v7.jsonld"],
        ["https://unknown.example/ns/v7.jsonld", {"stranger": "https://unknown.example/ns#"}],
    ],
)
def test_contexts_we_do_not_bundle_never_refuse_a_project(extra: list[Any], no_network) -> None:
    doc = full_project().to_ap()
    doc["@context"] = [*doc["@context"][:2], *extra, doc["@context"][2]]
    assert parse_object(doc) == full_project()
    # ...also when the unknown context replaces ActivityStreams (it includes it, like LitePub)
    alone = {**doc, "@context": ["https://unknown.example/litepub.jsonld", doc["@context"][-1]]}
    assert parse_object(alone) == full_project()


def test_embedded_object_takes_the_enclosing_context() -> None:
    doc = full_project().to_ap()
    context = doc.pop("@context")
    assert Project.from_ap(doc, context=context) == full_project()
    assert parse_object(doc, context=context) == full_project()
    # no context at all: taken to be ours
    assert Project.from_ap(doc) == full_project()


def test_cf_keys_without_a_cf_binding_are_rejected() -> None:
    doc = full_project().to_ap()
    doc["@context"] = AS_CONTEXT_URL  # "cf:phase" now means nothing (an IRI with scheme "cf")
    with pytest.raises(ValueError, match="JSON-LD"):
        Project.from_ap(doc)


def test_wrong_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="type"):
        Challenge.from_ap(full_project().to_ap())


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cf:phase": "dreaming"}, "phase"),
        ({"cf:phase": "open"}, "phase"),  # a challenge phase on a project
        ({"tag": [{"type": "cf:SDG", "name": "SDG 18"}]}, "sdgs"),
        ({"tag": [{"type": "cf:SDG", "href": "https://sdgs.un.org/goals/goal0"}]}, "sdgs"),
        ({"tag": [{"type": "cf:SDG", "name": "Zero hunger"}]}, "sdgs"),
        ({"published": "yesterday"}, "published"),
        ({"updated": "2024-13-01T00:00:00Z"}, "updated"),
        ({"startTime": 1700000000}, None),  # not a string: treated as absent, not a crash
        ({"location": {"type": "Place", "name": "x", "latitude": 91, "longitude": 0}}, "latitude"),
        ({"id": None}, "id"),
        ({"attributedTo": []}, "attributedTo"),
    ],
)
def test_invalid_input_names_the_field(change: dict[str, Any], field: str | None) -> None:
    doc = {**full_project().to_ap(), **change}
    if field is None:
        assert Project.from_ap(doc).start_time is None
        return
    with pytest.raises(ValueError, match=field):
        Project.from_ap(doc)


def test_challenge_phases_are_checked() -> None:
    doc = full_challenge().to_ap()
    assert Challenge.from_ap({**doc, "cf:phase": "solved"}).phase == "solved"
    with pytest.raises(ValueError, match="phase"):
        Challenge.from_ap({**doc, "cf:phase": "pilot"})
    with pytest.raises(ValueError, match="cf:deadline"):
        Challenge.from_ap({**doc, "cf:deadline": "soon"})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phase": "done"}, "phase"),
        ({"sdgs": [0]}, "sdgs"),
        ({"sdgs": [18]}, "sdgs"),
        ({"sdgs": [True]}, "sdgs"),
        ({"tags": ["#hash"]}, "tags"),
        ({"tags": ["two words"]}, "tags"),
        ({"tags": ["<script>"]}, "tags"),
        ({"tags": ["2024"]}, "tags"),
        ({"published": datetime(2024, 1, 1)}, "published"),  # naive on purpose
        ({"language": "not a tag"}, "language"),
        ({"name_map": {"en": "same as primary"}}, "name_map"),
        ({"teaser_map": {"??": "x"}}, "teaser_map"),
        ({"id": ""}, "id"),
    ],
)
def test_constructor_validates(kwargs: dict[str, Any], field: str) -> None:
    base = {"id": "https://a.example/p/1", "attributed_to": "https://a.example/actor"}
    with pytest.raises(ValueError, match=field):
        Project(**{**base, **kwargs})


def test_place_validation() -> None:
    with pytest.raises(ValueError, match="longitude"):
        Place("x", 10.0, 181.0)
    with pytest.raises(ValueError, match="both"):
        Place("x", 10.0, None)
    assert Place("x", "52.5", 13).latitude == 52.5  # type: ignore[arg-type]


def test_dates_accept_offsets_and_normalise_to_utc() -> None:
    doc = full_project().to_ap()
    doc["published"] = "2020-03-15T11:30:00+02:00"
    doc["updated"] = "2024-06-01T12:00:00.25Z"
    got = Project.from_ap(doc)
    assert got.published == datetime(2020, 3, 15, 9, 30, tzinfo=UTC)
    assert got.published.tzinfo is UTC
    assert got.updated == datetime(2024, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)
    local = datetime(2020, 3, 15, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    assert (
        Project(id="https://a/1", attributed_to="https://a/", published=local).to_ap()["published"]
        == "2020-03-15T09:30:00Z"
    )


# --- content card ---------------------------------------------------------------------------------


def test_never_a_summary() -> None:
    obj = full_project()
    obj.extra["summary"] = "content warning!"
    obj.extra["summaryMap"] = {"en": "cw"}
    obj.extra["bcc"] = ["https://secret.example/u"]
    doc = obj.to_ap(followers=FOLLOWERS)
    assert "summary" not in doc and "summaryMap" not in doc and "bcc" not in doc
    back = Project.from_ap(doc)
    assert "summary" not in back.to_ap()
    # a remote object's summary is not carried either
    remote = Project.from_ap({**doc, "summary": "cw"})
    assert "summary" not in remote.extra


def test_content_escapes_hostile_text() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    obj = Project(
        id="https://a.example/p/1",
        attributed_to="https://a.example/actor",
        url='https://a.example/p/1?q="><script>alert(1)</script>',
        name=hostile,
        teaser=hostile + " & 'quotes'",
        name_map={"de": hostile},
        tags=["safe"],
    )
    doc = obj.to_ap(tag_url=lambda tag: f'https://a.example/tags/{tag}"onmouseover="x')
    for html in (doc["content"], *doc["contentMap"].values()):
        assert "<script" not in html.lower()
        assert "<img" not in html.lower()
        assert 'onmouseover="' not in html
        assert "&lt;script&gt;" in html
        # only the markup Mastodon keeps
        assert set(re.findall(r"</?([a-z]+)", html)) <= {"p", "strong", "a", "span"}
    assert Project.from_ap(doc) == obj


def test_card_reads_well_on_mastodon() -> None:
    doc = full_project().to_ap()
    assert doc["content"] == (
        "<p><strong>Pop-up bike lanes</strong></p>"
        "<p>Temporary lanes that became permanent.</p>"
        "<p>Phase: operational</p>"
        '<p><a href="https://berlin.example/tags/mobility" class="mention hashtag" rel="tag">'
        "#<span>mobility</span></a> "
        '<a href="https://berlin.example/tags/Radverkehr" class="mention hashtag" rel="tag">'
        "#<span>Radverkehr</span></a> "
        '<a href="https://berlin.example/tags/climate_action" class="mention hashtag" rel="tag">'
        "#<span>climate_action</span></a></p>"
        '<p><a href="https://berlin.example/p/bike-lanes">https://berlin.example/p/bike-lanes</a>'
        "</p>"
    )
    # Mastodon takes the language from the first contentMap key
    assert next(iter(doc["contentMap"])) == "en"
    assert doc["contentMap"]["de"].startswith("<p><strong>Pop-up-Radwege</strong></p>")
    # The title is machine-readable for partners, but never a Note's name or summary, which
    # GoToSocial shows as a content warning over the card.
    assert not {"name", "nameMap", "summary", "summaryMap"} & set(doc)
    assert doc["cf:title"] == "Pop-up bike lanes"
    assert doc["titleMap"] == {
        "en": "Pop-up bike lanes",
        "de": "Pop-up-Radwege",
        "pt-BR": "Ciclofaixas temporárias",
    }
    assert doc["teaserMap"]["de"] == "Vorübergehende Spuren, die blieben."


def test_title_is_read_from_cf_title_and_from_name_of_older_nodes() -> None:
    new = full_project().to_ap()
    assert Project.from_ap(new) == full_project()
    # A node from before the cf:title term sent the title as name/nameMap.
    old = {k: v for k, v in new.items() if k not in ("cf:title", "titleMap")}
    old["name"], old["nameMap"] = new["cf:title"], new["titleMap"]
    read = Project.from_ap(old)
    assert (read.name, read.name_map) == (full_project().name, full_project().name_map)
    # ...and writing it again uses the new term only.
    again = read.to_ap()
    assert "name" not in again and again["titleMap"] == new["titleMap"]


def test_hashtags_are_marked_up_as_mastodon_expects() -> None:
    obj = Project(
        id="https://a.example/p/1", attributed_to="https://a.example/actor", tags=["Straße", "x_1"]
    )
    doc = obj.to_ap()
    assert doc["tag"] == [
        {"type": "Hashtag", "href": "https://a.example/tags/Stra%C3%9Fe", "name": "#Straße"},
        {"type": "Hashtag", "href": "https://a.example/tags/x_1", "name": "#x_1"},
    ]
    assert (
        '<a href="https://a.example/tags/Stra%C3%9Fe" class="mention hashtag" rel="tag">'
        "#<span>Straße</span></a>"
    ) in doc["content"]
    by_base = obj.to_ap(tag_url="https://a.example/explore/tags/")
    assert by_base["tag"][1]["href"] == "https://a.example/explore/tags/x_1"
    by_function = obj.to_ap(tag_url=lambda t: f"https://h.example/t/{t.lower()}")
    assert by_function["tag"][0]["href"] == "https://h.example/t/straße"


def test_sdg_tags() -> None:
    doc = full_project().to_ap()
    sdg_tags = [t for t in doc["tag"] if t["type"] == "cf:SDG"]
    assert sdg_tags == [
        {"type": "cf:SDG", "name": "SDG 11", "href": "https://sdgs.un.org/goals/goal11"},
        {"type": "cf:SDG", "name": "SDG 13", "href": "https://sdgs.un.org/goals/goal13"},
    ]


def test_addressing() -> None:
    obj = full_project()
    doc = obj.to_ap(followers=FOLLOWERS)
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [FOLLOWERS]
    assert obj.to_ap()["to"] == [PUBLIC]
    assert "cc" not in obj.to_ap()


def test_other_tags_and_unknown_keys_are_kept() -> None:
    doc = full_project().to_ap()
    mention = {"type": "Mention", "href": "https://m.example/users/a", "name": "@a@m.example"}
    doc["tag"].append(mention)
    doc["zzNew"] = {"a": 1}
    got = Project.from_ap(doc)
    assert got.extra["tag"] == [mention]
    assert got.extra["zzNew"] == {"a": 1}
    again = got.to_ap()
    assert mention in again["tag"]
    assert again["zzNew"] == {"a": 1}


def test_default_context_is_not_shared() -> None:
    doc = full_project().to_ap()
    doc["@context"].append("https://w3id.org/security/data-integrity/v1")
    doc["@context"][2]["extra"] = "x"
    assert len(full_project().to_ap()["@context"]) == 3
    assert "extra" not in full_project().to_ap()["@context"][2]


# --- helpers --------------------------------------------------------------------------------------


def test_helpers() -> None:
    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(["a"]) == ["a"]
    assert first_of([]) is None and first_of(["a", "b"]) == "a" and first_of("a") == "a"
    assert id_of("https://x") == "https://x"
    assert id_of({"id": "https://x", "type": "Person"}) == "https://x"
    assert id_of([{"type": "Link", "href": "https://x"}]) == "https://x"
    assert id_of({"type": "Person"}) is None and id_of("") is None
    assert canonical_language("PT-br") == "pt-BR"
    assert canonical_language("zh-hant-tw") == "zh-Hant-TW"
    assert canonical_language("en-x-private") == "en-x-private"
    assert format_datetime(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    assert parse_datetime("2024-01-02T03:04:05", "f") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_datetime(None, "f") is None


# --- property tests -------------------------------------------------------------------------------

LANGS = ["en", "de", "fr", "pt-BR", "zh-Hant-TW", "sr-Latn", "es-419", "nds"]

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
urls = st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9/]{0,12}", fullmatch=True)
hashtags = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True) | st.sampled_from(
    ["Straße", "東京", "café", "año_2024"]
)
aware = st.datetimes(
    min_value=datetime(1000, 1, 1),  # hypothesis bounds are naive
    max_value=datetime(9000, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    ),
)
places = st.builds(
    Place,
    name=texts,
    latitude=st.floats(-90, 90, allow_nan=False),
    longitude=st.floats(-180, 180, allow_nan=False),
) | st.builds(Place, name=texts)
scalars = st.one_of(texts, st.integers(-(10**6), 10**6), st.booleans())


def json_values(pyld: bool) -> st.SearchStrategy[Any]:
    if pyld:
        # JSON-LD has no null, and a one-element array compacts to its element: only shapes
        # that mean the same thing after compaction are fair to compare.
        return scalars
    return st.recursive(
        scalars | st.none(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=6,
    )


@st.composite
def city_objects(draw: st.DrawFn, cls: type, pyld: bool) -> Any:
    language = draw(st.sampled_from(LANGS))
    others = [lang for lang in LANGS if lang != language]
    maps = st.dictionaries(st.sampled_from(others), texts, max_size=3)
    optional = st.none() | texts
    common: dict[str, Any] = {
        "id": draw(urls),
        "attributed_to": draw(urls),
        "name": draw(texts),
        "url": draw(st.none() | urls),
        "teaser": draw(texts),
        "description": draw(texts),
        "language": language,
        "name_map": draw(maps),
        "teaser_map": draw(maps),
        "description_map": draw(maps),
        "phase": draw(st.sampled_from(cls.PHASES)),
        "tags": draw(st.lists(hashtags, max_size=4)),
        "sdgs": draw(st.lists(st.integers(1, 17), max_size=4)),
        "location": draw(st.none() | places),
        "start_time": draw(st.none() | aware),
        "end_time": draw(st.none() | aware),
        "published": draw(st.none() | aware),
        "updated": draw(st.none() | aware),
        "replies": draw(st.none() | urls),
        "extra": draw(
            st.dictionaries(
                st.from_regex(r"zz[a-zA-Z]{1,8}", fullmatch=True), json_values(pyld), max_size=3
            )
        ),
    }
    if cls is Project:
        # a single partner or address compacts to a string; the reader turns it back into a list
        common |= {
            "contact": draw(optional),
            "license": draw(st.none() | st.sampled_from(["MIT", "EUPL-1.2", "Apache-2.0"])),
            "repository": draw(st.none() | urls),
            "publiccode": draw(st.none() | urls),
            "budget": draw(optional),
            "partners": draw(st.lists(texts, max_size=3)),
            "outcomes": draw(optional),
            "lessons_learned": draw(optional),
            "is_based_on": draw(st.none() | urls),
            "addresses": draw(st.lists(urls, max_size=3)),
            "adoptions": draw(st.none() | urls),
        }
    else:
        common |= {
            "deadline": draw(st.none() | aware),
            "requirements": draw(optional),
            "solutions": draw(st.none() | urls),
            "resolved_by": draw(st.lists(urls, max_size=3)),
        }
    return cls(**common)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from([Project, Challenge]).flatmap(lambda cls: city_objects(cls, pyld=False)))
def test_property_round_trip(obj: Any) -> None:
    doc = wire(obj.to_ap(followers=FOLLOWERS))
    assert type(obj).from_ap(doc) == obj
    assert parse_object(doc) == obj


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from([Project, Challenge]).flatmap(lambda cls: city_objects(cls, pyld=True)))
def test_property_round_trip_through_pyld(obj: Any) -> None:
    expanded = expand(wire(obj.to_ap(followers=FOLLOWERS)))
    assert type(obj).from_ap(compact_to_default(expanded)) == obj
    assert parse_object(expanded) == obj


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([Project, Challenge]).flatmap(lambda cls: city_objects(cls, pyld=False)))
def test_property_content_is_safe(obj: Any) -> None:
    doc = obj.to_ap()
    assert "summary" not in doc
    for html in (doc["content"], *doc["contentMap"].values()):
        assert set(re.findall(r"<([a-zA-Z][^\s>/]*)", html)) <= {"p", "strong", "a", "span"}
