"""Staff pages between real nodes: each form goes through to its action and across the network
(publish, edit, delete, follow, timeline, comment, adopt, offer, administration)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

from sqlalchemy import func, select, update

from cityfed.models.tables import AuditEntry, Delivery, Key
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import TestNode, settle

# The staff fixtures (test_staff_auth.py), shared with this module.
fast_hashing, staff = shared.fast_hashing, shared.staff

PROJECT_FORM = [
    ("kind", "project"),
    ("action", "save"),
    ("title", "Kiezblocks"),
    ("teaser", "Residential blocks without through traffic."),
    ("description", "# Method\n\nBollards and **planters**."),
    ("language", "en"),
    ("phase", "pilot"),
    ("tags", "mobility, traffic_calming #OpenData"),
    ("sdgs", "11"),
    ("sdgs", "3"),
    ("location_name", "Neukölln"),
    ("location_latitude", "52.48"),
    ("location_longitude", "13.43"),
    ("start_date", "2025-03-01"),
    ("end_date", "2026-10-31"),
    ("contact", "verkehr@berlin.example"),
    ("license", "EUPL-1.2"),
    ("repository", "https://code.berlin.example/kiezblocks"),
    ("publiccode", ""),
    ("budget", "EUR 80,000"),
    ("partners", "TU Berlin\r\nChanging Cities"),
    ("outcomes", "Less through traffic."),
    ("lessons_learned", "Talk to residents early."),
    ("addresses", ""),
    ("tr_lang_0", "de"),
    ("tr_title_0", "Kiezblocks"),
    ("tr_teaser_0", "Wohnblöcke ohne Durchgangsverkehr."),
    ("tr_description_0", "Poller und Pflanzkübel."),
    ("tr_lang_1", ""),
    ("featured", "on"),
]


def object_id(location: str) -> str:
    return parse_qs(urlsplit(location).query)["id"][0]


def form(base: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    return [(k, changes.get(k, v)) for k, v in base]


async def followed_by(b: TestNode, a: TestNode) -> None:
    """B follows A (accepted)."""
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)


# --- publish, edit, delete ----------------------------------------------------------------------


async def test_publishing_through_the_form_reaches_a_follower(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(b, a)
    editor = await staff(a, "editor")
    new = await editor.get("/staff/items/new?kind=project")
    assert new.status == 200 and 'for="f-title"' in new.text
    page = await editor.post("/staff/items/new", PROJECT_FORM)
    assert page.status == 303, page.text[:500]
    ap_id = object_id(page.location)
    assert page.location.endswith("&done=published")
    (item,) = (await a.api("GET", "/projects"))["items"]
    assert item["id"] == ap_id
    expected = {
        "title": "Kiezblocks",
        "teaser": "Residential blocks without through traffic.",
        "description": "# Method\n\nBollards and **planters**.",
        "phase": "pilot",
        "language": "en",
        "tags": ["mobility", "traffic_calming", "OpenData"],
        "sdgs": [3, 11],
        "location": {"name": "Neukölln", "latitude": 52.48, "longitude": 13.43},
        "start_date": "2025-03-01T00:00:00Z",
        "end_date": "2026-10-31T00:00:00Z",
        "contact": "verkehr@berlin.example",
        "license": "EUPL-1.2",
        "repository": "https://code.berlin.example/kiezblocks",
        "publiccode": None,
        "budget": "EUR 80,000",
        "partners": ["TU Berlin", "Changing Cities"],
        "outcomes": "Less through traffic.",
        "lessons_learned": "Talk to residents early.",
        "translations": {
            "de": {
                "title": "Kiezblocks",
                "teaser": "Wohnblöcke ohne Durchgangsverkehr.",
                "description": "Poller und Pflanzkübel.",
            }
        },
        "featured": True,
    }
    assert {key: item[key] for key in expected} == expected
    shown = await editor.get(page.location)
    assert "Published. Your followers receive it in a moment." in shown.text
    assert "<strong>planters</strong>" in shown.text
    await settle(a, b)
    (copy,) = (await b.api("GET", "/timeline"))["items"]
    assert copy["id"] == ap_id and copy["title"] == "Kiezblocks"


async def test_refused_fields_are_shown_next_to_the_field(nodes, staff) -> None:
    a = await nodes("berlin")
    editor = await staff(a, "editor")
    await editor.get("/staff/items/new?kind=project")
    bad = [
        *form(
            PROJECT_FORM,
            title="",
            repository="ftp://code.example",
            location_longitude="",
            tr_title_0="x" * 2001,
        ),
        ("sdgs", "18"),
    ]
    page = await editor.post("/staff/items/new", bad)
    assert page.status == 422
    for fid, message in [
        ("f-title", "this field is required"),
        ("f-repository", "expected an http(s) URL"),
        ("f-sdgs", "goals are numbered 1 to 17"),
        ("f-location", "give both latitude and longitude, or neither"),
        ("f-tr_title_0", "at most 2000 characters"),
    ]:
        assert re.search(rf'id="{fid}-error"[^>]*>.*?{re.escape(message)}', page.text), fid
    title = re.search(r"<input id=\"f-title\"[^>]*>", page.text).group(0)
    assert 'aria-describedby="f-title-error"' in title and 'aria-invalid="true"' in title
    assert 'class="error-summary" role="alert"' in page.text
    assert "Residential blocks without through traffic." in page.text  # what was typed stays
    dates = await editor.post(
        "/staff/items/new", form(PROJECT_FORM, start_date="2026-01-01", end_date="2025-01-01")
    )
    assert dates.status == 422 and "must not be before the start" in dates.text
    assert (await a.api("GET", "/projects"))["total"] == 0


def summary(page: str) -> list[str]:
    """The error summary's entries, as text."""
    part = page[page.index('class="error-summary"') :]
    part = part[: part.index("</div>")]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", part)]


