"""Status ids for Mastodon clients: stable strings that sort by publication time.

Clients treat ids as opaque strings, but several compare them to order a timeline or to keep
a read marker (Tusky and Elk compare by length, then lexically; that is numeric order for
unsigned integers without leading zeros). Mastodon's own ids are "snowflakes": milliseconds
since the epoch shifted left by 16 bits, plus 16 bits to tell apart rows of the same
millisecond. Ours are built the same way from what never changes about a stored object: its
``published`` time (edits change ``updated``, never ``published``) and its row id, whose low
16 bits fill the sequence part. So an id sorts by publication time like Mastodon's, a partner's
backdated project sorts where its date puts it, and an id decodes back to a (millisecond,
row-id remainder) pair that finds the row by the indexed ``published`` column. Two rows whose
ids would collide must be published in the same millisecond *and* have row ids 65,536 apart.

Account ids are the actor's row id as a string: nothing compares them for order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SEQUENCE_BITS = 16
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ids above this are not ours (the year 10889); refusing them keeps a decoded time in range.
MAX_ID = ((1 << 47) - 1) << SEQUENCE_BITS | SEQUENCE_MASK


def status_id(published: datetime, row_id: int) -> str:
    """The id clients see for the object stored in row ``row_id``."""
    millis = max(0, (published - EPOCH) // timedelta(milliseconds=1))
    return str(millis << SEQUENCE_BITS | (row_id & SEQUENCE_MASK))


def decode_status_id(value: str) -> tuple[datetime, int] | None:
    """(the start of the millisecond it was published in, its row id modulo 2**16), or None
    when ``value`` is not an id of ours."""
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        return None
    number = int(value)
    if number > MAX_ID:
        return None
    millis = number >> SEQUENCE_BITS
    return EPOCH + timedelta(milliseconds=millis), number & SEQUENCE_MASK


def account_id(row_id: int) -> str:
    return str(row_id)


def decode_account_id(value: str) -> int | None:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)
