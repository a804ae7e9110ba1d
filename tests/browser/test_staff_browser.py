"""End to end in a real headless Chromium: sign in, follow, publish, comment and adopt across two
nodes, by keyboard where it matters; axe-core on every page with no serious or critical
violation, in English and German."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import PASSWORD, Axe, Cluster
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.integration.test_staff_auth import ADMIN_PAGES, EDITOR_PAGES
from tests.rig import TestNode

pytestmark = pytest.mark.browser


def by_css(browser: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def wait_for(check: Callable[[], bool], timeout: float = 15, reload: Any = None) -> None:
    """Poll ``check`` (reloading the page in between) until it holds: federation is async."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the page to show the change")
        time.sleep(0.25)
        if reload is not None:
            reload.refresh()


def assert_accessible(axe: Axe, browser: Any, label: str | None = None) -> None:
    blocking = axe.check(browser, label)
    assert not blocking, (label or browser.current_url, blocking)


def sign_in(browser: Any, node: TestNode, email: str) -> None:
    """With the keyboard only: type into the focused fields, Enter submits."""
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{node.base}/staff/login")
    by_css(browser, "#f-email").send_keys(email)
    by_css(browser, "#f-password").send_keys(PASSWORD, Keys.ENTER)
    wait_for(lambda: browser.current_url.endswith("/staff/"))


