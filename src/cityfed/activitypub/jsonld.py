"""JSON-LD for cityfed: the context we write, the bundled contexts we read, an offline loader.

Every document we emit carries ``DEFAULT_CONTEXT`` (§4): ActivityStreams, security v1 and one inline
object with our ``cf:`` terms and the few Mastodon-style terms we use; actor documents carry
``ACTOR_CONTEXT``, which adds the DID and Multikey contexts for their FEP-521a keys. The inline
object never redefines a term that an official context protects (``Multikey``...): jsonld.js
refuses that whenever such a context comes first, as when a peer re-serves our documents under
its own context. Nothing here ever touches the network: the contexts peers commonly send are
bundled as JSON files next to this module and served to pyld by ``document_loader``, which
refuses every other URL; a document naming any other context is read for the terms we know
(``read_as_default``), as Mastodon reads it.

pyld is slow per document (§6; bench/README.md keeps the figures), so it is kept off the hot
path: ``is_known_context`` tells callers when a document's ``@context`` is one we can read as
plain JSON, and only the rest goes through ``expand``/``compact_to_default``. pyld itself is
imported lazily, so importing this module is cheap and has no side effects;
``install_document_loader`` is called once at app start.

Where the bundled files come from (content as published, not edited; tests pin their digests):
- ``activitystreams.json``: https://www.w3.org/ns/activitystreams as vendored by Fedify 2.3.6
  (npm ``@fedify/vocab-runtime``, ``src/contexts/``), the text jsonld.js peers load;
  ``formerType`` is ``@type: @id`` there, so its values must be IRIs.
- ``security-v1.json``: https://w3id.org/security/v1, with its original blank-line layout
  (identical to npm ``security-context`` 4.0.0); ``security-v2.json``: that package's v2.
- ``data-integrity-v1.json``: ``contexts/data-integrity/v1`` of w3c/vc-data-integrity (as
  Fedify vendors it; npm ``@digitalbazaar/data-integrity-context`` 2.0.1 predates
  ``digestMultibase``); ``data-integrity-v2.json``: the same package's v2 (Fedify's copy).
- ``multikey-v1.json``: https://w3id.org/security/multikey/v1 (the VC Data Integrity copy).
- ``did-v1.json``: https://www.w3.org/ns/did/v1 (npm ``did-context`` 3.1.1, = Fedify's).
- ``gotosocial.json``, ``joinmastodon.json``, ``webfinger.json``: Fedify 2.3.6's copies of
  https://gotosocial.org/ns, http://joinmastodon.org/ns (which Mastodon itself never serves;
  Bonfire names it) and https://purl.archive.org/socialweb/webfinger.
- ``litepub-0.1.json``: Pleroma's ``priv/static/schemas/litepub-0.1.jsonld``, which every
  Pleroma/Akkoma instance serves at ``/schemas/litepub-0.1.jsonld`` on its own host (Akkoma's
  copy has a few more terms of its own); served for that path on any host.

Ours, https://cityfed.org/ns, is no file: it is ``context_document()``, built from ``CF_TERMS``
(whose field terms come from ``cityfed.schemas``), so the document served at /ns, the inline
context of our documents and the bundled copy the loader serves cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson

from cityfed.schemas.objects import ADOPTION_SPECS, CHALLENGE_SPECS, PROJECT_SPECS

if TYPE_CHECKING:
    from types import ModuleType

AS_CONTEXT_URL = "https://www.w3.org/ns/activitystreams"
SECURITY_V1_URL = "https://w3id.org/security/v1"
DATA_INTEGRITY_V1_URL = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_V1_URL = "https://w3id.org/security/multikey/v1"
DID_V1_URL = "https://www.w3.org/ns/did/v1"
# Our namespace lives on a domain the project controls; the context document describing it is
# served both there and by every node at /ns (see ``context_document``).
CF_NAMESPACE = "https://cityfed.org/ns#"
CF_CONTEXT_URL = "https://cityfed.org/ns"

AS_NAMESPACE = "https://www.w3.org/ns/activitystreams#"
SEC_NAMESPACE = "https://w3id.org/security#"
TOOT_NAMESPACE = "http://joinmastodon.org/ns#"
# Mastodon's (non-canonical) spelling; matching it keeps Mastodon's inline context "known".
SCHEMA_NAMESPACE = "http://schema.org#"
XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema#"

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

_XSD_DATETIME = XSD_NAMESPACE + "dateTime"


def _cf(name: str) -> str:
    return CF_NAMESPACE + name


def _cf_ref(name: str) -> dict[str, str]:
    """A cf: property whose value is an IRI (another object or a collection)."""
    return {"@id": _cf(name), "@type": "@id"}


# The inline cf: vocabulary. Term names carry the ``cf:`` prefix and map to full IRIs, so the
# keys in our documents read the same as compact IRIs and mean exactly one thing to any JSON-LD
# processor, whatever else a document's context defines. (JSON-LD 1.1 allows a term that looks
# like a compact IRI as long as it expands to the same IRI, which these do.)
CF_TERMS: dict[str, Any] = {
    "cf": CF_NAMESPACE,
    "cf:Project": _cf("Project"),
    "cf:Challenge": _cf("Challenge"),
    "cf:Adoption": _cf("Adoption"),
    "cf:SolutionOffer": _cf("SolutionOffer"),
    "cf:SDG": _cf("SDG"),
    # The title of a Note-typed object. Not ``name``: GoToSocial shows a Note's ``name`` (like
    # its ``summary``) as a content warning, and the title already opens ``content``.
    "cf:title": _cf("title"),
    "titleMap": {"@id": _cf("title"), "@container": "@language"},
    "cf:phase": _cf("phase"),
    "cf:teaser": _cf("teaser"),
    # A language map over cf:teaser, like AS2's nameMap over name. It cannot be called
    # "cf:teaserMap": a colon term must expand to its own compact-IRI expansion.
    "teaserMap": {"@id": _cf("teaser"), "@container": "@language"},
    # The plain fields of projects and adoptions, as ``cityfed.schemas.objects`` declares them.
    **{spec.term: _cf(spec.term_name) for spec in (*PROJECT_SPECS, *ADOPTION_SPECS)},
    "cf:isBasedOn": _cf_ref("isBasedOn"),
    "cf:addresses": _cf_ref("addresses"),
    "cf:adoptions": _cf_ref("adoptions"),
    "cf:solutions": _cf_ref("solutions"),
    "cf:resolvedBy": _cf_ref("resolvedBy"),
    "cf:deadline": {"@id": _cf("deadline"), "@type": _XSD_DATETIME},
    **{spec.term: _cf(spec.term_name) for spec in CHALLENGE_SPECS},
    "cf:adopter": _cf_ref("adopter"),
    "cf:localProject": _cf_ref("localProject"),
    "cf:status": _cf("status"),
    "cf:solution": _cf_ref("solution"),
    "cf:challenge": _cf_ref("challenge"),
    "cf:officialIdentifier": _cf("officialIdentifier"),
}

# The Mastodon-ish terms our actors and objects use, defined as Mastodon defines them inline so
# that Mastodon's own documents compare equal in ``is_known_context``.
EXTRA_TERMS: dict[str, Any] = {
    "toot": TOOT_NAMESPACE,
    "schema": SCHEMA_NAMESPACE,
    "Hashtag": "as:Hashtag",
    "sensitive": "as:sensitive",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    # Attachments (issue 16): Mastodon's own definitions, so Mastodon and GoToSocial read them.
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    # FEP-521a keys (Multikey, assertionMethod, controller, publicKeyMultibase) are not defined
    # here: the DID and Multikey contexts protect them, and a redefinition, even an equal-looking
    # one, makes jsonld.js refuse any document whose context lists those first. Actor
    # documents name both contexts instead (``ACTOR_CONTEXT``).
}

DEFAULT_CONTEXT: list[Any] = [AS_CONTEXT_URL, SECURITY_V1_URL, {**CF_TERMS, **EXTRA_TERMS}]
# Actors, and activities that embed one (Update of an actor): Fedify's order, the protected
# contexts before our inline object, which redefines none of their terms.
ACTOR_CONTEXT: list[Any] = [
    AS_CONTEXT_URL,
    SECURITY_V1_URL,
    DID_V1_URL,
    MULTIKEY_V1_URL,
    {**CF_TERMS, **EXTRA_TERMS},
]

_LITEPUB_PATH = "/schemas/litepub-0.1.jsonld"
_LITEPUB_KEY = "litepub.social" + _LITEPUB_PATH  # a key for the path on any host

# URL (scheme-less, fragment-less) → bundled file. http and https spellings of the same URL are
# one context; publishers use both.
_BUNDLED_FILES: dict[str, str] = {
    "www.w3.org/ns/activitystreams": "activitystreams.json",
    "w3id.org/security/v1": "security-v1.json",
    "w3id.org/security/v2": "security-v2.json",
    "w3id.org/security/data-integrity/v1": "data-integrity-v1.json",
    "w3id.org/security/data-integrity/v2": "data-integrity-v2.json",
    "w3id.org/security/multikey/v1": "multikey-v1.json",
    "www.w3.org/ns/did/v1": "did-v1.json",
    "gotosocial.org/ns": "gotosocial.json",
    "joinmastodon.org/ns": "joinmastodon.json",
    "purl.archive.org/socialweb/webfinger": "webfinger.json",
    "cityfed.org/ns": "",  # no file: built from CF_TERMS (see _bundled_bytes)
    _LITEPUB_KEY: "litepub-0.1.json",
}


def _bundle_key(url: str) -> str | None:
    """The ``_BUNDLED_FILES`` key for a context URL, or None when it is not one of ours."""
    if not isinstance(url, str):
        return None
    base = url.split("#", 1)[0]
    for scheme in ("https://", "http://"):
        if base.startswith(scheme):
            key = base[len(scheme) :].rstrip("/")
            if key in _BUNDLED_FILES:
                return key
            # Pleroma and Akkoma serve LitePub's context on each instance's own host.
            host, _, path = key.partition("/")
            if host and "/" + path == _LITEPUB_PATH:
                return _LITEPUB_KEY
            return None
    return None


def is_bundled(url: Any) -> bool:
    """Whether ``url`` names a context the loader serves (any scheme/fragment spelling)."""
    return _bundle_key(url) is not None


@functools.cache
def _bundled_bytes(filename: str) -> bytes:
    # Read once per process, on first use (never at import).
    if not filename:
        return orjson.dumps(context_document())
    return resources.files("cityfed.activitypub").joinpath("contexts", filename).read_bytes()


def bundled_document(url: str) -> dict[str, Any]:
    """A fresh parsed copy of a bundled context document; KeyError when the URL is not bundled."""
    key = _bundle_key(url)
    if key is None:
        raise KeyError(url)
    # Parse per call: pyld may annotate what it is given, and callers must not share state.
    document: dict[str, Any] = orjson.loads(_bundled_bytes(_BUNDLED_FILES[key]))
    return document


def _pyld() -> ModuleType:
    from pyld import jsonld

    module: ModuleType = jsonld
    return module


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves only the bundled contexts and never the network.

    The ``"static"`` tag lets pyld cache the processed context across operations, so repeated
    expansion/normalisation does not process it again.
    """
    try:
        document = bundled_document(url)
    except KeyError:
        jsonld = _pyld()
        raise jsonld.JsonLdError(
            f"refusing to load {url!r}: only bundled contexts are available offline",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        ) from None
    return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}


