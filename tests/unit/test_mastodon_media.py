"""MediaAttachment entities from a document's ``attachment`` (mastodon/entities.py), shaped as
Mastodon documents them: id, type, url, preview_url, remote_url, meta, description, blurhash."""

from __future__ import annotations

from cityfed.mastodon.entities import media_entities

REQUIRED = {"id", "type", "url", "preview_url", "remote_url", "meta", "description", "blurhash"}


def test_images_and_documents_become_media_attachments() -> None:
    document = {
        "attachment": [
            {
                "type": "Image",
                "mediaType": "image/webp",
                "url": "https://berlin.example/media/ab.webp",
                "name": "Map of the heat islands",
                "width": 1200,
                "height": 800,
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                "focalPoint": [0.1, -0.2],
            },
            # Mastodon sends images as Documents; the media type tells.
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": [{"href": "https://m.example/x.png"}],
            },
            {"type": "Document", "mediaType": "application/pdf", "url": "https://b.example/r.pdf"},
            {"type": "PropertyValue", "name": "not media", "value": "x"},
            {"type": "Image", "url": "javascript:alert(1)"},
        ]
    }
    image, png, pdf = media_entities(document)
    for entity in (image, png, pdf):
        assert entity.keys() >= REQUIRED
        assert isinstance(entity["id"], str) and entity["id"].isdigit()
    assert image["type"] == "image" and image["description"] == "Map of the heat islands"
    assert image["meta"]["original"] == {
        "width": 1200,
        "height": 800,
        "size": "1200x800",
        "aspect": 1.5,
    }
    assert image["meta"]["focus"] == {"x": 0.1, "y": -0.2}
    assert png["type"] == "image" and png["url"] == "https://m.example/x.png"
    assert pdf["type"] == "unknown" and pdf["blurhash"] is None
    assert media_entities(document)[0]["id"] == image["id"]  # stable
    assert len({image["id"], png["id"], pdf["id"]}) == 3


def test_no_attachment_no_media() -> None:
    assert media_entities({}) == []
    assert media_entities({"attachment": "https://x.example/not-a-link-object"}) == []
