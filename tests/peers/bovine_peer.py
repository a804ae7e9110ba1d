"""A bovine-herd server (PyPI ``bovine-herd``, pinned in bovine-requirements.txt), run by
tests/peers/conftest.py in its own virtualenv on a loopback port:
``python bovine_peer.py PORT NODE CONTEXTS_MJS`` (cwd: a scratch directory for its databases).

Everything federating is bovine's own code: ``BovineHerd`` serves WebFinger, actors, inboxes
(HTTP signatures checked by ``bovine.crypto.build_validate_http_signature`` before anything is
stored), ``bovine_process`` handles what arrives (``Accept`` → following, ``Undo``, ``Update``,
``Delete``, interactions) and sends what an actor's outbox is given (``send_outbox_item``,
signed by ``bovine.clients.signed_http``). Two changes to a stock herd, both for the tests:

* inbox and outbox processing run before the request is answered instead of in background
  tasks (same ``bovine_process`` functions), so a test knows they are done;
* the JSON-LD context cache (``bovine.jsonld.JsonLDCache``) is seeded with the official contexts
  from their npm packages, and bovine's fallback fetcher (``requests_document_loader``) is
  replaced by one that refuses and records the URL: bovine fetches contexts at run time, the
  suite never leaves loopback.

Control routes under /_test/ create actors, look up, send, and list what arrived, with what
bovine's FEP-8b32 verifier (``CryptographicIdentifier.verify_document``) made of each proof.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import traceback
from typing import Any

PORT, NODE, CONTEXTS_MJS = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ORIGIN = f"http://127.0.0.1:{PORT}"
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import bovine.jsonld  # noqa: E402  (creates its context cache in the cwd on import)
from pyld.jsonld import JsonLdError  # noqa: E402

CONTEXT_MISSES: list[str] = []
_official = json.loads(subprocess.run([NODE, CONTEXTS_MJS], capture_output=True, check=True).stdout)
for _url, _document in _official.items():
    bovine.jsonld.jsonld_cache.add(_url, _document["@context"])


def _offline_loader(**_kwargs: Any) -> Any:
    def load(url: str, options: Any = None) -> Any:
        CONTEXT_MISSES.append(url)
        raise JsonLdError(
            f"{url} is not bundled (no fetching in tests)", "jsonld.LoadDocumentError"
        )

    return load


bovine.jsonld.requests_document_loader = _offline_loader

from bovine.clients import lookup_uri_with_webfinger  # noqa: E402
from bovine.crypto.types import CryptographicIdentifier  # noqa: E402
from bovine.jsonld import with_bovine_context  # noqa: E402
from bovine_herd import BovineHerd  # noqa: E402
from bovine_process import handle_outbox_item, process_outbox_item  # noqa: E402
from bovine_process.incoming import default_inbox_process  # noqa: E402
from bovine_process.types import ProcessingItem  # noqa: E402
from bovine_store import BovineAdminStore  # noqa: E402
from quart import Quart, current_app, request  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

RECEIVED: list[dict[str, Any]] = []
log = logging.getLogger("bovine_peer")


def _ids(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value] if value else []
    return [v["id"] if isinstance(v, dict) else v for v in values]


async def verify_proof(actor: Any, document: dict[str, Any]) -> bool | None:
    """bovine's FEP-8b32 verifier on ``document``: the key is the signer's assertionMethod,
    fetched signed as ``actor``. bovine hashes everything but ``proof``; an RsaSignature2017
    added beside the proof is not part of what the proof covers (FEP-8b32, and Fedify detaches
    it the same way), so it is left out here."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return None
    method = proof.get("verificationMethod", "")
    owner = await actor.get(method.split("#")[0])
    for key in owner.get("assertionMethod", []):
        if isinstance(key, dict) and key.get("id") == method:
            identifier = CryptographicIdentifier.from_multikey(key)
            unsigned = {k: v for k, v in document.items() if k != "signature"}
            return identifier.verify_document(unsigned) == owner["id"]
    return False


async def inbox_now(item: ProcessingItem, actor: Any) -> None:
    """bovine's inbox processing (what process_inbox_item runs, minus its catch-all and
    delayed retry, so a failure is seen), awaited; plus a record of what arrived."""
    record: dict[str, Any] = {
        "path": request.path,
        "activity": item.data,
        # Only requests whose HTTP signature bovine verified get here; the retriever is the
        # key's owner as bovine resolved it.
        "http": {"owner": item.submitter},
        "ld": None,
        "status": 202,
        "handled": None,
        "errors": {},
    }
    try:
        record["proof"] = await verify_proof(actor, item.data)
    except Exception as exc:  # what bovine raised is the finding
        record["proof"] = False
        record["errors"]["proof"] = repr(exc)
    RECEIVED.append(record)
    kind = item.data.get("type")
    try:
        await default_inbox_process(item, actor)
    except Exception as exc:
        log.exception("bovine could not process %s", kind)
        record["errors"]["process"] = repr(exc)
    else:
        record["handled"] = {"type": kind}


