"""Parse speed of RFC 8941 fields: our ``activitypub/sfv.py`` against the ``http-sfv`` package.

``python -m bench.sfv`` parses a typical RFC 9421 ``Signature-Input`` (six covered components,
created, keyid, alg), its ``Signature`` and a ``Content-Digest`` many times with each and prints
microseconds per field (median of several rounds). ``http-sfv`` is not a dependency of cityfed:
install it beside (``pip install http-sfv``) to compare; without it only ours is measured.
Why the figures matter: every RFC 9421-signed POST to an inbox parses two or three of these.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from cityfed.activitypub.sfv import parse_sf_dictionary

SIGNATURE_INPUT = (
    'sig1=("@method" "@target-uri" "@authority" "content-digest" "content-type" "date")'
    ';created=1733230000;keyid="https://city.example/actor#main-key";alg="rsa-v1_5-sha256"'
)
SIGNATURE = (
    "sig1=:"
    + "YmFzZTY0IHNpZ25hdHVyZSBieXRlcyBvZiBhbiBSU0EtMjA0OCBrZXkgKDI1NiBieXRlcykg" * 4
    + "AAAA:"
)
CONTENT_DIGEST = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
FIELDS = {
    "Signature-Input": SIGNATURE_INPUT,
    "Signature": SIGNATURE,
    "Content-Digest": CONTENT_DIGEST,
}


def _per_call(fn: Callable[[], object], n: int = 20_000, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()  # CPU time: a shared machine's other load does not count
        for _ in range(n):
            fn()
        times.append((time.process_time() - start) / n)
    return statistics.median(times) * 1e6


def main() -> None:
    try:
        import http_sfv  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        http_sfv = None
    for name, text in FIELDS.items():
        ours = _per_call(lambda text=text: parse_sf_dictionary(text))
        line = f"{name:16} cityfed.sfv {ours:6.2f} µs"
        if http_sfv is not None:
            data = text.encode("ascii")

            def theirs(data: bytes = data) -> object:
                field = http_sfv.Dictionary()
                field.parse(data)
                return field

            other = _per_call(theirs)
            line += f"   http-sfv {other:6.2f} µs   ({other / ours:.1f}x ours)"
        print(line)


if __name__ == "__main__":
    main()