def install_document_loader() -> Any:
    """Make ``document_loader`` pyld's default loader; returns the previous one.

    Called once at app start (never at import) so that any pyld use anywhere in the process,
    including LD-signature code, stays offline.
    """
    jsonld = _pyld()
    previous = jsonld.get_document_loader()
    jsonld.set_document_loader(document_loader)
    return previous


def context_document() -> dict[str, Any]:
    """The JSON-LD context document served at ``/ns``: our cf: terms only."""
    return {"@context": dict(CF_TERMS)}


def default_context() -> list[Any]:
    """A copy of ``DEFAULT_CONTEXT`` that a caller may extend without touching the shared one."""
    return [AS_CONTEXT_URL, SECURITY_V1_URL, {**CF_TERMS, **EXTRA_TERMS}]


def actor_context() -> list[Any]:
    """A copy of ``ACTOR_CONTEXT``."""
    return [*ACTOR_CONTEXT[:-1], {**CF_TERMS, **EXTRA_TERMS}]


def _options() -> dict[str, Any]:
    return {"documentLoader": document_loader}


def expand(doc: Mapping[str, Any] | list[Any]) -> list[Any]:
    """Expanded JSON-LD of ``doc``, resolved with the bundled contexts only."""
    expanded: list[Any] = _pyld().expand(doc, _options())
    return expanded