async def test_form_errors_name_the_field_by_its_label(nodes, staff) -> None:
    """The summary says which field (by the label the form shows), never an internal name."""
    a = await nodes("berlin")
    editor = await staff(a, "editor")
    await editor.get("/staff/items/new?kind=project")
    bad = form(PROJECT_FORM, title="", license="WTFPL-9", tr_title_0="x" * 2001)
    page = await editor.post("/staff/items/new", bad)
    assert page.status == 422
    assert summary(page.text) == [
        "Title: this field is required",
        "License: WTFPL-9 is not on the SPDX licence list (such as EUPL-1.2 or MIT)",
        "Translation 1: Title: at most 2000 characters",
    ]
    german = await editor.post("/staff/items/new?lang=de", bad)
    assert summary(german.text)[:2] == [
        "Titel: dieses Feld ist erforderlich",
        "Lizenz: WTFPL-9 steht nicht auf der SPDX-Lizenzliste (etwa EUPL-1.2 oder MIT)",
    ]
    dates = form(PROJECT_FORM, start_date="2026-01-01", end_date="2025-01-01")
    page = await editor.post("/staff/items/new?lang=en", dates)
    assert summary(page.text) == ["End: must not be before the start"]
    visible = re.sub(r"<[^>]+>", " ", page.text)
    assert "start_date" not in visible and "end_date" not in visible
    german = await editor.post("/staff/items/new?lang=de", dates)
    assert summary(german.text) == ["Ende: darf nicht vor dem Beginn liegen"]


