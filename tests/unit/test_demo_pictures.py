"""The demo's pictures are drawn by code: deterministic, with alt text, and accepted by the same
processing as any upload (so the demo exercises the real pipeline)."""

from __future__ import annotations

from cityfed import demo_pictures
from cityfed.demo_cities import CITIES
from cityfed.media.processing import ImageLimits, process_image


def test_covers_and_logos_are_deterministic_described_and_valid_uploads() -> None:
    titles = [body["title"] for city in CITIES for _kind, body in city.items]
    covers = {title: demo_pictures.cover(title) for title in titles}
    assert demo_pictures.cover(titles[0]) == covers[titles[0]]
    assert len({data for data, _alt in covers.values()}) == len(titles)  # one picture each
    for title, (data, alt) in covers.items():
        assert title in alt and len(alt) > 40
        processed = process_image(data, ImageLimits())
        assert (processed.width, processed.height) == demo_pictures.COVER_SIZE
        assert processed.blurhash
    data, alt = demo_pictures.logo("City of Berlin", "Berlin")
    assert "letter B" in alt and process_image(data, ImageLimits()).width == 400
