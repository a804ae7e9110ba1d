"""Media through the faces (issue 16): uploads over the REST API and the staff pages, attaching
pictures and documents to projects and comments, serving them, and federating them.

Real nodes on loopback: a project with pictures reaches a follower as ``Image`` attachments (alt
text, blurhash, focal point, size) and shows on the follower's pages from its own cache; a bad
upload (fake PNG, decompression bomb, 50 MB, SVG with script) is refused with a clear 4xx and
leaves nothing in the database or the storage; blocking a domain purges its cached pictures;
both storage backends (files, and S3 through moto's server on loopback).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import func, select

from cityfed.models.tables import Media, MediaFile, MediaLink, Object, RemoteMedia
from tests.integration import test_staff_auth as shared
from tests.media_support import (
    SVG_WITH_SCRIPT,
    bucket_keys,
    encode,
    fake_png,
    jpeg_with_gps,
    make_bucket,
    png_bomb,
    s3_endpoint,
)
from tests.rig import TestNode, settle

__all__ = ["s3_endpoint"]  # a fixture, used by name
fast_hashing, staff = shared.fast_hashing, shared.staff

PROJECT = {
    "title": "Green roofs on bus shelters",
    "teaser": "Sedum roofs cool the stop and feed the bees.",
    "description": "We planted 120 shelters.",
    "phase": "pilot",
    "tags": ["climate"],
}
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def form(data: bytes, filename: str, content_type: str, **fields: str) -> aiohttp.FormData:
    body = aiohttp.FormData(quote_fields=False)  # as browsers send names: unescaped
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", data, filename=filename, content_type=content_type)
    return body


async def upload(
    node: TestNode, data: bytes, filename: str, content_type: str, **fields: str
) -> tuple[int, Any]:
    async with node.post(
        "/api/cityfed/v1/media",
        token=node.editor_token,
        data=form(data, filename, content_type, **fields),
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def stored(node: TestNode) -> tuple[int, int, list[Path]]:
    """(media rows, media file rows, files in the storage dir)."""
    async with node.node.db.session() as session:
        media = await session.scalar(select(func.count()).select_from(Media)) or 0
        files = await session.scalar(select(func.count()).select_from(MediaFile)) or 0
    root = Path(node.settings.data_dir) / "media"
    return media, files, [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def photo() -> bytes:
    return jpeg_with_gps(1600, 900)


async def test_bad_uploads_get_a_clear_4xx_and_nothing_is_stored(nodes) -> None:
    node = await nodes("berlin")
    cases = [
        (fake_png(), "roof.png", "image/png", {"alt_text": "a roof"}, 422, "decode"),
        (png_bomb(60000, 60000), "bomb.png", "image/png", {"alt_text": "x"}, 413, "pixels"),
        (b"\xff\xd8\xff" + b"0" * (50 * 1024 * 1024), "big.jpg", "image/jpeg", {}, 413, "MiB"),
        (SVG_WITH_SCRIPT, "logo.svg", "image/svg+xml", {"alt_text": "logo"}, 415, ""),
        (photo(), "photo.jpg", "image/jpeg", {}, 422, "alt text"),
        (b"MZ\x90\x00" + b"\x00" * 500, "setup.exe", "application/pdf", {}, 415, ""),
    ]
    for data, name, ctype, fields, status, word in cases:
        got, body = await upload(node, data, name, ctype, **fields)
        assert got == status, (name, got, body)
        assert body["error"].startswith("file: ") and word in body["error"], (name, body)
    assert await stored(node) == (0, 0, [])
    # Not multipart at all, and no file part.
    await node.api("POST", "/media", json={"file": "x"}, status=415)
    async with node.post("/api/cityfed/v1/media", token=node.editor_token, json={}) as resp:
        assert resp.status == 415
    async with node.post(
        "/api/cityfed/v1/media", token=node.editor_token, data=aiohttp.FormData({"alt_text": "x"})
    ) as resp:
        assert resp.status in (415, 422)
    assert await stored(node) == (0, 0, [])


async def test_upload_attach_serve_reorder_remove(nodes) -> None:
    node = await nodes("berlin")
    project = (await node.api("POST", "/projects", json=PROJECT, status=201))["id"]
    uid = project.rsplit("/", 1)[1]
    status, image = await upload(
        node,
        photo(),
        "roof.jpg",
        "image/jpeg",
        alt_text="Sedum on a shelter",
        focal_point="0.2,-0.4",
    )
    assert status == 201, image
    assert image["kind"] == "image" and image["alt_text"] == "Sedum on a shelter"
    assert image["focal_point"] == [0.2, -0.4] and image["blurhash"]
    status, pdf = await upload(node, PDF, "tender 2024.pdf", "application/pdf")
    assert status == 201, pdf
    listed = await node.api(
        "POST", f"/projects/{uid}/media", json={"media": image["id"], "role": "cover"}, status=200
    )
    assert [m["role"] for m in listed["items"]] == ["cover"]
    listed = await node.api("POST", f"/projects/{uid}/media", json={"media": pdf["id"]}, status=200)
    assert [m["kind"] for m in listed["items"]] == ["image", "document"]
    # A document cannot be a cover; an unknown upload is a 404.
    await node.api(
        "POST", f"/projects/{uid}/media", json={"media": pdf["id"], "role": "cover"}, status=422
    )
    await node.api("POST", f"/projects/{uid}/media", json={"media": 9999}, status=404)

    # The object's document carries them as Mastodon reads media.
    doc = await node.get_json(project)
    assert "blurhash" in str(doc["@context"]) and "focalPoint" in str(doc["@context"])
    cover, document = doc["attachment"]
    assert cover["type"] == "Image" and cover["name"] == "Sedum on a shelter"
    assert cover["mediaType"] == "image/jpeg" and cover["focalPoint"] == [0.2, -0.4]
    assert cover["width"] == 1600 and cover["height"] == 900 and cover["blurhash"]
    assert document == {
        "type": "Document",
        "mediaType": "application/pdf",
        "url": document["url"],
        "name": "tender 2024.pdf",
    }

    # Served with the recorded type, nosniff, a year-long immutable cache; documents as downloads.
    async with node.get(cover["url"]) as resp:
        body = await resp.read()
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "immutable" in resp.headers["Cache-Control"]
        etag = resp.headers["ETag"]
    served = Image.open(io.BytesIO(body))
    assert served.size == (1600, 900) and not served.getexif()  # no GPS, no camera
    async with node.get(cover["url"], headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
    async with node.get(document["url"]) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["Content-Disposition"].startswith("attachment;")
        assert "tender%202024.pdf" in resp.headers["Content-Disposition"]
        assert await resp.read() == PDF
    async with node.get("/media/" + "0" * 64) as resp:
        assert resp.status == 404

    # The public page shows the picture with its alt text and the document as a link.
    async with node.get(project, headers={"Accept": "text/html"}) as resp:
        page = await resp.text()
    assert 'alt="Sedum on a shelter"' in page and "tender 2024.pdf" in page
    # The Atom feed too.
    async with node.get(f"/actors/{node.handle}/feed.atom") as resp:
        feed = await resp.text()
    assert "Sedum on a shelter" in feed and 'rel="enclosure"' in feed

    # Reorder (every id once), then remove: the removed upload and its files are gone.
    await node.api("PUT", f"/projects/{uid}/media", json={"order": [image["id"]]}, status=422)
    listed = await node.api(
        "PUT", f"/projects/{uid}/media", json={"order": [pdf["id"], image["id"]]}, status=200
    )
    assert [m["id"] for m in listed["items"]] == [image["id"], pdf["id"]]  # images lead
    media_before, files_before, paths_before = await stored(node)
    await node.api("DELETE", f"/projects/{uid}/media/{pdf['id']}", status=200)
    media_after, files_after, paths_after = await stored(node)
    assert (media_after, files_after) == (media_before - 1, files_before - 1)
    assert len(paths_after) == len(paths_before) - 1
    async with node.get(document["url"]) as resp:
        assert resp.status == 404
    assert "attachment" in (await node.get_json(project))
    assert len((await node.get_json(project))["attachment"]) == 1

    # An attached upload cannot be deleted directly; deleting the project frees its files.
    await node.api("DELETE", f"/media/{image['id']}", status=409)
    await node.api("DELETE", f"/projects/{uid}", status=204)
    assert await stored(node) == (0, 0, [])


async def test_quota_per_city(nodes) -> None:
    probe = await nodes("probe")
    _status, first = await upload(probe, photo(), "a.jpg", "image/jpeg", alt_text="one")
    size = first["size"]  # what one upload of this photo counts against a quota
    node = await nodes("berlin", media_quota_bytes=size + size // 2)
    status, body = await upload(node, photo(), "a.jpg", "image/jpeg", alt_text="one")
    assert status == 201, body
    status, body = await upload(node, photo(), "b.jpg", "image/jpeg", alt_text="two")
    assert status == 413 and "quota" in body["error"], body
    media, _files, _paths = await stored(node)
    assert media == 1
    # The probe node has no quota: the same upload fits there.
    status, body = await upload(probe, photo(), "b.jpg", "image/jpeg", alt_text="two")
    assert status == 201, body


async def _cached_partner_picture(
    nodes, **overrides: Any
) -> tuple[TestNode, TestNode, dict, Object]:
    a, b = await nodes("berlin", **overrides), await nodes("hamburg", **overrides)
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    project = (await a.api("POST", "/projects", json=PROJECT, status=201))["id"]
    uid = project.rsplit("/", 1)[1]
    _s, image = await upload(a, photo(), "roof.jpg", "image/jpeg", alt_text="Sedum on a shelter")
    await a.api(
        "POST", f"/projects/{uid}/media", json={"media": image["id"], "role": "cover"}, status=200
    )
    await settle(a, b)
    async with b.node.db.session() as session:
        row = await session.scalar(select(Object).where(Object.ap_id == project))
    assert row is not None and not row.local
    return a, b, image, row


@pytest.mark.parametrize("backend", ["files", "s3"])
async def test_pictures_federate_and_show_from_the_partners_cache(nodes, backend, request) -> None:
    overrides: dict[str, Any] = {}
    if backend == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = await make_bucket(endpoint)
        overrides = {
            "media_storage": "s3",
            "media_s3_endpoint": endpoint,
            "media_s3_bucket": bucket,
            "media_s3_access_key": "test",
            "media_s3_secret_key": "test",
        }
    a, b, _image, row = await _cached_partner_picture(nodes, **overrides)
    (attachment,) = row.document["attachment"]
    assert attachment["type"] == "Image" and attachment["name"] == "Sedum on a shelter"
    assert attachment["url"].startswith(a.base + "/media/")

    # B's pages point at B's own cache, never at A.
    src = f"/media/remote/{row.id}/0"
    fetched_before = sum(1 for _m, path in a.access_log if path.startswith("/media/"))
    async with b.get(src) as resp:
        body = await resp.read()
        assert resp.status == 200, body[:200]
        assert resp.headers["Content-Type"] == "image/webp"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(body)).format == "WEBP"
    async with b.get(src) as resp:  # the second view comes from the cache
        assert resp.status == 200
    fetched = sum(1 for _m, path in a.access_log if path.startswith("/media/")) - fetched_before
    assert fetched == 1
    async with b.node.db.session() as session:
        cached = (await session.scalars(select(RemoteMedia))).one()
    assert cached.state == "cached" and cached.url == attachment["url"]
    if backend == "s3":
        assert any(key.endswith(cached.storage_key) for key in await bucket_keys(endpoint, bucket))

    # Blocking A purges what B cached of it, and nothing more is fetched or served.
    change = await b.api("PUT", f"/admin/peers/{a.domain}", json={"policy": "blocked"}, status=200)
    assert change is not None
    async with b.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(RemoteMedia)) == 0
    async with b.get(src) as resp:
        assert resp.status == 404
    if backend == "files":
        assert not [p for p in (Path(b.settings.data_dir) / "media").rglob("*") if p.is_file()]
    else:
        assert not any(
            key.endswith(cached.storage_key) for key in await bucket_keys(endpoint, bucket)
        )


async def test_partner_pictures_on_the_staff_timeline_come_from_our_cache(nodes, staff) -> None:
    a, b, _image, row = await _cached_partner_picture(nodes)
    client = await staff(b, "editor")
    page = await client.get("/staff/")
    assert page.status == 200
    assert f'src="/media/remote/{row.id}/0"' in page.text
    assert f'src="{a.base}' not in page.text  # never hotlinked
    assert 'alt="Sedum on a shelter"' in page.text


async def test_staff_upload_with_alt_text_reorder_remove(nodes, staff) -> None:
    node = await nodes("berlin")
    project = (await node.api("POST", "/projects", json=PROJECT, status=201))["id"]
    client = await staff(node, "editor")
    page = await client.get(f"/staff/object?id={project}")
    assert page.status == 200 and 'enctype="multipart/form-data"' in page.text

    async def send(data: bytes, name: str, ctype: str, **fields: str) -> shared.Page:
        body = form(data, name, ctype, id=project, csrf=client.csrf, **fields)
        async with client.http.post(
            node.url("/staff/media/upload"), data=body, allow_redirects=False
        ) as resp:
            return await client._page(resp)

    # No alt text: refused, said on the page, nothing stored.
    refused = await send(photo(), "roof.jpg", "image/jpeg", alt_text="")
    assert refused.status == 422 and "alt text" in refused.text
    assert await stored(node) == (0, 0, [])
    # A picture larger than the app's 1 MiB body limit still goes through this form.
    noise = Image.frombytes("RGB", (800, 800), random.Random(3).randbytes(800 * 800 * 3))
    big = encode(noise, "PNG")
    assert len(big) > node.settings.max_body_bytes
    done = await send(big, "roof.png", "image/png", alt_text="A green roof", role="cover")
    assert done.status == 303, done.text[:300]
    done = await send(PDF, "report.pdf", "application/pdf", alt_text="Final report")
    assert done.status == 303
    page = await client.get(f"/staff/object?id={project}")
    assert 'alt="A green roof"' in page.text and "Final report" in page.text
    doc = await node.get_json(project)
    assert [a["type"] for a in doc["attachment"]] == ["Image", "Document"]
    async with node.node.db.session() as session:
        links = list(await session.scalars(select(MediaLink).order_by(MediaLink.position)))
    document_id = next(link.media_id for link in links if link.role == "attachment")
    moved = await client.post(
        "/staff/media/move", {"id": project, "media": str(document_id), "direction": "up"}
    )
    assert moved.status == 303
    removed = await client.post("/staff/media/remove", {"id": project, "media": str(document_id)})
    assert removed.status == 303
    doc = await node.get_json(project)
    assert [a["type"] for a in doc["attachment"]] == ["Image"]
    # Without the CSRF value, an upload is refused like any other staff form.
    body = form(photo(), "x.jpg", "image/jpeg", id=project, alt_text="x")
    async with client.http.post(
        node.url("/staff/media/upload"), data=body, allow_redirects=False
    ) as resp:
        assert resp.status == 403


async def test_documents_on_comments_federate(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    project = (await a.api("POST", "/projects", json=PROJECT, status=201))["id"]
    await settle(a, b)
    _s, pdf = await upload(b, PDF, "our-tender.pdf", "application/pdf", description="Our tender")
    await b.api(
        "POST",
        "/comments",
        json={"in_reply_to": project, "content": "Here is ours.", "attachments": [pdf["id"]]},
        status=201,
    )
    await b.api(
        "POST",
        "/comments",
        json={"in_reply_to": project, "content": "x", "attachments": [99]},
        status=404,
    )
    await settle(a, b)
    async with a.node.db.session() as session:
        comment = await session.scalar(
            select(Object).where(Object.in_reply_to == project, Object.local.is_(False))
        )
    assert comment is not None
    (attachment,) = comment.document["attachment"]
    assert attachment["type"] == "Document" and attachment["name"] == "Our tender"
    assert attachment["mediaType"] == "application/pdf"
    # A's page of the project offers it as a download link in the thread.
    async with a.get(project, headers={"Accept": "text/html"}) as resp:
        page = await resp.text()
    assert f'href="{attachment["url"]}"' in page and "Our tender" in page


async def test_uploads_attached_to_nothing_are_swept_after_a_day(nodes) -> None:
    from datetime import timedelta

    from cityfed.federation.housekeeping import Housekeeper
    from cityfed.models.types import utcnow

    node = await nodes("berlin")
    project = (await node.api("POST", "/projects", json=PROJECT, status=201))["id"]
    _s, kept = await upload(node, photo(), "a.jpg", "image/jpeg", alt_text="kept")
    await node.api(
        "POST", f"/projects/{project.rsplit('/', 1)[1]}/media", json={"media": kept["id"]}
    )
    _s, abandoned = await upload(node, PDF, "draft.pdf", "application/pdf")
    now = utcnow()
    assert (await Housekeeper(node.node, clock=lambda: now).purge()).uploads == 0  # too young
    later = now + timedelta(days=2)
    assert (await Housekeeper(node.node, clock=lambda: later).purge()).uploads == 1
    await node.api("GET", f"/media/{abandoned['id']}", status=404)
    await node.api("GET", f"/media/{kept['id']}", status=200)
    media, _files, paths = await stored(node)
    assert media == 1 and not any(p.name == abandoned["url"].rsplit("/", 1)[1] for p in paths)