def test_sign_in_follow_publish_comment_adopt_across_two_nodes(
    driver: Any, cluster: Cluster, axe: Axe
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    berlin, hamburg = cluster.start("berlin"), cluster.start("hamburg")
    berlin_admin = cluster.staff_user(berlin)
    hamburg_admin = cluster.staff_user(hamburg)
    browser = driver

    # Keyboard: the first Tab reaches the skip link, which moves the focus to the content,
    # and the focused link has a visible outline.
    browser.get(f"{berlin.base}/staff/login")
    assert_accessible(axe, browser, "login")
    by_css(browser, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("class") == "skip"
    assert focused.value_of_css_property("outline-style") != "none"
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"

    # Berlin signs in and follows Hamburg by its handle.
    sign_in(browser, berlin, berlin_admin)
    assert_accessible(axe, browser, "timeline (empty)")
    by_css(browser, 'a[href="/staff/follows"]').click()
    by_css(browser, "#f-account").send_keys(hamburg.account, Keys.ENTER)
    assert "Follow request sent" in by_css(browser, ".notice").text
    wait_for(lambda: "Accepted" in by_css(browser, "main").text, reload=browser)
    assert_accessible(axe, browser, "follows")

    # Hamburg (same browser: the cookies of the two nodes do not collide) publishes a project.
    sign_in(browser, hamburg, hamburg_admin)
    browser.get(f"{hamburg.base}/staff/items/new?kind=project")
    by_css(browser, "#f-title").send_keys("Heat-risk map")
    by_css(browser, "#f-teaser").send_keys("Which streets get dangerously hot.")
    by_css(browser, "#f-description").send_keys("## Method\n\nSatellites and **sensors**.")
    preview = by_css(browser, "button[data-preview]")
    assert preview.is_displayed()  # staff.js is there: preview in place
    preview.click()
    wait_for(lambda: "sensors" in by_css(browser, "#preview-body").get_attribute("innerHTML"))
    assert "<strong>sensors</strong>" in by_css(browser, "#preview-body").get_attribute("innerHTML")
    Select(by_css(browser, "#f-phase")).select_by_value("pilot")
    by_css(browser, "#f-tags").send_keys("climate open_data")
    by_css(browser, "#f-sdg-13").send_keys(Keys.SPACE)  # a checkbox, by keyboard
    Select(by_css(browser, "#f-tr_lang_0")).select_by_value("de")
    by_css(browser, "#f-tr_title_0").send_keys("Hitzerisikokarte")
    by_css(browser, "#f-location_name").send_keys("Altona")
    assert_accessible(axe, browser, "publish form")
    by_css(browser, 'button[value="save"]').click()
    assert "Published." in by_css(browser, ".notice").text
    assert by_css(browser, "h1").text == "Heat-risk map"
    project_page = browser.current_url

    # Berlin sees it in its partner timeline, comments, and adopts it.
    browser.get(f"{berlin.base}/staff/")
    wait_for(lambda: "Heat-risk map" in by_css(browser, "main").text, reload=browser)
    assert_accessible(axe, browser, "timeline")
    by_css(browser, "ul.cards a").click()
    by_css(browser, "#f-comment").send_keys("Which sensors do you use?")
    by_css(browser, "#thread button[type=submit]").click()
    assert "Your comment is published." in by_css(browser, ".notice").text
    assert "Which sensors do you use?" in by_css(browser, "#thread").text
    assert_accessible(axe, browser, "partner project with thread")
    by_css(browser, 'a[href^="/staff/adopt?"]').click()
    Select(by_css(browser, "#f-status")).select_by_value("piloting")
    assert_accessible(axe, browser, "adopt form")
    by_css(browser, "main form button[type=submit]").click()
    assert "Adopted." in by_css(browser, ".notice").text

    # Hamburg's page of the project shows Berlin's comment and adoption.
    browser.get(project_page)
    wait_for(
        lambda: (
            "Which sensors do you use?" in by_css(browser, "#thread").text
            and "Piloting" in by_css(browser, "#adoptions").text
        ),
        reload=browser,
    )
    assert_accessible(axe, browser, "own project with adoption and thread")


def _seed(cluster: Cluster) -> tuple[TestNode, str, dict[str, str]]:
    """Two nodes following each other with content, and an admin on the first."""
    a, b = cluster.start("potsdam"), cluster.start("bremen")

    async def prepare() -> dict[str, str]:
        from tests.rig import settle

        await a.api("POST", "/follows", json={"account": b.account}, status=201)
        await b.api("POST", "/follows", json={"account": a.account}, status=201)
        await settle(a, b)
        project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
        challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
        own = await a.api("POST", "/projects", json={"title": "Kiezblocks"}, status=201)
        await settle(a, b)
        await a.api(
            "POST",
            "/comments",
            json={"in_reply_to": project["id"], "content": "Hello!"},
            status=201,
        )
        await settle(a, b)
        return {"project": project["id"], "challenge": challenge["id"], "own": own["id"]}

    ids = cluster.call(prepare())
    return a, cluster.staff_user(a), ids


def test_every_staff_page_has_no_serious_accessibility_violation(
    driver: Any, cluster: Cluster, axe: Axe
) -> None:
    node, email, ids = _seed(cluster)
    browser = driver
    browser.delete_all_cookies()
    browser.get(f"{node.base}/staff/login?lang=de")
    assert_accessible(axe, browser, "de /staff/login")
    sign_in(browser, node, email)
    pages = [
        *EDITOR_PAGES,
        *ADMIN_PAGES,
        f"/staff/object?id={quote(ids['project'])}",
        f"/staff/object?id={quote(ids['challenge'])}",
        f"/staff/object?id={quote(ids['own'])}",
        f"/staff/items/edit?id={quote(ids['own'])}",
        f"/staff/items/delete?id={quote(ids['own'])}",
        f"/staff/adopt?project={quote(ids['project'])}",
        "/staff/nowhere",
    ]
    for lang in ("en", "de"):
        for path in pages:
            separator = "&" if "?" in path else "?"
            browser.get(f"{node.base}{path}{separator}lang={lang}")
            assert browser.find_element("css selector", "html").get_attribute("lang") == lang
            assert_accessible(axe, browser, f"{lang} {path}")
        # A form showing its errors (summary, invalid fields) must pass too.
        browser.get(f"{node.base}/staff/items/new?kind=project&lang={lang}")
        by_css(browser, 'button[value="save"]').click()
        wait_for(lambda: bool(browser.find_elements("css selector", ".error-summary")))
        assert by_css(browser, ".error-summary").is_displayed()
        assert browser.switch_to.active_element.get_attribute("class") == "error-summary"
        assert_accessible(axe, browser, f"{lang} publish form with errors")
