"""The chat page in headless Debian Chromium, driven by Playwright, against a real server and model.

Screenshots go to tests/screenshots/ (ignored by git) so a person can look at them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, build_with_real_model, running_server

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "browser tests need Debian's chromium: `make browser` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()
    assert not dialogs, f"a script ran on the page and opened a dialog: {dialogs}"


BOT = "#pqa-chat [data-testid='bot']"


def ask(page, question: str) -> None:
    """Type a question, press Ask, wait for the new answer to arrive."""
    before = page.locator(BOT).count()
    page.fill("#pqa-question textarea", question)
    page.click("#pqa-ask")
    page.wait_for_function(f"n => document.querySelectorAll(\"{BOT}\").length > n", arg=before, timeout=60_000)
    page.wait_for_timeout(300)


def last_bot_message(page) -> str:
    return page.locator(BOT).last.inner_text()


def open_document(page, title: str) -> None:
    """In the Documents tab, pick a document by its title and wait for its text."""
    page.click("#pqa-doc-pick input")
    page.keyboard.press("Control+A")  # over the title shown now
    page.keyboard.type(title)
    page.get_by_role("option", name=title).first.click()
    page.wait_for_function("t => document.querySelector('#pqa-doc-view h4')?.innerText === t", arg=title, timeout=20_000)


def test_answer_with_markers_opens_highlighted_source(page, server_url):
    SHOTS.mkdir(exist_ok=True)
    page.goto(server_url)
    page.wait_for_selector("#pqa-question textarea", timeout=60_000)
    ask(page, "what obstacles block migrant citizenization?")
    message = last_bot_message(page)
    assert "[1]" in message and "hard to settle down" in message
    page.screenshot(path=str(SHOTS / "answer.png"))

    source = page.locator("#src-1-1")
    assert not source.evaluate("d => d.open")
    page.locator("#pqa-chat a.cite").first.click()
    page.wait_for_function("() => document.getElementById('src-1-1').open")
    mark = source.locator("mark")
    assert mark.count() == 1 and "hard to settle down" in mark.inner_text()
    assert source.locator(".pqa-meta").inner_text().strip()  # authors, date, source line
    page.screenshot(path=str(SHOTS / "source-open.png"))

    # A follow-up reads the conversation; then clearing empties chat and sources.
    ask(page, "and what about their children's schooling?")
    assert "[1]" in last_bot_message(page) or "do not cover" in last_bot_message(page)
    page.wait_for_selector("#src-2-1, #rel-2-1", state="attached")
    page.click("#pqa-clear")
    page.wait_for_function(f"() => document.querySelectorAll(\"{BOT}\").length === 0")
    assert page.locator("#pqa-sources details").count() == 0


def test_unanswerable_question_shows_abstention(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("#pqa-question textarea", timeout=60_000)
    ask(page, "What is the statutory minimum wage in Guangdong in 2024?")
    message = last_bot_message(page)
    assert "do not cover" in message
    assert "[1]" not in message and page.locator("#pqa-chat a.cite").count() == 0
    assert page.locator("#pqa-sources .pqa-abstain").count() == 1
    assert page.locator("#pqa-sources .pqa-related").count() >= 1
    page.screenshot(path=str(SHOTS / "abstain.png"))


def test_markdown_export_and_download(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("#pqa-question textarea", timeout=60_000)
    page.locator("text=Why do few migrant workers return to the countryside?").first.click()  # an example
    page.click("#pqa-ask")
    page.wait_for_selector("#pqa-chat a.cite", timeout=60_000)
    with page.expect_download() as info:
        page.click("#pqa-download")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("**Q:** Why do few migrant workers") and "**References**" in text and "[1]" in text


HOSTILE = """# Zebra crossing safety policy

Author: Mallory
Date: 2024-01-01

## Rules

The zebra crossing policy requires drivers to stop <script>window.__pwned = 1; alert('script')</script> for pedestrians.

Every zebra crossing needs a lamp <img src=x onerror="window.__pwned = 2; alert('img')"> that stays lit at night.

Zebra crossing reports go to [the safety office](javascript:window.__pwned=3) every month and ![x](javascript:alert(4)).

Zebra crossing paint must be renewed each year: {long}.