def compact_to_default(doc: Mapping[str, Any] | list[Any]) -> dict[str, Any]:
    """``doc`` compacted against ``DEFAULT_CONTEXT``: any valid JSON-LD shape, read as ours."""
    compacted: dict[str, Any] = _pyld().compact(doc, {"@context": default_context()}, _options())
    return compacted


# --- is_known_context ---------------------------------------------------------------------------

# Prefixes whose meaning we rely on when resolving an inline definition. A document may redefine
# one only to the same IRI (checked via ``_known_definitions``, which includes them as terms).
_KNOWN_PREFIXES: dict[str, str] = {
    "as": AS_NAMESPACE,
    "sec": SEC_NAMESPACE,
    "toot": TOOT_NAMESPACE,
    "schema": SCHEMA_NAMESPACE,
    "xsd": XSD_NAMESPACE,
    "cf": CF_NAMESPACE,
    "ldp": "http://www.w3.org/ns/ldp#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "dc": "http://purl.org/dc/terms/",
}

# Keywords an inline context may carry without changing how we read plain JSON.
_HARMLESS_KEYWORDS = frozenset({"@version", "@protected"})

_Definition = tuple[str | None, str | None, str | None]


def _expand_iri(value: str, prefixes: Mapping[str, Any]) -> str:
    prefix, sep, suffix = value.partition(":")
    if sep and not suffix.startswith("//"):
        namespace = prefixes.get(prefix, _KNOWN_PREFIXES.get(prefix))
        if isinstance(namespace, Mapping):
            namespace = namespace.get("@id")
        if isinstance(namespace, str):
            return namespace + suffix
    return value


