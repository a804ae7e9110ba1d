"""URL helpers the inbox uses on every request: origin_of is a safe shortcut for authority."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub.actor import authority, is_http_url, origin_of


def test_origin_of_http_urls() -> None:
    assert origin_of("https://berlin.example/actors/berlin") == "https://berlin.example/"
    assert origin_of("http://127.0.0.1:8081/actors/x") == "http://127.0.0.1:8081/"
    assert origin_of("https://berlin.example") == "https://berlin.example/"


def test_origin_of_anything_else_is_empty() -> None:
    for url in (
        "urn:uuid:1",
        "ftp://berlin.example/x",
        "https:///x",
        "https://u@evil.example/x",
        "",
    ):
        assert origin_of(url) == ""


hosts = st.sampled_from(
    [
        "berlin.example",
        "BERLIN.example",
        "berlin.example:443",
        "berlin.example:8080",
        "berlin.example:80801",
        "berlin.example.evil",
        "evil.example",
        "[::1]:8080",
        "berlin.example:8080@evil.example",
        "127.0.0.1",
    ]
)
schemes = st.sampled_from(["http", "https", "HTTPS", "ftp"])
paths = st.sampled_from(["", "/", "/actors/x", "/activities/1", "?q=1", "#f", "@evil.example/x"])


@given(schemes, hosts, paths, schemes, hosts, paths)
def test_a_url_under_the_origin_has_the_same_authority(s1, h1, p1, s2, h2, p2) -> None:
    actor = f"{s1}://{h1}{p1}"
    url = f"{s2}://{h2}{p2}"
    prefix = origin_of(actor)
    if prefix and url.startswith(prefix):
        assert is_http_url(url)
        assert authority(url) == authority(actor)