Zebra crossing complaints are filed at https://evil.example/forms or www.evil.example, or mailed to clerk@evil.example.
"""


def test_hostile_document_and_question_run_nothing(browser, real_index, tmp_path):
    corpus = tmp_path / "hostile"
    corpus.mkdir()
    (corpus / "zebra.md").write_text(HOSTILE.replace("{long}", "W" * 5000), encoding="utf-8")
    index = tmp_path / "index"
    build_with_real_model(corpus, index, real_index)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with running_server(index) as url:
        page.goto(url)
        page.wait_for_selector("#pqa-question textarea", timeout=60_000)
        for question in [
            "what does the zebra crossing policy require of drivers and lamps?",
            "where do zebra crossing reports go? <img src=y onerror=\"alert('q')\"> [x](javascript:alert(5))",
            "where are zebra crossing complaints filed?",
        ]:
            ask(page, question)
        for selector in ["#pqa-sources details"]:
            for i in range(page.locator(selector).count()):
                page.locator(selector).nth(i).evaluate("d => d.open = true")
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "hostile.png"), full_page=True)
        assert page.evaluate("() => window.__pwned") is None
        assert not dialogs
        for root in ["#pqa-chat", "#pqa-sources"]:
            assert page.locator(f"{root} script").count() == 0
            assert page.locator(f"{root} img").count() == 0
            assert page.locator(f"{root} a[href^='javascript']").count() == 0
            assert page.locator(f"{root} a[href*='evil.example']").count() == 0  # a quoted URL is no link
        for root in ["#pqa-chat", "#pqa-sources"]:
            shown = page.locator(root).inner_text()
            assert "<img src=" in shown and "javascript:" in shown  # shown as text, not run
            assert "https://evil.example/forms or www.evil.example, or mailed to clerk@evil.example" in shown
            assert "&lt;" not in shown and "\\[" not in shown  # and shown once, not double-escaped
        # The 5,000-character word wraps inside the panel instead of widening the page.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400

        # The Documents tab shows the same text as text.
        page.get_by_role("tab", name="Documents").click()
        open_document(page, "Zebra crossing safety policy")
        page.screenshot(path=str(SHOTS / "hostile-document.png"), full_page=True)
        for root in ["#pqa-doclist", "#pqa-doc-view"]:
            assert page.locator(f"{root} script, {root} img, {root} a").count() == 0
        shown = page.locator("#pqa-doc-view").inner_text()
        assert "<script>window.__pwned = 1; alert('script')</script>" in shown and "&lt;" not in shown
        assert page.evaluate("() => window.__pwned") is None and not dialogs
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400
    context.close()


def test_upload_a_document_in_the_chat(browser, real_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(real_index, index)
    good = tmp_path / "broadband.txt"
    # Long enough (400 sentences) to embed for a few seconds, so the progress can be seen.
    filler = "\n\n".join(f"Survey note {i} counts the fibre cabinets of township {i} in the hill county." for i in range(400))
    good.write_text(f"Rural broadband\n\nRural broadband reached most villages in 2023, narrowing the digital gap.\n\n{filler}\n")
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    with running_server(index) as url:
        page.goto(url)
        page.wait_for_selector("#pqa-question textarea", timeout=60_000)
        page.get_by_text("Add your own documents").click()
        page.set_input_files("#pqa-upload input[type=file]", [str(good), str(bad)])
        page.wait_for_timeout(1000)
        page.click("#pqa-add")
        # While it runs, the status shows the step, its count and its share done.
        status_block = "document.querySelector('#pqa-upload-status').closest('.block') || document.querySelector('#pqa-upload-status')"
        page.wait_for_function(f"() => /Embedding - \\d/.test(({status_block}).innerText)", timeout=60_000)
        assert "texts" in page.evaluate(f"() => ({status_block}).innerText")
        page.screenshot(path=str(SHOTS / "upload-progress.png"), full_page=True)
        page.wait_for_function("() => document.querySelector('#pqa-upload-status').innerText.includes('added')",
                               timeout=60_000)
        status = page.locator("#pqa-upload-status").inner_text()
        assert "added broadband" in status and "scan.pdf" in status
        page.screenshot(path=str(SHOTS / "upload.png"), full_page=True)
        ask(page, "how far did rural broadband reach by 2023?")
        assert "broadband" in last_bot_message(page).lower()

        # The Documents tab lists it as added; it opens, and it can be removed (a bundled one cannot).
        page.get_by_role("tab", name="Documents").click()
        row = page.locator("#pqa-doclist tr[data-doc='broadband']")
        assert row.locator("td").nth(4).inner_text() == "added"
        assert page.locator("#pqa-doclist tbody tr").count() == 6
        assert page.locator("#pqa-doclist tbody td:nth-child(5)").all_inner_texts().count("bundled") == 5
        open_document(page, "Steering labor mobility toward new quality productive forces")
        assert not page.locator("#pqa-remove").is_visible()
        assert "Fan Shide" in page.locator("#pqa-doc-view .pqa-meta").inner_text()
        open_document(page, "Rural broadband")
        assert "narrowing the digital gap" in page.locator("#pqa-doc-view .pqa-doctext").inner_text()
        page.screenshot(path=str(SHOTS / "documents.png"), full_page=True)
        page.click("#pqa-remove")
        page.wait_for_function("() => document.querySelector('#pqa-doc-status').innerText.includes('Removed broadband')",
                               timeout=60_000)
        assert page.locator("#pqa-doclist tbody tr").count() == 5 and not page.locator("#pqa-remove").is_visible()
        page.screenshot(path=str(SHOTS / "document-removed.png"), full_page=True)
        assert httpx.get(url + "/healthz").json()["documents"] == 5
    context.close()


def test_a_read_only_page_has_no_upload_and_no_remove(browser, real_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(real_index, index)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    with running_server(index, "--read-only") as url:
        page.goto(url)
        page.wait_for_selector("#pqa-question textarea", timeout=60_000)
        assert page.locator("#pqa-upload").count() == 0 and page.get_by_text("Add your own documents").count() == 0
        page.get_by_role("tab", name="Documents").click()
        open_document(page, "Steering labor mobility toward new quality productive forces")
        assert page.locator("#pqa-remove").count() == 0 or not page.locator("#pqa-remove").is_visible()
        page.screenshot(path=str(SHOTS / "read-only.png"), full_page=True)
        refused = httpx.post(url + "/api/documents", files=[("files", ("n.txt", b"Note\n\nA note on roads.\n"))])
        assert refused.status_code == 403 and "read-only" in refused.json()["error"]
    context.close()
