"""What a person sees in a real Chromium (issue 19): public pages fit a 390 px phone screen, a
missing page is a page, link-styled buttons are buttons, the staff type filter shows its words,
the profile shows a featured project once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import Axe, Cluster
from tests.browser.test_staff_browser import assert_accessible, by_css, sign_in
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import TestNode

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
# A project with everything that used to widen the page: many facts, long values, long URLs.
LONG = {
    **HEAT_MAP,
    "title": "Hitzeaktionsplan mit Bürgerbeteiligungsplattformintegration",
    "contact": "klimaanpassung.und.hitzeschutz.stadtentwicklung@verwaltung.hamburg.example",
    "repository": "https://code.hamburg.example/" + "stadtentwicklung/" * 4 + "hitze",
    "partners": ["Landesbetrieb Straßen, Brücken und Gewässer", "Universitätsklinikum Eppendorf"],
    "budget": "1.250.000 EUR über drei Jahre (Bundesförderprogramm Klimaanpassung)",
}


@pytest.fixture(scope="module")
def site(cluster: Cluster) -> dict[str, Any]:
    node = cluster.start("lueneburg")

    async def prepare() -> dict[str, str]:
        featured = await node.api("POST", "/projects", json={**LONG, "featured": True})
        plain = await node.api("POST", "/projects", json={"title": "Kiezblocks"})
        challenge = await node.api("POST", "/challenges", json=CHALLENGE, status=201)
        return {"featured": featured["id"], "plain": plain["id"], "challenge": challenge["id"]}

    return {"node": node, "ids": cluster.call(prepare()), "email": cluster.staff_user(node)}


@pytest.fixture
def phone(driver: Any) -> Iterator[Any]:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield driver
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def overflow(browser: Any) -> list[str]:
    """The page's width beyond the viewport, and the elements that stick out (for the message)."""
    return browser.execute_script(
        "const w = document.documentElement.clientWidth; const out = [];"
        "if (document.documentElement.scrollWidth > w) out.push('page ' +"
        " document.documentElement.scrollWidth + ' > ' + w);"
        "for (const e of document.querySelectorAll('body *')) {"
        "  const r = e.getBoundingClientRect();"
        "  if (r.width && r.right > w + 1) out.push(e.tagName + '.' + e.className + ' ' +"
        "   Math.round(r.right)); }"
        "return out.slice(0, 8);"
    )


def test_public_pages_fit_a_phone(phone: Any, site: dict[str, Any], axe: Axe) -> None:
    node: TestNode = site["node"]
    ids = site["ids"]
    for url in (ids["featured"], ids["challenge"], f"{node.base}/@{node.handle}"):
        phone.get(url)
        assert overflow(phone) == [], url
        # A phone widens its layout viewport to content that does not fit: it must not need to.
        assert phone.execute_script("return window.innerWidth") == PHONE["width"], url
        assert_accessible(axe, phone, f"phone {url}")


def test_staff_pages_fit_a_phone(phone: Any, site: dict[str, Any]) -> None:
    node: TestNode = site["node"]
    phone.delete_all_cookies()
    sign_in(phone, node, site["email"])
    for path in ("/staff/", "/staff/items", f"/staff/object?id={quote(site['ids']['featured'])}"):
        phone.get(node.base + path)
        assert overflow(phone) == [], path


def test_a_missing_page_is_a_page(driver: Any, site: dict[str, Any], axe: Axe) -> None:
    node: TestNode = site["node"]
    driver.get(f"{node.base}/no/such/page")
    assert by_css(driver, "h1").text == "Page not found"
    assert_accessible(axe, driver, "404 page")


def test_the_featured_project_is_on_the_profile_once(driver: Any, site: dict[str, Any]) -> None:
    node: TestNode = site["node"]
    driver.get(f"{node.base}/@{node.handle}")
    links = [a.get_attribute("href") for a in driver.find_elements("css selector", "a.u-url")]
    assert links.count(site["ids"]["featured"]) == 1
    assert site["ids"]["plain"] in links
    driver.get(site["ids"]["featured"])
    kind = by_css(driver, "p.kind").text
    assert "Featured" in kind and "· Featured" in kind  # a space before the separator's dot


def test_link_buttons_are_button_sized_with_the_label_centred(
    driver: Any, site: dict[str, Any]
) -> None:
    node: TestNode = site["node"]
    driver.delete_all_cookies()
    sign_in(driver, node, site["email"])
    driver.get(f"{node.base}/staff/items")
    button_height = driver.execute_script(
        "const b = document.createElement('button'); b.textContent = 'Save';"
        "document.querySelector('main').appendChild(b);"
        "const h = b.getBoundingClientRect().height; b.remove(); return h;"
    )
    for link in driver.find_elements("css selector", "a.button"):
        box, label = driver.execute_script(
            "const a = arguments[0]; const r = document.createRange(); r.selectNodeContents(a);"
            "const t = r.getBoundingClientRect(); const b = a.getBoundingClientRect();"
            "return [[b.top, b.bottom, b.height], [t.top, t.bottom]];",
            link,
        )
        assert box[2] <= button_height * 1.15, (link.text, box, button_height)
        gap_above, gap_below = label[0] - box[0], box[1] - label[1]
        assert abs(gap_above - gap_below) <= 2, (link.text, gap_above, gap_below)


def test_the_type_filter_shows_its_whole_choice_in_german(
    driver: Any, site: dict[str, Any]
) -> None:
    node: TestNode = site["node"]
    driver.delete_all_cookies()
    sign_in(driver, node, site["email"])
    driver.get(f"{node.base}/staff/?lang=de")
    needed, shown = driver.execute_script(
        "const s = document.getElementById('f-type'); const c = document.createElement('canvas')"
        ".getContext('2d'); c.font = getComputedStyle(s).font;"
        "const widest = Math.max(...[...s.options].map(o => c.measureText(o.text).width));"
        "const st = getComputedStyle(s);"
        "return [widest, s.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight)];"
    )
    # The drop-down's arrow takes about 20 px of the inner width.
    assert shown - 20 >= needed, (needed, shown)