async def test_challenges_it_addresses_are_picked_from_the_known_ones(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    await settle(a, b)
    editor = await staff(a, "editor")
    new = (await editor.get("/staff/items/new?kind=project")).text
    box = re.search(
        rf'<input type="checkbox" id="(f-address-\d+)" name="addresses" '
        rf'value="{re.escape(challenge["id"])}">',
        new,
    )
    assert box, "the partner's challenge is offered"
    assert f'<label for="{box.group(1)}">“Flooded underpasses” by City of Hamburg</label>' in new
    elsewhere = "https://elsewhere.example/challenges/1"
    fields = [*form(PROJECT_FORM, addresses=elsewhere), ("addresses", challenge["id"])]
    done = await editor.post("/staff/items/new", fields)
    assert done.status == 303, done.text[:500]
    (made,) = (await a.api("GET", "/projects"))["items"]
    assert made["addresses"] == [elsewhere, challenge["id"]]
    edit = (await editor.get(f"/staff/items/edit?id={quote(made['id'], safe='')}")).text
    assert f'value="{challenge["id"]}" checked>' in edit  # picked, and the other one typed
    other = re.search(r'<textarea id="f-addresses"[^>]*>([^<]*)</textarea>', edit).group(1)
    assert other.strip() == elsewhere


async def test_editing_and_deleting_reach_the_follower(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(b, a)
    editor = await staff(a, "editor")
    await editor.get("/staff/items/new?kind=challenge")
    created = await editor.post(
        "/staff/items/new",
        [
            ("kind", "challenge"),
            ("title", "Heat in schools"),
            ("phase", "open"),
            ("deadline", "2027-01-31"),
            ("requirements", "Works without air conditioning."),
            ("language", "en"),
        ],
    )
    ap_id = object_id(created.location)
    # Let the Create arrive first: a Create and an Update of one object handled at the same time
    # collide at the receiver on PostgreSQL (see the report) and the Update waits for a retry.
    await settle(a, b)
    edit = await editor.get(f"/staff/items/edit?id={ap_id}")
    assert 'value="Heat in schools"' in edit.text and 'value="2027-01-31"' in edit.text
    page = await editor.post(
        "/staff/items/edit",
        [
            ("id", ap_id),
            ("title", "Heat in classrooms"),
            ("phase", "evaluating"),
            ("deadline", "2027-01-31"),
            ("requirements", "Works without air conditioning."),
            ("language", "en"),
        ],
    )
    assert page.status == 303 and page.location.endswith("done=updated")
    await settle(a, b)
    (copy,) = (await b.api("GET", "/timeline"))["items"]
    assert (copy["title"], copy["phase"]) == ("Heat in classrooms", "evaluating")
    confirm = await editor.get(f"/staff/items/delete?id={ap_id}")
    assert "Delete “Heat in classrooms”?" in confirm.text
    gone = await editor.post("/staff/items/delete", {"id": ap_id})
    assert gone.location == "/staff/items?done=deleted"
    await settle(a, b)
    assert (await b.api("GET", "/timeline"))["items"] == []
    await a.get_json(ap_id, status=410)
    assert (await editor.get(f"/staff/items/edit?id={ap_id}")).status == 404


async def test_markdown_preview_with_and_without_script(nodes, staff) -> None:
    a = await nodes("berlin")
    editor = await staff(a, "editor")
    await editor.get("/staff/items/new?kind=project")
    text = "Some **bold** text <script>alert(1)</script>"
    page = await editor.post(
        "/staff/items/new", form(PROJECT_FORM, action="preview", description=text)
    )
    assert page.status == 200
    assert "<strong>bold</strong>" in page.text and "<script>alert" not in page.text
    assert (await a.api("GET", "/projects"))["total"] == 0
    fragment = await editor.post("/staff/preview", {"text": text})
    assert fragment.status == 200
    assert (
        fragment.text.startswith("<p>Some <strong>bold</strong>")
        and "<script>" not in fragment.text
    )


# --- follows and the timeline -------------------------------------------------------------------


async def test_following_by_handle_and_approving_followers(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg", manually_approves=True)
    admin_a, admin_b = await staff(a, "admin"), await staff(b, "admin")
    await admin_a.get("/staff/follows")
    page = await admin_a.post("/staff/follows", {"account": b.account})
    assert page.location == "/staff/follows?done=follow_requested"
    assert "Pending" in (await admin_a.get("/staff/follows")).text
    await settle(a, b)
    followers = await admin_b.get("/staff/follows")
    assert "Approve" in followers.text and a.account in followers.text
    await admin_b.post("/staff/followers/decide", {"actor": a.actor_id, "decision": "accept"})
    await settle(a, b)
    (entry,) = (await a.api("GET", "/follows"))["items"]
    assert entry["state"] == "accepted"
    assert "Accepted" in (await admin_a.get("/staff/follows")).text
    unknown = await admin_a.post("/staff/follows", {"account": "nobody@127.0.0.1:9"})
    assert unknown.status == 422 and 'id="f-account-error"' in unknown.text
    garbage = await admin_a.post("/staff/follows", {"account": "not an account"})
    error = re.search(r'id="f-account-error"[^>]*>(.*?)</p>', garbage.text, re.S).group(1)
    assert "is neither an account like name@city.example nor an actor URL" in error
    assert "account:" not in error  # the field's label is right above it
    await admin_a.post("/staff/follows/remove", {"actor": b.actor_id})
    assert (await a.api("GET", "/follows"))["items"] == []


async def test_timeline_lists_partners_newest_first_with_filters(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    await settle(a, b)
    editor = await staff(a, "editor")
    page = await editor.get("/staff/")
    assert page.text.index("Flooded underpasses") < page.text.index("Heat-risk map")
    assert "2 found." in page.text and "City of Hamburg" in page.text
    for query, shown, hidden in [
        ("type=challenge", "Flooded underpasses", "Heat-risk map"),
        ("tag=climate", "Heat-risk map", "Flooded underpasses"),
        ("sdg=13", "Heat-risk map", "Flooded underpasses"),
        ("phase=open", "Flooded underpasses", "Heat-risk map"),
    ]:
        filtered = await editor.get(f"/staff/?{query}")
        assert shown in filtered.text and hidden not in filtered.text, query
    assert "0 found." in (await editor.get("/staff/?sdg=5")).text


# --- comment, adopt, offer ----------------------------------------------------------------------


async def test_commenting_on_a_partner_project(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b)
    editor = await staff(a, "editor")
    page = await editor.get(f"/staff/object?id={project['id']}")
    assert page.status == 200 and "Reply as City of Berlin" in page.text
    empty = await editor.post("/staff/comments", {"in_reply_to": project["id"], "content": " "})
    assert empty.status == 422 and 'id="f-comment-error"' in empty.text
    done = await editor.post(
        "/staff/comments", {"in_reply_to": project["id"], "content": "Which sensors do you use?"}
    )
    assert done.status == 303 and "done=commented#comment-" in done.location
    await settle(a, b)
    thread = await b.api("GET", "/comments", params={"object": project["id"]})
    (comment,) = thread["items"]
    assert "Which sensors do you use?" in comment["content"]
    assert comment["author"]["actor"] == a.actor_id
    assert (
        "Which sensors do you use?" in (await editor.get(f"/staff/object?id={project['id']}")).text
    )


async def test_the_staff_discussion_is_threaded_and_a_comment_can_be_answered(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b)
    question = await b.api(
        "POST", "/comments", json={"in_reply_to": project["id"], "content": "Any questions?"}
    )
    await settle(a, b)
    editor = await staff(a, "editor")
    page = f"/staff/object?id={quote(project['id'], safe='')}"
    assert (await editor.get(page)).text.count("<summary>Reply") == 1
    empty = await editor.post(
        "/staff/comments",
        {"in_reply_to": question["id"], "object": project["id"], "content": " "},
    )
    assert empty.status == 422
    # The error is shown in that comment's reply form, opened; the main form stays clean.
    reply_form = empty.text[empty.text.index('<details class="reply"') :]
    assert reply_form.startswith('<details class="reply" lang="en" open>')
    assert 'class="error"' in reply_form[: reply_form.index("</details>")]
    assert 'id="f-comment-error"' not in empty.text
    done = await editor.post(
        "/staff/comments",
        {"in_reply_to": question["id"], "object": project["id"], "content": "How many sensors?"},
    )
    assert done.status == 303 and done.location.startswith(page + "&done=commented#comment-")
    await settle(a, b)
    # The reply answers the comment (the same action as the API), in the thread of the project.
    thread = (await b.api("GET", "/comments", params={"object": project["id"]}))["items"]
    reply = next(item for item in thread if "How many sensors?" in item["content"])
    asked = next(item for item in thread if item["id"] == question["id"])
    assert reply["in_reply_to"] == question["id"] and reply["context"] == asked["context"]
    shown = (await editor.get(page)).text
    outer = shown.index("Any questions?")
    nested = shown.index('<ol class="comments">', outer)
    assert outer < nested < shown.index("How many sensors?")
    assert shown.count("<summary>Reply") == 2  # every comment can be answered


async def test_an_adopted_copy_in_the_partner_timeline_says_what_it_is_based_on(
    nodes, staff
) -> None:
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("munich")
    await followed_by(a, b)
    await followed_by(a, c)
    await followed_by(c, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b, c)
    copy = await c.api("POST", "/adoptions", json={"project": project["id"]}, status=201)
    await settle(a, b, c)
    editor = await staff(a, "editor")
    timeline = (await editor.get("/staff/?lang=en")).text
    assert timeline.count(">Heat-risk map</a>") == 3  # the original, the copy, and its origin
    origin = timeline[timeline.index('<p class="origin"') :]
    origin = origin[: origin.index("</p>")]
    assert f'href="/staff/object?id={quote(project["id"], safe="")}"' in origin
    assert "Based on" in origin and "by City of Hamburg" in origin
    assert timeline.count('<p class="origin"') == 1  # only the copy carries it
    german = (await editor.get("/staff/?lang=de")).text
    assert "Aufbauend auf" in german
    assert quote(copy["project"], safe="") in timeline


async def test_adopting_and_reporting_progress(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b)
    editor = await staff(a, "editor")
    page = await editor.get(f"/staff/object?id={project['id']}")
    assert "/staff/adopt?project=" in page.text and "Adopt this solution" in page.text
    adopt_form = await editor.get(f"/staff/adopt?project={project['id']}")
    assert 'value="Heat-risk map"' in adopt_form.text
    done = await editor.post(
        "/staff/adopt",
        {"project": project["id"], "status": "piloting", "title": "Berlin heat map", "teaser": ""},
    )
    assert done.status == 303 and done.location.endswith("done=adopted")
    ours = object_id(done.location)
    assert ours.startswith(a.base + "/projects/")
    await settle(a, b)
    (received,) = (await b.api("GET", "/adoptions?direction=received"))["items"]
    assert (received["status"], received["state"], received["local_project"]) == (
        "piloting",
        "accepted",
        ours,
    )
    page = await editor.get(f"/staff/object?id={project['id']}")
    assert "Our adoption&#39;s progress" in page.text or "Our adoption's progress" in page.text
    again = await editor.post(
        "/staff/adopt", {"project": project["id"], "status": "planned", "title": "Again"}
    )
    assert again.status == 422 and "already adopted" in again.text
    update_page = await editor.post(
        "/staff/adoptions/update",
        {
            "id": received["id"],
            "back": project["id"],
            "status": "operational",
            "outcomes": "Used by two districts.",
            "lessons_learned": "",
        },
    )
    assert update_page.location.endswith("done=adoption_updated#adoptions")
    await settle(a, b)
    (received,) = (await b.api("GET", "/adoptions?direction=received"))["items"]
    assert (received["status"], received["outcomes"]) == ("operational", "Used by two districts.")


async def test_offering_a_solution_and_accepting_it(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    sensors = await a.api("POST", "/projects", json={"title": "Flood sensors"}, status=201)
    await settle(a, b)
    offerer, owner = await staff(a, "editor"), await staff(b, "editor")
    page = await offerer.get(f"/staff/object?id={challenge['id']}")
    assert "Offer one of our projects as a solution" in page.text
    assert f'<option value="{sensors["id"]}">Flood sensors</option>' in page.text
    missing = await offerer.post(
        "/staff/offers", {"challenge": challenge["id"], "project": sensors["id"], "content": ""}
    )
    assert missing.status == 422 and 'id="f-offer-content-error"' in missing.text
    done = await offerer.post(
        "/staff/offers",
        {"challenge": challenge["id"], "project": sensors["id"], "content": "Proven since 2024."},
    )
    assert done.location.endswith("done=offered#offers")
    await settle(a, b)
    incoming = await owner.get(f"/staff/object?id={challenge['id']}")
    assert "Proven since 2024." in incoming.text and "Accept the offer" in incoming.text
    (received,) = (await b.api("GET", "/offers?direction=received"))["items"]
    answered = await owner.post(
        "/staff/offers/answer",
        {
            "offer": received["id"],
            "challenge": challenge["id"],
            "decision": "accept",
            "solved": "on",
        },
    )
    assert answered.location.endswith("done=offer_answered#offers")
    await settle(a, b)
    (sent,) = (await a.api("GET", "/offers?direction=sent"))["items"]
    assert sent["state"] == "accepted"
    (mine,) = (await b.api("GET", "/challenges"))["items"]
    assert mine["phase"] == "solved" and mine["resolved_by"] == [sensors["id"]]


# --- administration -----------------------------------------------------------------------------


async def test_admin_forms_call_the_admin_actions(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await followed_by(a, b)
    admin, admin_b = await staff(a, "admin"), await staff(b, "admin")
    await admin.get("/staff/admin/peers")
    saved = await admin.post(
        "/staff/admin/peers", {"domain": b.domain, "policy": "trusted", "note": "partner city"}
    )
    assert saved.location == "/staff/admin/peers?done=policy_saved"
    peers = await admin.get("/staff/admin/peers")
    assert b.domain in peers.text and "Trusted" in peers.text and "partner city" in peers.text
    bad = await admin.post("/staff/admin/peers", {"domain": "not a domain", "policy": "blocked"})
    assert bad.status == 422 and 'id="f-domain-error"' in bad.text
    mode = await admin.post("/staff/admin/federation", {"mode": "allowlist"})
    assert mode.location == "/staff/admin/peers?done=mode_saved"
    assert (await a.api("GET", "/admin/federation"))["mode"] == "allowlist"

    # The Follow's delivery went through; pretend it died, then retry it from the queue page.
    async with a.node.db.transaction() as session:
        await session.execute(update(Delivery).values(state="dead"))
        (delivery_id,) = (await session.execute(select(Delivery.id))).scalars().all()
    queue = await admin.get("/staff/admin/deliveries?state=dead")
    assert f'name="ids" value="{delivery_id}"' in queue.text
    retried = await admin.post(
        "/staff/admin/deliveries", [("ids", str(delivery_id)), ("action", "retry")]
    )
    assert retried.location == "/staff/admin/deliveries?state=dead&done=deliveries_retried"
    async with a.node.db.session() as session:
        assert (await session.get(Delivery, delivery_id)).state == "pending"

    await admin.get("/staff/admin/keys")
    rotated = await admin.post("/staff/admin/keys/rotate", {"grace_days": "2"})
    assert rotated.location == "/staff/admin/keys?done=keys_rotated"
    async with a.node.db.session() as session:
        new_key = select(func.count()).select_from(Key).where(Key.key_id.endswith("#main-key-2"))
        assert await session.scalar(new_key) == 1

    await admin.post("/staff/admin/moderation/policy", {"hold": "on"})
    assert 'id="f-hold" name="hold" checked' in (await admin.get("/staff/admin/moderation")).text

    await admin.get("/staff/report")
    reported = await admin.post(
        "/staff/report", {"actor": b.account, "objects": "", "content": "Spam in comments."}
    )
    assert reported.location == "/staff/report?done=reported"
    await settle(a, b)
    queue_b = await admin_b.get("/staff/admin/reports")
    assert "Spam in comments." in queue_b.text
    report_id = re.search(r'name="id" value="(\d+)"', queue_b.text).group(1)
    resolved = await admin_b.post(
        "/staff/admin/reports/resolve", {"id": report_id, "note": "talked to them"}
    )
    assert resolved.location == "/staff/admin/reports?done=report_resolved"
    assert "talked to them" in (await admin_b.get("/staff/admin/reports?state=resolved")).text

    async with a.node.db.session() as session:
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    who = {entry.action: entry.who for entry in audit}
    for action in ("peer.trust", "federation.mode", "deliveries.retry", "keys.rotate"):
        assert who[action] == f"staff:{admin.email}", action
    log = await admin.get("/staff/admin/audit")
    assert "peer.trust" in log.text and f"staff:{admin.email}" in log.text
