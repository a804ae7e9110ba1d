"""The demo's three cities: who they are, whom they follow, and what each one publishes.

Plain data for ``cityfed.demo``; items are (kind, body) pairs as the API would receive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class City:
    handle: str
    name: str
    summary: str
    website: str
    follows: tuple[str, ...]
    items: tuple[tuple[str, dict[str, Any]], ...] = ()


CITIES = (
    City(
        "berlin",
        "City of Berlin",
        "<p>Innovation office of the State of Berlin: mobility, climate adaptation, open data.</p>",
        "https://www.berlin.de/",
        ("hamburg", "barcelona"),
        (
            (
                "project",
                {
                    "title": "Heavy-rain sensor network",
                    "teaser": "200 LoRaWAN sensors warn of flooded streets and cellars.",
                    "description": "## What we built\n\nWater-level sensors in drains and "
                    "underpasses report every five minutes over **LoRaWAN**. The data is open "
                    "and feeds the fire brigade's dashboard.\n\n- 200 sensors in 4 districts\n"
                    "- battery life of about 5 years\n- alerts by SMS and app",
                    "phase": "operational",
                    "tags": ["climate_adaptation", "sensors", "open_data"],
                    "sdgs": [11, 13],
                    "location": {"name": "Berlin", "latitude": 52.52, "longitude": 13.405},
                    "start_date": "2023-04-01",
                    "contact": "smart-water@berlin.example",
                    "license": "EUPL-1.2",
                    "repository": "https://code.berlin.example/rain-sensors",
                    "budget": "EUR 450,000",
                    "partners": ["Berliner Wasserbetriebe", "TU Berlin"],
                    "outcomes": "Flooded underpasses are closed 20 minutes earlier on average.",
                    "lessons_learned": "Plan the radio coverage before choosing the sites.",
                    "translations": {
                        "de": {
                            "title": "Starkregen-Sensornetz",
                            "teaser": "200 LoRaWAN-Sensoren warnen vor überfluteten Straßen.",
                        }
                    },
                    "featured": True,
                },
            ),
            (
                "project",
                {
                    "title": "Kiezblocks: calmer neighbourhood streets",
                    "teaser": "Residential blocks without through traffic, planned with residents.",
                    "description": "Modal filters (bollards, planters) keep through traffic "
                    "on main roads. Residents propose and co-design each Kiezblock.",
                    "phase": "pilot",
                    "tags": ["mobility", "traffic_calming"],
                    "sdgs": [3, 11],
                    "location": {"name": "Neukölln"},
                    "contact": "verkehr@berlin.example",
                    "translations": {"de": {"title": "Kiezblocks: ruhigere Straßen im Kiez"}},
                },
            ),
            (
                "challenge",
                {
                    "title": "Cooling schools in summer",
                    "teaser": "Classrooms reach 32 °C in June. What cools them without AC?",
                    "description": "Many of our 800 school buildings are from the 1970s. We look "
                    "for shading, ventilation and greening that a school can run itself.",
                    "phase": "open",
                    "tags": ["heat", "schools"],
                    "sdgs": [3, 4, 13],
                    "deadline": "2027-03-31",
                    "requirements": "- works in existing buildings\n- maintained by the school",
                },
            ),
        ),
    ),
    City(
        "hamburg",
        "Free and Hanseatic City of Hamburg",
        "<p>Digital city and climate unit of Hamburg.</p>",
        "https://www.hamburg.de/",
        ("berlin", "barcelona"),
        (
            (
                "project",
                {
                    "title": "Heat-risk map",
                    "teaser": "Which streets get dangerously hot, block by block.",
                    "description": "Satellite data and 60 street sensors, combined with the age "
                    "of residents, show where heat hurts most. **Open data**, updated daily.",
                    "phase": "pilot",
                    "tags": ["climate", "heat", "open_data"],
                    "sdgs": [3, 11, 13],
                    "location": {"name": "Altona", "latitude": 53.55, "longitude": 9.93},
                    "license": "EUPL-1.2",
                    "partners": ["University of Hamburg", "DWD"],
                    "translations": {"de": {"title": "Hitzerisikokarte"}},
                },
            ),
            (
                "challenge",
                {
                    "title": "Flooded underpasses",
                    "teaser": "Warn drivers before they drive into water.",
                    "description": "After heavy rain, underpasses fill within minutes. We need "
                    "an early warning that reaches drivers and the traffic control centre.",
                    "phase": "open",
                    "tags": ["flooding", "mobility"],
                    "sdgs": [11, 13],
                    "deadline": "2027-01-31",
                },
            ),
        ),
    ),
    City(
        "barcelona",
        "Ajuntament de Barcelona",
        "<p>Urban ecology and innovation, Barcelona City Council.</p>",
        "https://ajuntament.barcelona.cat/",
        ("berlin",),
        (
            (
                "project",
                {
                    "title": "Superblocks (Superilles)",
                    "teaser": "Nine blocks become one: streets turned into squares and green axes.",
                    "description": "Traffic circulates around groups of blocks; the inner "
                    "streets become shared space with trees, benches and play areas.",
                    "phase": "operational",
                    "tags": ["mobility", "public_space", "traffic_calming"],
                    "sdgs": [3, 11],
                    "location": {"name": "Eixample", "latitude": 41.39, "longitude": 2.16},
                    "language": "en",
                    "translations": {
                        "es": {"title": "Supermanzanas"},
                        "ca": {"title": "Superilles"},
                    },
                },
            ),
            (
                "project",
                {
                    "title": "Climate shelters in schools",
                    "teaser": "Schoolyards with shade, water and plants, open to all in heatwaves.",
                    "description": "Since 2019 more than 200 climate shelters: schoolyards "
                    "and libraries that stay cool and open to neighbours during heatwaves.",
                    "phase": "operational",
                    "tags": ["heat", "schools", "climate_adaptation"],
                    "sdgs": [3, 4, 11, 13],
                    "location": {"name": "Barcelona"},
                },
            ),
        ),
    ),
)
