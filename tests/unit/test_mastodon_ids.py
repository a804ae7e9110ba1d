"""Status ids for Mastodon apps (mastodon/ids.py): stable, decodable, and sorting by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cityfed.mastodon.ids import decode_status_id, status_id

times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
rows = st.integers(min_value=1, max_value=2**40)


@given(times, rows)
def test_an_id_decodes_to_its_millisecond_and_row(published: datetime, row: int) -> None:
    at, sequence = decode_status_id(status_id(published, row)) or (None, None)
    assert at is not None and at <= published < at + timedelta(milliseconds=1)
    assert sequence == row % 2**16


@given(times, rows, times, rows)
def test_ids_sort_by_publication_time_as_clients_compare_them(
    a: datetime, row_a: int, b: datetime, row_b: int
) -> None:
    id_a, id_b = status_id(a, row_a), status_id(b, row_b)
    if a.replace(microsecond=a.microsecond // 1000 * 1000) < b.replace(
        microsecond=b.microsecond // 1000 * 1000
    ):
        # Tusky and Elk compare by length, then lexically: numeric order for these strings.
        assert (len(id_a), id_a) < (len(id_b), id_b)


def test_what_is_not_an_id_of_ours_decodes_to_none() -> None:
    for value in ["", "abc", "-1", "١٢٣", "9" * 21, str(2**64)]:
        assert decode_status_id(value) is None
