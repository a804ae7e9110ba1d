"""Adoption and SolutionOffer: every field round trips, in our shape and in other JSON-LD shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from cityfed.activitypub.jsonld import CF_NAMESPACE, PUBLIC, expand
from cityfed.activitypub.vocab.cooperation import (
    ADOPTION_STATUSES,
    Adoption,
    SolutionOffer,
    adoption_card,
    rationale_html,
)

BERLIN = "https://berlin.example/actors/berlin"
HAMBURG = "https://hamburg.example/actors/hamburg"
ORIGIN = "https://hamburg.example/projects/heat"


pytestmark = pytest.mark.usefixtures("no_network")  # tests/conftest.py


def wire(doc: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(doc))


def full_adoption() -> Adoption:
    return Adoption(
        id="https://berlin.example/adoptions/1",
        attributed_to=BERLIN,
        project=ORIGIN,
        local_project="https://berlin.example/projects/heat-berlin",
        status="piloting",
        content=adoption_card(
            adopter_name="City of Berlin",
            status="piloting",
            origin_name="City of Hamburg",
            project_name="Heat-risk map",
            project_url=ORIGIN,
            local_project_url="https://berlin.example/projects/heat-berlin",
        ),
        outcomes="Two districts use it.",
        lessons_learned="Calibrate the sensors first.",
        url="https://berlin.example/adoptions/1",
        published=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated=datetime(2026, 2, 3, 4, 5, 6, 700000, tzinfo=UTC),
    )


def full_offer() -> SolutionOffer:
    return SolutionOffer(
        id="https://berlin.example/offers/1",
        attributed_to=BERLIN,
        solution="https://berlin.example/projects/sensors",
        challenge="https://hamburg.example/challenges/floods",
        content=rationale_html("Our sensors run on LoRaWAN.\n\nAsk us <anything>."),
        published=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_adoption_round_trips() -> None:
    adoption = full_adoption()
    doc = wire(adoption.to_ap(followers=BERLIN + "/followers", origin=HAMBURG))
    back = Adoption.from_ap(doc)
    assert back == adoption
    assert wire(back.to_ap(followers=BERLIN + "/followers", origin=HAMBURG)) == doc


def test_adoption_document_is_a_public_note_naming_both_projects() -> None:
    doc = full_adoption().to_ap(followers=BERLIN + "/followers", origin=HAMBURG)
    assert doc["type"] == ["Note", "cf:Adoption"]
    assert doc["object"] == ORIGIN
    assert doc["cf:localProject"] == "https://berlin.example/projects/heat-berlin"
    assert doc["cf:adopter"] == BERLIN and doc["attributedTo"] == BERLIN
    assert doc["cf:status"] == "piloting"
    assert doc["to"] == [PUBLIC] and doc["cc"] == [BERLIN + "/followers", HAMBURG]
    assert "summary" not in doc
    assert "City of Berlin is piloting City of Hamburg's" in doc["content"]
    assert f'<a href="{ORIGIN}">Heat-risk map</a>' in doc["content"]
    assert doc["updated"] == "2026-02-03T04:05:06.700000Z"


def test_adoption_read_from_expanded_json_ld() -> None:
    """Another implementation may send the expanded form (full IRIs): the same adoption."""
    adoption = full_adoption()
    expanded = expand(wire(adoption.to_ap()))
    assert any(CF_NAMESPACE + "localProject" in node for node in expanded)
    assert Adoption.from_ap(expanded) == adoption


def test_adoption_read_with_another_prefix() -> None:
    doc = wire(full_adoption().to_ap())
    del doc["@context"]
    renamed = {("city:" + k[3:] if k.startswith("cf:") else k): v for k, v in doc.items()}
    renamed["type"] = ["Note", "city:Adoption"]
    renamed["@context"] = [
        "https://www.w3.org/ns/activitystreams",
        {
            "city": CF_NAMESPACE,
            "city:localProject": {"@type": "@id"},
            "city:adopter": {"@type": "@id"},
        },
    ]
    back = Adoption.from_ap(renamed)
    assert (back.local_project, back.status, back.project) == (
        "https://berlin.example/projects/heat-berlin",
        "piloting",
        ORIGIN,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "dreaming"}, "status"),
        ({"project": ""}, "project"),
        ({"local_project": ""}, "local_project"),
        ({"published": datetime(2026, 1, 1)}, "published"),
    ],
)
def test_invalid_adoption_names_the_field(change: dict[str, Any], field: str) -> None:
    values = {**full_adoption().__dict__, **change}
    with pytest.raises(ValueError, match=f"^{field}"):
        Adoption(**values)


def test_adoption_without_object_is_invalid() -> None:
    doc = wire(full_adoption().to_ap())
    del doc["object"]
    with pytest.raises(ValueError, match=r"^object"):
        Adoption.from_ap(doc)


def test_adopter_defaults_to_the_author_and_every_status_has_a_card() -> None:
    doc = wire(full_adoption().to_ap())
    del doc["cf:adopter"]
    assert Adoption.from_ap(doc).adopter == BERLIN
    for status in ADOPTION_STATUSES:
        card = adoption_card(
            adopter_name="A",
            status=status,
            origin_name="B",
            project_name="P",
            project_url=ORIGIN,
        )
        assert card.startswith("<p>A ") and "B's" in card


def test_card_escapes_names() -> None:
    card = adoption_card(
        adopter_name="<b>Evil</b>",
        status="planned",
        origin_name="B & C",
        project_name="<script>x</script>",
        project_url='https://x.example/"onmouseover=',
    )
    assert "<b>" not in card and "<script>" not in card and "B &amp; C" in card
    assert 'href="https://x.example/&quot;onmouseover="' in card


def test_solution_offer_round_trips_and_is_addressed_to_the_owner() -> None:
    offer = full_offer()
    doc = wire(offer.to_ap(owner=HAMBURG))
    assert doc["type"] == "cf:SolutionOffer"
    assert doc["to"] == [HAMBURG] and PUBLIC not in str(doc)
    assert doc["cf:solution"] == offer.solution and doc["cf:challenge"] == offer.challenge
    assert doc["content"] == "<p>Our sensors run on LoRaWAN.</p><p>Ask us &lt;anything&gt;.</p>"
    assert SolutionOffer.from_ap(doc) == offer
    assert SolutionOffer.from_ap(expand(doc)) == offer


def test_solution_offer_needs_its_project_and_challenge() -> None:
    doc = wire(full_offer().to_ap())
    del doc["cf:challenge"]
    with pytest.raises(ValueError, match=r"^cf:challenge"):
        SolutionOffer.from_ap(doc)
    with pytest.raises(ValueError, match=r"^type"):
        SolutionOffer.from_ap({**wire(full_offer().to_ap()), "type": "Note"})