def _canonical(definition: Any, prefixes: Mapping[str, Any]) -> _Definition | None:
    """(IRI, value type, container) of a term definition; None for shapes we do not compare."""
    if isinstance(definition, str):
        return (_expand_iri(definition, prefixes), None, None)
    if not isinstance(definition, Mapping):
        return None
    if set(definition) - {"@id", "@type", "@container"}:
        return None  # scoped contexts, @reverse, @language...: not a plain definition
    iri = definition.get("@id")
    kind = definition.get("@type")
    container = definition.get("@container")
    if not isinstance(iri, str) or (kind is not None and not isinstance(kind, str)):
        return None
    if isinstance(container, list):
        container = container[0] if len(container) == 1 else None
    # "@set" only changes how a processor compacts arrays; plain JSON reads the same.
    if container == "@set":
        container = None
    if container is not None and not isinstance(container, str):
        return None
    if kind is not None and not kind.startswith("@"):
        kind = _expand_iri(kind, prefixes)
    return (_expand_iri(iri, prefixes), kind, container)


@functools.cache
def _known_definitions() -> dict[str, _Definition | None]:
    """Every term name the bundled AS/security contexts and our inline object define."""
    known: dict[str, _Definition | None] = {}
    for url in (AS_CONTEXT_URL, SECURITY_V1_URL):
        ctx = bundled_document(url)["@context"]
        for term, definition in ctx.items():
            if not term.startswith("@"):
                known[term] = _canonical(definition, ctx)
    inline = DEFAULT_CONTEXT[2]
    for term, definition in inline.items():
        known[term] = _canonical(definition, inline)
    return known


@functools.cache
def _known_iris() -> frozenset[str]:
    """IRIs that known terms (and prefixes) stand for: another name for one would hide a key."""
    return frozenset(d[0] for d in _known_definitions().values() if d and d[0])


