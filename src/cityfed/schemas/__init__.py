"""One declaration per field: the schemas of our object kinds and of the REST API (issue 15).

A field of a project, challenge, adoption, comment, offer or city profile is declared once, here:
its name (API, form and attribute name), its ``cf:`` term in ActivityPub documents, its English
label, its length limit and whether it is Markdown. Everything else reads that declaration:

- the vocabulary dataclasses (``activitypub.vocab``) inherit the field groups below and write and
  read their ``cf:`` terms by walking them; the ``cf:`` context (``activitypub.jsonld.CF_TERMS``,
  served at /ns) is built from the same terms;
- the API parser (``actions.project_fields``, ``actions.adoption_fields``) validates by them, and
  the API's JSON views are built from them;
- the staff forms, the object page and the open-data export list their fields from them;
- every REST request and response is a msgspec struct (``schemas.rest``, completed with the
  declared fields in ``schemas.api``), and the OpenAPI document (``api.openapi``) is generated from
  them.

The package is pure: it imports msgspec and the standard library, nothing of ours, so the
protocol core may import it (see the import-linter contracts in pyproject.toml).

Why msgspec and not pydantic v2: ``bench/schema_libs.py`` decodes and validates a typical
``POST /projects`` body with each and measures what importing and declaring costs a fresh process
(every ``cityfed`` command pays that). msgspec was somewhat faster at decoding and several times
cheaper to start, it is one small compiled dependency (pydantic is two, and larger), and its
``msgspec.json.schema_components`` writes JSON Schema 2020-12, the dialect of OpenAPI 3.1. The
figures are in bench/README.md.
"""
