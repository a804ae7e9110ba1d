"""Mastodon entities built from stored rows (mastodon/entities.py): media attachments shaped as
Mastodon documents them, and partners' HTML cleaned before an app sees it."""

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


def test_a_partners_html_is_cleaned_before_an_app_sees_it() -> None:
    from datetime import UTC, datetime

    from cityfed.mastodon.entities import account_entity, status_entity
    from cityfed.models.tables import Actor, Object

    now = datetime.now(UTC)
    partner = Actor(
        id=7,
        ap_id="https://hamburg.example/actors/hamburg",
        local=False,
        type="Organization",
        handle="hamburg",
        domain="hamburg.example",
        summary='<p onclick="x()">Hi<script>1</script></p>',
        created_at=now,
        manually_approves_followers=False,
    )
    row = Object(
        id=9,
        ap_id="https://hamburg.example/projects/1",
        type="Project",
        actor_id=7,
        local=False,
        published=now,
        document={"content": '<p>Map<img src=x onerror="alert(1)"></p>'},
    )
    account = account_entity(partner, base_url="https://berlin.example")
    assert account["note"] == "<p>Hi</p>" and account["acct"] == "hamburg@hamburg.example"
    status = status_entity(row, account, base_url="https://berlin.example")
    assert "onerror" not in status["content"] and "<img" not in status["content"]
    assert status["content"].startswith("<p>Map")