@functools.lru_cache(maxsize=256)
def _known_inline(serialised: bytes) -> bool:
    ctx = orjson.loads(serialised)
    known = _known_definitions()
    for term, definition in ctx.items():
        if term.startswith("@"):
            if term not in _HARMLESS_KEYWORDS:
                return False
            continue
        canonical = _canonical(definition, ctx)
        if term in known:
            if canonical != known[term]:
                return False
            continue
        if term.startswith("cf:") or canonical is None:
            return False  # someone else's idea of our namespace, or a shape we do not compare
        iri = canonical[0] or ""
        if ":" in term and iri != _expand_iri(term, ctx):
            return False  # a compact-IRI-shaped term retargeted elsewhere
        if iri in _known_iris() or iri.startswith(CF_NAMESPACE):
            # A new name for something we read ("title": "as:name", "cityfed": our namespace):
            # plain JSON would miss it under that name, so let pyld sort it out.
            return False
        # Any other term is another server's extension (toot:blurhash...): harmless to us.
    return True


@functools.cache
def _bundled_agrees(key: str) -> bool:
    """Whether a bundled context defines every term we know as we do (so plain JSON reads it
    right); contexts it imports are checked too, terms we do not know are not our concern."""
    context = orjson.loads(_bundled_bytes(_BUNDLED_FILES[key]))["@context"]
    known = _known_definitions()
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, str):
            inner = _bundle_key(entry)
            if inner is None or (inner != key and not _bundled_agrees(inner)):
                return False
        elif isinstance(entry, Mapping):
            for term, definition in entry.items():
                if term in known and _canonical(definition, entry) != known[term]:
                    return False
    return True


@functools.cache
def _imports_activitystreams(key: str) -> bool:
    """Whether a bundled context is, or starts from, the ActivityStreams context (LitePub's)."""
    if key == _bundle_key(AS_CONTEXT_URL):
        return True
    context = orjson.loads(_bundled_bytes(_BUNDLED_FILES[key]))["@context"]
    entries = context if isinstance(context, list) else [context]
    return any(
        isinstance(entry, str) and _bundle_key(entry) == _bundle_key(AS_CONTEXT_URL)
        for entry in entries
    )


def without_unbundled(ctx: Any) -> Any:
    """``ctx`` without the context URLs we do not bundle (and never fetch), for reading the
    terms we know; None when nothing is left. Such a context (a peer's own, or LitePub's at an
    unusual path) almost always builds on ActivityStreams, so that comes first when it is gone
    with them."""
    entries = ctx if isinstance(ctx, list) else [ctx]
    kept = [entry for entry in entries if not isinstance(entry, str) or is_bundled(entry)]
    if len(kept) == len(entries):
        return ctx
    if not any(_bundle_key(entry) == _bundle_key(AS_CONTEXT_URL) for entry in kept):
        kept.insert(0, AS_CONTEXT_URL)
    return kept


def is_known_context(ctx: Any) -> bool:
    """True when a document with this ``@context`` can be read as plain JSON with our key names.

    Known: a bundled context URL, or a list of bundled URLs and inline objects whose definitions
    agree with ours (same IRI, value type and container) for every term we know, such as
    Mastodon's usual inline terms. Extra terms of other servers are fine; a redefined known
    term, a different cf: namespace, ``@vocab``/``@base``/``@language`` or an unknown URL is not.
    """
    entries = ctx if isinstance(ctx, list) else [ctx]
    has_activitystreams = False
    for entry in entries:
        if isinstance(entry, str):
            key = _bundle_key(entry)
            if key is None or not _bundled_agrees(key):
                return False
            has_activitystreams = has_activitystreams or _imports_activitystreams(key)
        elif isinstance(entry, Mapping):
            try:
                serialised = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
            except TypeError:
                return False
            if not _known_inline(serialised):
                return False
        else:
            return False
    # Without the AS context, "name", "content"... are undefined and a processor drops them.
    return has_activitystreams


def binds_cf(ctx: Any) -> bool:
    """True when ``ctx`` defines the ``cf`` prefix as our namespace (or includes our context)."""
    for entry in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(entry, str) and _bundle_key(entry) == "cityfed.org/ns":
            return True
        if isinstance(entry, Mapping) and entry.get("cf") == CF_NAMESPACE:
            return True
    return False
