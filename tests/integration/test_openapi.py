"""The OpenAPI document (§8): well formed, covering exactly the app's REST API routes, naming the
scope each route really demands, matching the field rules and responses, and served live.

The document is generated (``cityfed.api.openapi.document``: ``openapi_base.json`` plus the fields
``cityfed.schemas`` declares). The route check builds the real application and reads its router,
so a route added, removed or renamed in ``cityfed/api`` without a matching operation in
``openapi_base.json`` fails here (and the served document refuses to be built).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cityfed.actions import adoption_fields
from cityfed.actions import offers as offer_actions
from cityfed.actions.peers import MODES, POLICIES
from cityfed.actions.project_fields import ALLOWED, LIMITS, view
from cityfed.activitypub.vocab import CHALLENGE_PHASES, PROJECT_PHASES, Challenge, Project
from cityfed.activitypub.vocab.cooperation import ADOPTION_STATUSES
from cityfed.api.common import MAX_PAGE
from cityfed.api.openapi import PATH, OpenApiDocument, check_routes, document
from cityfed.app import create_app
from cityfed.appkeys import NODE
from cityfed.config import Settings
from cityfed.models.peers import QUEUE_STATES, STATE_NAMES
from tests.rig import TestNode

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TAGS = (
    "projects",
    "challenges",
    "timeline",
    "follows",
    "followers",
    "comments",
    "adoptions",
    "offers",
    "reports",
    "admin",
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow ``$ref`` (local JSON pointers only) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), reference
        node = doc
        for part in reference[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"unresolvable $ref {reference}"
            node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


# --- structure ----------------------------------------------------------------------------------


def test_the_document_is_structurally_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"],
        "type": "http",
        "scheme": "bearer",
    }
    for reference in refs(doc):
        resolve(doc, {"$ref": reference})
    operation_ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(operation_ids) == len(set(operation_ids))
    declared_tags = {tag["name"] for tag in doc["tags"]}
    assert set(TAGS) <= declared_tags
    for path, item in doc["paths"].items():
        assert path.startswith("/api/cityfed/v1/")
        assert any(method in item for method in METHODS), path
        template = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in ((m, o) for p, m, o in operations(doc) if p == path):
            where = f"{method.upper()} {path}"
            assert operation["responses"], where
            assert set(operation["tags"]) <= declared_tags, where
            params = [resolve(doc, p) for p in operation.get("parameters", [])]
            for param in params:
                assert param["in"] in ("path", "query", "header", "cookie"), where
                assert "schema" in param, where
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == template, where
            assert all(p["required"] is True for p in params if p["in"] == "path"), where
            keys = [(p["name"], p["in"]) for p in params]
            assert len(keys) == len(set(keys)), where
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|[1-5]XX|default", status), where
                response = resolve(doc, response)
                assert response["description"], where
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert resolve(doc, schema) is doc["components"]["schemas"]["Error"]
            if "requestBody" in operation:
                body = resolve(doc, operation["requestBody"])
                # JSON, or a file upload (POST /media, issue 16).
                assert body["content"].keys() & {"application/json", "multipart/form-data"}, where
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"] and error["properties"]["error"]["type"] == "string"


def test_every_operation_documents_its_scope_and_errors(doc: dict[str, Any]) -> None:
    for path, method, operation in operations(doc):
        where = f"{method.upper()} {path}"
        if path == PATH:
            assert operation["security"] == [] and "x-required-scope" not in operation
            continue
        scope = operation["x-required-scope"]
        assert scope in ("editor", "admin"), where
        assert operation["security"] == [{"bearer": [scope]}], where
        assert f"`{scope}` scope" in operation["description"], where
        assert "401" in operation["responses"], where
        assert ("403" in operation["responses"]) == (scope == "admin"), where
        if "requestBody" in operation:
            assert {"400", "415", "422"} <= set(operation["responses"]), where
        if path.startswith("/api/cityfed/v1/admin/"):
            assert scope == "admin" and "admin" in operation["tags"], where


# --- the routes ---------------------------------------------------------------------------------


def _group(pattern: str, name: str) -> str:
    """The regex of the named group ``name`` in ``pattern`` (balanced parentheses)."""
    start = pattern.index(f"(?P<{name}>") + len(f"(?P<{name}>")
    depth, index = 1, start
    while depth:
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        index += 1
    return pattern[start : index - 1]


def expand(formatter: str, pattern: str) -> list[str]:
    """OpenAPI paths for an aiohttp route: ``{x:a|b}`` becomes two literal paths (the document
    gives each its own operation), any other variable stays a ``{x}`` path parameter."""
    paths = [formatter]
    for name in re.findall(r"\{(\w+)\}", formatter):
        regex = _group(pattern, name)
        if re.fullmatch(r"[\w.-]+(\|[\w.-]+)*", regex):
            paths = [p.replace(f"{{{name}}}", word) for p in paths for word in regex.split("|")]
    return paths


async def test_the_document_covers_exactly_the_routes_of_the_app(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    settings = Settings(
        domain="openapi.example",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    )
    app = create_app(settings, workers=False)
    try:
        routes: set[tuple[str, str]] = set()
        for route in app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            formatter = info.get("formatter") or info.get("path") or ""
            if not formatter.startswith("/api/cityfed/v1/") or route.method == "HEAD":
                continue
            pattern = info["pattern"].pattern if "pattern" in info else re.escape(formatter)
            routes |= {(route.method, path) for path in expand(formatter, pattern)}
    finally:
        await app[NODE].db.dispose()
    documented = {(method.upper(), path) for path, method, _ in operations(doc)}
    assert routes, "no /api/cityfed/v1 routes found"
    assert documented - routes == set(), "documented, but no such route"
    assert routes - documented == set(), "routes missing from openapi_base.json"
    check_routes(doc, routes)  # what the served document checks on first use
    with pytest.raises(RuntimeError, match="routes without one"):
        check_routes(doc, routes | {("GET", "/api/cityfed/v1/nowhere")})
    with pytest.raises(RuntimeError, match="without a route"):
        check_routes(doc, routes - {("GET", "/api/cityfed/v1/projects")})


def test_the_expansion_of_route_patterns() -> None:
    assert expand("/a/{c}/{uid}", r"/a/(?P<c>projects|challenges)/(?P<uid>[^{}/]+)") == [
        "/a/projects/{uid}",
        "/a/challenges/{uid}",
    ]
    assert expand("/r/{report_id}", r"/r/(?P<report_id>\d+)") == ["/r/{report_id}"]
    assert expand("/x/{d}", r"/x/(?P<d>(?:a|b)c)") == ["/x/{d}"]


# --- the rules of the code ----------------------------------------------------------------------


def _schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return doc["components"]["schemas"][name]


def _leaf(doc: dict[str, Any], schema: dict[str, Any], key: str) -> Any:
    """``key`` of a property schema, looking through ``anyOf`` (nullable) wrappers."""
    schema = resolve(doc, schema)
    if key in schema:
        return schema[key]
    for option in schema.get("anyOf", []):
        found = _leaf(doc, option, key)
        if found is not None:
            return found
    return None


def test_project_and_challenge_fields_match_the_parser(doc: dict[str, Any]) -> None:
    for kind, phases in (("project", PROJECT_PHASES), ("challenge", CHALLENGE_PHASES)):
        for suffix in ("Create", "Patch"):
            schema = _schema(doc, kind.title() + suffix)
            props = schema["properties"]
            assert set(props) == ALLOWED[kind] | {"as"}, suffix
            assert schema["additionalProperties"] is False
            assert schema.get("required", []) == (["title"] if suffix == "Create" else [])
            assert _leaf(doc, props["phase"], "enum")[: len(phases)] == list(phases)
            for name, limit in LIMITS.items():
                if name in props:
                    assert _leaf(doc, props[name], "maxLength") == limit, name
        assert _schema(doc, kind.title())["properties"]["phase"]["enum"] == list(phases)


def test_response_views_match_the_code(doc: dict[str, Any]) -> None:
    project = Project(id="https://a.example/projects/1", attributed_to="https://a.example/a")
    challenge = Challenge(id="https://a.example/challenges/1", attributed_to="https://a.example/a")
    for name, obj in (("Project", project), ("Challenge", challenge)):
        schema = _schema(doc, name)
        assert set(schema["properties"]) == set(view(obj)), name
        assert set(schema["required"]) == set(view(obj)), name


def test_cooperation_and_admin_enums_match_the_code(doc: dict[str, Any]) -> None:
    adopt = _schema(doc, "AdoptionCreate")
    assert set(adopt["properties"]) == adoption_fields.ADOPT_FIELDS | {"as"}
    assert _leaf(doc, adopt["properties"]["status"], "enum")[:-1] == list(ADOPTION_STATUSES)
    progress = _schema(doc, "AdoptionProgress")
    assert set(progress["properties"]) == adoption_fields.PROGRESS_FIELDS | {"as"}
    assert set(_schema(doc, "OfferCreate")["properties"]) == offer_actions.OFFER_FIELDS | {"as"}
    assert _schema(doc, "OfferCreate")["properties"]["content"]["maxLength"] == (
        offer_actions.MAX_CONTENT
    )
    assert _schema(doc, "PeerPolicy")["properties"]["policy"]["enum"] == list(POLICIES)
    assert _schema(doc, "FederationSet")["properties"]["mode"]["enum"] == list(MODES)
    delivery_states = _schema(doc, "Delivery")["properties"]["state"]["enum"]
    assert delivery_states == list(STATE_NAMES.values())
    per_page = doc["components"]["parameters"]["PerPage"]["schema"]
    assert per_page["maximum"] == MAX_PAGE
    state_param = next(
        p
        for p in doc["paths"]["/api/cityfed/v1/admin/deliveries"]["get"]["parameters"]
        if p.get("name") == "state"
    )
    assert state_param["schema"]["enum"] == list(QUEUE_STATES)


def test_the_document_ships_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["cityfed"]
    assert any(fnmatch.fnmatch("api/openapi_base.json", pattern) for pattern in globs), globs


def test_the_document_is_loaded_once_on_first_use() -> None:
    loaded = OpenApiDocument()
    first = loaded.body()
    assert loaded.body() is first
    assert orjson.loads(first)["openapi"].startswith("3.1")


# --- live ---------------------------------------------------------------------------------------


def conforms(
    doc: dict[str, Any], schema: Any, value: Any, where: str = "$", *, closed: bool = True
) -> None:
    """A small JSON Schema check (type, enum, const, required, properties, items, combinators):
    enough to catch a response that drifted from its documented shape. Objects with documented
    ``properties`` are taken as closed (a key the document does not name fails), except the
    parts of an ``allOf``."""
    schema = resolve(doc, schema)
    if "allOf" in schema:
        for part in schema["allOf"]:
            conforms(doc, part, value, where, closed=False)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            errors = []
            for option in schema[combinator]:
                try:
                    conforms(doc, option, value, where, closed=closed)
                    break
                except AssertionError as exc:
                    errors.append(str(exc))
            else:
                raise AssertionError(f"{where}: no {combinator} option fits: {errors}")
    types = schema.get("type")
    if types is not None:
        kinds: dict[str, Callable[[Any], bool]] = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        names = [types] if isinstance(types, str) else types
        assert any(kinds[name](value) for name in names), f"{where}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: {name} is missing"
        props = schema.get("properties", {})
        for name, item in value.items():
            if name in props:
                conforms(doc, props[name], item, f"{where}.{name}")
            elif isinstance(schema.get("additionalProperties"), dict):
                conforms(doc, schema["additionalProperties"], item, f"{where}.{name}")
            elif props and closed and schema.get("additionalProperties") is not True:
                raise AssertionError(f"{where}: undocumented {name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            conforms(doc, schema["items"], item, f"{where}[{index}]")


def template_of(doc: dict[str, Any], path: str) -> str:
    """The documented path (template) that ``path`` matches; a literal one first."""
    if path in doc["paths"]:
        return path
    for template in doc["paths"]:
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path):
            return template
    raise AssertionError(f"{path} is not documented")


async def call(
    doc: dict[str, Any], node: TestNode, method: str, path: str, status: int, **kwargs: Any
) -> Any:
    """Call ``/api/cityfed/v1`` + ``path`` and check the answer against the documented response."""
    template = template_of(doc, "/api/cityfed/v1" + path.split("?")[0])
    operation = doc["paths"][template][method.lower()]
    assert str(status) in operation["responses"], f"{method} {template} {status} undocumented"
    body = await node.api(method, path, status=status, **kwargs)
    response = resolve(doc, operation["responses"][str(status)])
    if "content" in response:
        conforms(doc, response["content"]["application/json"]["schema"], body)
    else:
        assert body is None
    return body


async def test_the_document_is_served_without_a_token(nodes: Any, doc: dict[str, Any]) -> None:
    node: TestNode = await nodes("berlin")
    for _ in range(2):
        async with node.get(PATH) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/json"
            assert await resp.json() == doc
    # The exemption is for this one path: the rest of the API still wants a token.
    async with node.get("/api/cityfed/v1/projects") as resp:
        assert resp.status == 401 and "error" in await resp.json()


async def test_the_old_prefix_is_left_to_the_mastodon_api(nodes: Any) -> None:
    """/api/v1 and /api/v2 mean what they mean in Mastodon: none of our REST routes answers there,
    with or without a token."""
    node: TestNode = await nodes("berlin")
    for path in ("/api/v1/projects", "/api/v1/admin/reports", "/api/v1/openapi.json"):
        for token in (None, node.admin_token):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with node.get(path, headers=headers) as resp:
                assert resp.status == 404, path


def _concrete(path: str) -> str:
    values = {
        "uid": "openapi-check",
        "domain": "openapi.example",
        "report_id": "0",
        "media_id": "1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


async def test_the_documented_scopes_are_the_ones_the_code_demands(
    nodes: Any, doc: dict[str, Any]
) -> None:
    """Every operation refuses a request without a token (401); admin ones refuse an editor
    token (403); editor ones let it through to their own checks (no 403)."""
    node: TestNode = await nodes("berlin")
    for path, method, operation in operations(doc):
        if path == PATH:
            continue
        url = _concrete(path)
        async with node.request(method.upper(), url) as resp:
            assert resp.status == 401, (method, path)
        async with node.request(method.upper(), url, token=node.editor_token) as resp:
            denied = resp.status == 403
            assert denied == (operation["x-required-scope"] == "admin"), (method, path, resp.status)
            if resp.status >= 400:
                assert "error" in await resp.json(), (method, path)


async def test_live_responses_have_the_documented_shapes(nodes: Any, doc: dict[str, Any]) -> None:
    node: TestNode = await nodes("berlin")
    project = {
        "title": "Heat-risk map",
        "teaser": "Which streets get hot.",
        "phase": "pilot",
        "tags": ["climate"],
        "sdgs": [11, 13],
        "location": {"name": "Berlin", "latitude": 52.5, "longitude": 13.4},
        "start_date": "2025-05-01",
        "license": "EUPL-1.2",
        "partners": ["TU Berlin"],
        "translations": {"de": {"title": "Hitzekarte"}},
    }
    created = await call(doc, node, "POST", "/projects", 201, json=project)
    uid = created["id"].rsplit("/", 1)[1]
    await call(doc, node, "GET", f"/projects/{uid}", 200)
    await call(doc, node, "PATCH", f"/projects/{uid}", 200, json={"phase": "operational"})
    await call(doc, node, "GET", "/projects", 200)
    await call(doc, node, "POST", "/projects", 422, json={"teaser": "no title"})
    await call(doc, node, "POST", "/projects", 415, data=b"{}")
    await call(doc, node, "GET", "/projects/nope", 404)
    challenge = {"title": "Flooded underpasses", "deadline": "2026-09-30"}
    await call(doc, node, "POST", "/challenges", 201, json=challenge)
    await call(doc, node, "GET", "/challenges?per_page=5", 200)
    await call(doc, node, "GET", "/challenges?per_page=500", 422)
    await call(doc, node, "GET", "/timeline", 200)
    await call(doc, node, "GET", "/follows", 200)
    await call(doc, node, "GET", "/followers", 200)
    await call(doc, node, "GET", f"/comments?object={created['id']}", 200)
    await call(doc, node, "GET", "/adoptions", 200)
    await call(doc, node, "GET", f"/adoptions/graph?project={created['id']}", 200)
    await call(doc, node, "GET", "/offers", 200)
    await call(doc, node, "GET", "/admin/comments", 200)
    await call(doc, node, "PUT", "/admin/moderation", 200, json={"moderate_comments": True})
    await call(doc, node, "GET", "/admin/reports", 200)
    await call(doc, node, "GET", "/admin/keys", 200)
    await call(doc, node, "GET", "/admin/federation", 200)
    await call(doc, node, "PUT", "/admin/federation", 200, json={"mode": "open"})
    await call(doc, node, "PUT", "/admin/peers/spam.example", 200, json={"policy": "blocked"})
    await call(doc, node, "GET", "/admin/peers", 200)
    await call(doc, node, "GET", "/admin/peers/spam.example", 200)
    await call(doc, node, "GET", "/admin/peers/never.example", 404)
    await call(doc, node, "GET", "/timeline?type=comment", 422)
    await call(doc, node, "POST", "/adoptions", 422, json={})
    await call(doc, node, "GET", "/admin/reports/0", 404)
    await call(doc, node, "POST", "/admin/reports/0/resolve", 404, json={})
    await call(doc, node, "GET", "/projects", 401, token="not-a-token")
    await call(doc, node, "GET", "/admin/audit", 403, token=node.editor_token)
    await call(doc, node, "GET", "/admin/audit", 200)
    await call(doc, node, "GET", "/admin/deliveries", 200)
    await call(doc, node, "GET", "/admin/deliveries/summary", 200)
    await call(doc, node, "POST", "/admin/deliveries/retry", 200, json={"domain": "spam.example"})
    await call(doc, node, "POST", "/admin/keys/rotate", 200, json={"grace_days": 1})
    await call(doc, node, "DELETE", "/admin/peers/spam.example", 204)
    await call(doc, node, "DELETE", f"/projects/{uid}", 204)


def test_every_list_has_the_one_paging_shape(doc: dict[str, Any]) -> None:
    """No operation answers a bare array; each list is ``{total, page, items}`` and takes
    ``page`` and ``per_page``."""
    lists = 0
    for path, method, operation in operations(doc):
        ok = operation["responses"].get("200") or operation["responses"].get("201")
        content = resolve(doc, ok or {}).get("content", {}).get("application/json")
        if not content:
            continue
        schema = resolve(doc, content["schema"])
        assert schema.get("type") != "array", (method, path)
        if "items" in schema.get("properties", {}):
            lists += 1
            assert {"total", "page", "items"} <= set(schema["required"]), (method, path)
            params = {resolve(doc, p)["name"] for p in operation.get("parameters", [])}
            assert {"page", "per_page"} <= params, (method, path)
    assert lists >= 14


async def test_short_lists_are_paged_too(nodes: Any) -> None:
    node: TestNode = await nodes("berlin")
    for domain in ("a.example", "b.example", "c.example"):
        await node.api("PUT", f"/admin/peers/{domain}", json={"policy": "blocked"}, status=200)
    first = await node.api("GET", "/admin/peers?per_page=2", status=200)
    second = await node.api("GET", "/admin/peers?per_page=2&page=2", status=200)
    assert first["total"] == second["total"] == 3 and (first["page"], second["page"]) == (1, 2)
    domains = [p["domain"] for p in first["items"] + second["items"]]
    assert sorted(domains) == ["a.example", "b.example", "c.example"]
    await node.api("GET", "/follows?per_page=0", status=422)
