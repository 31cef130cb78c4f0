"""The hotline in a real browser: a report submitted and looked up by reference; an analyst who
signs in, opens it from the queue and changes its status, which the reporter then sees; the
parents' check on an example export; screenshots of the main pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import ANALYST_EMAIL, ANALYST_PASSWORD

pytestmark = pytest.mark.browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _png(path: Path) -> Path:
    """A generated test image (a gradient and shapes), never a photo."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (360, 640), (235, 240, 248))
    draw = ImageDraw.Draw(img)
    for y in range(0, 640, 80):
        draw.rounded_rectangle((20, y + 10, 300, y + 60), radius=12, fill=(200, 215, 240))
    img.save(path)
    return path


def test_report_lookup_and_analyst_workflow(
    server: str, page: Any, browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    # The reporter fills in the form, with a chat export and a screenshot.
    page.goto(server + "/report")
    assert "If a child is in immediate danger, call" in page.inner_text(".danger")
    page.check("#cat-online_grooming")
    page.fill("#url", "https://chat.example.com/u/alex_gamer_22")
    page.fill(
        "#description",
        "An adult in a game chat asks my son to keep their talks secret "
        "and to meet him at the park.",
    )
    page.set_input_files("#chat_export", str(EXAMPLES / "whatsapp-grooming-pattern.txt"))
    page.set_input_files("#screenshots", str(_png(tmp_path / "profile.png")))
    page.screenshot(path=str(screenshots / "report-form.png"), full_page=True)
    page.click("button[type=submit]")
    reference = page.inner_text("#reference").strip()
    access_code = page.inner_text("#access-code").strip()
    assert reference.startswith("GW-")
    page.screenshot(path=str(screenshots / "report-received.png"), full_page=True)

    # Looked up by reference and access code.
    page.goto(server + "/status")
    page.fill("#reference", reference)
    page.fill("#access_code", access_code)
    page.click("button[type=submit]")
    assert "Received: waiting for an analyst" in page.inner_text("#status")
    page.screenshot(path=str(screenshots / "status.png"), full_page=True)

    # An analyst signs in, opens it from the queue and changes its status.
    analyst = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    analyst.goto(server + "/analyst/queue")
    assert analyst.url.endswith("/analyst/login")
    analyst.fill("#email", ANALYST_EMAIL)
    analyst.fill("#password", ANALYST_PASSWORD)
    analyst.click("main button[type=submit]")
    analyst.wait_for_url("**/analyst/queue")
    analyst.screenshot(path=str(screenshots / "queue.png"), full_page=True)
    analyst.click(f"text={reference}")
    analyst.wait_for_url(f"**/analyst/cases/{reference}")
    assert analyst.locator("mark").count() > 0  # findings highlighted
    assert analyst.locator("figure.chart svg").count() == 1  # risk chart
    assert analyst.locator("img[src$='/preview']").count() == 1  # blurred attachment
    analyst.screenshot(path=str(screenshots / "case.png"), full_page=False)
    analyst.select_option("#status", "in_assessment")
    analyst.click("#status-form button[type=submit]")
    assert "In assessment" in analyst.inner_text("#case-status")
    analyst.select_option("#status", "referred_to_police")
    analyst.click("#status-form button[type=submit]")
    assert "Referred to police" in analyst.inner_text("#case-status")
    analyst.fill("#note-text", "Thank you. We have passed your report to the police.")
    analyst.check("#vis-public")
    analyst.click("text=Add note")
    analyst.goto(server + "/analyst/stats")
    analyst.screenshot(path=str(screenshots / "stats.png"), full_page=True)
    analyst.context.close()

    # The reporter sees the new status and the public note.
    page.goto(server + f"/status/{access_code}")
    assert "Referred to the police" in page.inner_text("#status")
    assert "passed your report to the police" in page.inner_text("main")


def test_parent_check_on_an_example_export(server: str, page: Any, screenshots: Path) -> None:
    page.goto(server + "/check")
    page.screenshot(path=str(screenshots / "check-form.png"), full_page=True)
    page.set_input_files("#chat_export", str(EXAMPLES / "whatsapp-grooming-pattern.txt"))
    page.click("main button[type=submit]")
    result = page.inner_text("#result")
    assert "Strong warning signs of grooming" in result
    assert page.locator("mark").count() > 0
    assert "Do not panic" in page.inner_text("main")
    page.screenshot(path=str(screenshots / "check-result.png"), full_page=True)
    # In Spanish, on a phone-sized screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/signs?lang=es")
    assert "Señales de alerta" in page.inner_text("h1")
    page.check("#s-clue_secrecy")
    page.click("main button[type=submit]")
    assert page.locator("#guidance").count() == 1
    page.screenshot(path=str(screenshots / "signs-es-mobile.png"), full_page=True)
