"""The RFC 8941 structured-field parser and serializer (activitypub/sfv.py).

The examples are the ones RFC 8941 prints in §3 (Lists, Dictionaries, Items); the round trips
are properties: whatever the serializer writes, the parser reads back as the same values.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub.sfv import (
    SFItem,
    StructuredFieldError,
    Token,
    parse_sf_dictionary,
    parse_sf_item,
    parse_sf_list,
    serialize_sf_dictionary,
    serialize_sf_item,
    serialize_sf_string,
)
from cityfed.activitypub.sigerrors import SignatureError

# --- RFC 8941 §3: the published examples ----------------------------------------------------


def test_rfc8941_list_of_tokens() -> None:
    # §3.1 "Example-List: sugar, tea, rum"
    items = parse_sf_list("sugar, tea, rum")
    assert [item.value for item in items if isinstance(item, SFItem)] == ["sugar", "tea", "rum"]
    assert all(isinstance(item, SFItem) and isinstance(item.value, Token) for item in items)


def test_rfc8941_list_of_inner_lists() -> None:
    # §3.1.1
    lists = parse_sf_list('("foo" "bar"), ("baz"), ("bat" "one"), ()')
    assert lists == [
        ([SFItem("foo", {}), SFItem("bar", {})], {}),
        ([SFItem("baz", {})], {}),
        ([SFItem("bat", {}), SFItem("one", {})], {}),
        ([], {}),
    ]
    with_params = parse_sf_list('("foo"; a=1;b=2);lvl=5, ("bar" "baz");lvl=1')
    assert with_params == [
        ([SFItem("foo", {"a": 1, "b": 2})], {"lvl": 5}),
        ([SFItem("bar", {}), SFItem("baz", {})], {"lvl": 1}),
    ]


def test_rfc8941_parameters() -> None:
    # §3.1.2 "Example-List: abc;a=1;b=2; cde_456, (ghi;jk=4 l);q="9";r=w"
    parsed = parse_sf_list('abc;a=1;b=2; cde_456, (ghi;jk=4 l);q="9";r=w')
    assert parsed[0] == SFItem("abc", {"a": 1, "b": 2, "cde_456": True})
    assert parsed[1] == ([SFItem("ghi", {"jk": 4}), SFItem("l", {})], {"q": "9", "r": "w"})
    assert isinstance(parsed[1][1]["r"], Token) and not isinstance(parsed[1][1]["q"], Token)


def test_rfc8941_dictionaries() -> None:
    # §3.2
    d = parse_sf_dictionary('en="Applepie", da=:w4ZibGV0w6ZydGU=:')
    assert d["en"].value == "Applepie"
    assert d["da"].value == "Æbletærte".encode()
    d = parse_sf_dictionary("a=?0, b, c; foo=bar")
    assert d["a"].value is False and d["b"].value is True
    assert d["c"].value is True and d["c"].params == {"foo": "bar"}
    d = parse_sf_dictionary("rating=1.5, feelings=(joy sadness)")
    assert d["rating"].value == 1.5
    assert d["feelings"].value == [SFItem("joy", {}), SFItem("sadness", {})]
    d = parse_sf_dictionary("a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid")
    assert d["a"].value == [SFItem(1, {}), SFItem(2, {})]
    assert d["c"].value == 4 and d["c"].params == {"aa": "bb"}
    assert d["d"].value == [SFItem(5, {}), SFItem(6, {})] and d["d"].params == {"valid": True}


@pytest.mark.parametrize(
    ("text", "value", "params"),
    [
        ("5; foo=bar", 5, {"foo": Token("bar")}),  # §3.3
        ("42", 42, {}),  # §3.3.1
        ("4.5", 4.5, {}),  # §3.3.2
        ('"hello world"', "hello world", {}),  # §3.3.3
        ("foo123/456", Token("foo123/456"), {}),  # §3.3.4
        (
            ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:",  # §3.3.5
            b"pretend this is binary content.",
            {},
        ),
        ("?1", True, {}),  # §3.3.6
    ],
)
def test_rfc8941_items(text: str, value: object, params: dict[str, object]) -> None:
    item = parse_sf_item(text)
    assert (item.value == value and type(item.value) is not bool) or value is True
    assert item.params == params


def test_rfc8941_dictionary_serializes_canonically() -> None:
    # §4.1.2: a true member is written as its bare key, parameters kept.
    text = "a=?0, b, c;foo=bar"
    parsed = parse_sf_dictionary(text)
    again = serialize_sf_dictionary({k: (m.value, m.params) for k, m in parsed.items()})
    assert again == text


# --- our own cases (moved from test_digest.py) -----------------------------------------------


def test_parse_dictionary_item_types() -> None:
    d = parse_sf_dictionary(
        'i=-42, d=1.5, s="a \\"q\\" \\\\", t=tok/en:1, b=:aGk=:, y=?1, n=?0, flag;x=1'
    )
    assert d["i"].value == -42
    assert d["d"].value == 1.5
    assert d["s"].value == 'a "q" \\'
    assert d["t"].value == "tok/en:1" and isinstance(d["t"].value, Token)
    assert d["b"].value == b"hi"
    assert d["y"].value is True and d["n"].value is False
    assert d["flag"].value is True and d["flag"].params == {"x": 1}


def test_parse_dictionary_inner_list_and_raw_text() -> None:
    text = 'sig1=( "@method"  "x";name="y" );created=1;keyid="k", sig2=()'
    d = parse_sf_dictionary(text)
    assert d["sig1"].value == [SFItem("@method", {}), SFItem("x", {"name": "y"})]
    assert d["sig1"].params == {"created": 1, "keyid": "k"}
    # The member text is kept verbatim, odd spacing included: RFC 9421 signs it as sent.
    assert d["sig1"].raw == '( "@method"  "x";name="y" );created=1;keyid="k"'
    assert d["sig2"].value == [] and d["sig2"].raw == "()"


def test_parse_dictionary_later_key_wins() -> None:
    # RFC 8941 §4.2.2: the value is overwritten, the key keeps its first place.
    d = parse_sf_dictionary("a=1, b=3, a=2")
    assert d["a"].value == 2 and list(d) == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    [
        "A=1",  # keys are lower case
        "a=1,",
        "a=1 b=2",
        "a=(",
        'a=("x""y")',
        'a="unterminated',
        'a="bad \\n escape"',
        "a=:not base64!:",
        "a=1234567890123456",
        "a=1.2345",
        "a=?2",
        "a=@",
        "a=1;B=2",
        "a=é",
    ],
)
def test_parse_dictionary_rejects(text: str) -> None:
    # A SignatureError: the callers are signature checks, which answer 401.
    with pytest.raises(SignatureError, match="malformed structured field"):
        parse_sf_dictionary(text)


def test_parse_item_rejects_trailing_text() -> None:
    with pytest.raises(StructuredFieldError):
        parse_sf_item("1 2")


def test_serialize_sf_string() -> None:
    assert serialize_sf_string('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(ValueError):
        serialize_sf_string("line\nbreak")


# --- round trips ------------------------------------------------------------------------------

keys = st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,8}", fullmatch=True)
bare_items = st.one_of(
    st.integers(-999_999_999_999_999, 999_999_999_999_999),
    # Decimals: at most 12 integer and 3 fraction digits, so every one is exact on the wire.
    st.integers(-999_999_999_999_999, 999_999_999_999_999).map(lambda n: n / 1000),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    st.from_regex(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]{0,10}", fullmatch=True).map(Token),
    st.binary(max_size=20),
    st.booleans(),
)
params = st.dictionaries(keys, bare_items, max_size=3)
items = st.builds(SFItem, bare_items, params)
members = st.one_of(
    st.tuples(bare_items, params),
    st.tuples(st.lists(items, max_size=4), params),
)


def _same(a: object, b: object) -> bool:
    """Equal, and of the same kind (a Token is not a String, True is not 1)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, SFItem) and isinstance(b, SFItem):
        return _same(a.value, b.value) and _same(a.params, b.params)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(st.dictionaries(keys, members, max_size=5))
def test_dictionary_round_trip(dictionary: dict[str, tuple[object, dict[str, object]]]) -> None:
    text = serialize_sf_dictionary(dictionary)  # type: ignore[arg-type]
    parsed = parse_sf_dictionary(text)
    assert list(parsed) == list(dictionary)
    for key, (value, item_params) in dictionary.items():
        assert _same(parsed[key].value, value), (text, key)
        assert _same(parsed[key].params, item_params), (text, key)
    # And writing what was read gives the same text (the serialization is canonical).
    assert serialize_sf_dictionary({k: (m.value, m.params) for k, m in parsed.items()}) == text


@given(bare_items, params)
def test_item_round_trip(value: object, item_params: dict[str, object]) -> None:
    text = serialize_sf_item(value, item_params)  # type: ignore[arg-type]
    parsed = parse_sf_item(text)
    assert _same(parsed.value, value) and _same(parsed.params, item_params)
