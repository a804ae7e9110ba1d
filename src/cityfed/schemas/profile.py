"""A city's profile, declared once: the limits its parts keep (Mastodon's local ones), which the
protocol's profile checks and the REST structs both read."""

from __future__ import annotations

MAX_FIELDS = 8
MAX_FIELD_CHARS = 255  # Mastodon: Account::Field::MAX_CHARACTERS_LOCAL, for name and value
MAX_NAME_CHARS = 100
MAX_BIO_CHARS = 5000
MAX_ALT_CHARS = 1500