async def outbox_now(item: ProcessingItem, actor: Any) -> None:
    await process_outbox_item(item, actor)


app = Quart(__name__)
BovineHerd(
    app,
    start_background_task_inbox=inbox_now,
    start_background_task_outbox=outbox_now,
    db_url="sqlite://bovine.sqlite3",
)


@app.after_request
async def record_refusals(response: Any) -> Any:
    if request.method == "POST" and response.status_code >= 400 and "/_test/" not in request.path:
        body = await request.get_json(silent=True)
        RECEIVED.append(
            {
                "path": request.path,
                "activity": body,
                "status": response.status_code,
                "http": None,
                "proof": None,
                "ld": None,
                "handled": None,
            }
        )
    return response


async def store_actor(actor_id: str) -> Any:
    _, actor = await current_app.config["bovine_store"].resolve_endpoint(actor_id)
    return actor


@app.post("/_test/actors")
async def new_actor() -> Any:
    body = await request.get_json()
    bovine_name = await BovineAdminStore(domain=ORIGIN).register(body["name"])
    actor = await current_app.config["bovine_store"].actor_for_name(bovine_name)
    return {"id": actor.actor_id}


@app.post("/_test/lookup")
async def lookup() -> Any:
    """bovine's discovery: WebFinger (FEP-4adb client) for the handle, then a signed GET."""
    body = await request.get_json()
    actor = await store_actor(body["actor"])
    handle = body["query"].removeprefix("@")
    domain = "http://" + handle.split("@", 1)[1]
    href, _ = await lookup_uri_with_webfinger(actor.session, f"acct:{handle}", domain=domain)
    if href is None:
        return {"found": False}
    doc = await actor.get(href)
    public_key = doc.get("publicKey") or {}
    return {
        "found": True,
        "subject": f"acct:{handle}",
        "id": doc.get("id"),
        "type": doc.get("type"),
        "inbox": doc.get("inbox"),
        "preferredUsername": doc.get("preferredUsername"),
        "publicKeys": _ids(public_key),
        "assertionMethods": _ids(doc.get("assertionMethod")),
    }


@app.post("/_test/send")
async def send() -> Any:
    """What bovine's outbox endpoint does with a client's activity, awaited."""
    body = await request.get_json()
    actor = await store_actor(body["actor"])
    activity = dict(body["activity"])
    recipients = set(_ids(activity.get("to")))
    if body["recipient"] not in recipients:
        activity["to"] = [*_ids(activity.get("to")), body["recipient"]]
    item = await handle_outbox_item(ProcessingItem(actor.actor_id, activity), actor)
    await outbox_now(item, actor)
    return {"sent": item.data}


@app.post("/_test/proxy")
async def proxy() -> Any:
    """What bovine's proxyUrl endpoint (bovine_herd/server/endpoints.py proxy_url_response)
    answers a client asking for ``url``: the object, from bovine's store or fetched, compacted
    with bovine's own context (about:bovine)."""
    body = await request.get_json()
    actor = await store_actor(body["actor"])
    try:
        result = await actor.retrieve(body["url"], include=["object", "actor", "attributedTo"])
        return {"ok": True, "document": with_bovine_context(result)}
    except Exception as exc:
        causes = []
        cause: Any = exc
        while cause is not None and len(causes) < 6:  # pyld nests the real reason
            causes.append(f"{type(cause).__name__}: {getattr(cause, 'message', cause)}")
            cause = getattr(cause, "cause", None) or cause.__cause__
        return {"ok": False, "error": " <- ".join(causes)}


@app.get("/_test/following")
async def following() -> Any:
    actor = await store_actor(request.args["actor"])
    collection = await actor.retrieve(actor.actor_object.following)
    return {"following": collection}


@app.get("/_test/received")
async def received() -> Any:
    return {"received": RECEIVED, "contextMisses": CONTEXT_MISSES}


@app.errorhandler(Exception)
async def failed(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return exc
    return {"error": "".join(traceback.format_exception(exc))[-3000:]}, 500


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=PORT, use_reloader=False)
