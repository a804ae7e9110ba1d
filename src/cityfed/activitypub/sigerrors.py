"""The one exception every HTTP-signature and body-digest verification failure raises.

Callers (the inbox, authorized fetch) catch just this type and turn it into a 401, so its
message is written to be shown to the remote server or logged as-is.
"""

from __future__ import annotations


class SignatureError(Exception):
    """A signature, signature header or body digest was missing, malformed or wrong.

    ``reason`` (also ``str(exc)``) is a short human-readable explanation. It never contains
    key material, only the names of the headers or parameters at fault.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
