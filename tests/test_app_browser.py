"""The app in a real browser: Debian's Chromium driven by Playwright, a fake camera playing a real clip (y4m).

Skipped, with the reason, where Chromium or Playwright is missing (`.ci/run` installs Chromium as root).
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import cv2
import numpy as np
import pandas as pd
import pytest

from facial_emotion.api import EmotionRecognizer
from facial_emotion.app.load_client import serving
from facial_emotion.app.server import create_app, display_name
from facial_emotion.app.settings import AppSettings
from facial_emotion.data.locate import PROJECT_ROOT
from tests.app_support import CLIP, PHOTO, short_clip, truncated_avi, two_face_clip, write_y4m

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="Chromium is missing: apt-get install chromium"),
    pytest.mark.skipif(not CLIP.is_file(), reason="needs ../shared/videos"),
]


@pytest.fixture(scope="module")
def recognizer() -> EmotionRecognizer:
    return EmotionRecognizer()


@pytest.fixture(scope="module")
def playwright():
    with playwright_api.sync_playwright() as playwright:
        yield playwright


@contextmanager
def app_page(playwright, recognizer: EmotionRecognizer, folder: Path, camera: Path) -> Iterator:
    """The app served from `folder`, open in a Chromium whose fake camera plays `camera` (a y4m file)."""
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
        "--disable-background-networking",
        "--no-first-run",
        "--no-sandbox",
    ]
    app = create_app(AppSettings(work_dir=folder / "work"), recognizer)
    with serving(app) as url:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(playwright, recognizer: EmotionRecognizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    with app_page(playwright, recognizer, folder, write_y4m(folder / "camera.y4m")) as page:
        yield page


def analyse_video(page, clip: Path) -> str:
    """Upload `clip` on the Video tab and wait for its own result (not an earlier upload's); returns its job id."""
    page.click("button[data-tab=video]")
    earlier = page.get_attribute("#video-status", "data-done")
    page.set_input_files("#video-input", str(clip))
    done = "earlier => ![undefined, earlier].includes(document.getElementById('video-status').dataset.done)"
    page.wait_for_function(done, arg=earlier, timeout=90_000)
    return page.get_attribute("#video-status", "data-done")


def face_options(page, select: str) -> list[tuple[str, str]]:
    """The (value, text) of each option of the <select> `select`."""
    return page.eval_on_selector_all(f"{select} option", "options => options.map((o) => [o.value, o.textContent])")


def test_live_webcam_shows_a_face_box_and_label(page) -> None:
    page.click("#live-start")
    label = page.wait_for_selector("#live-faces .face-label", timeout=15_000)
    assert any(
        name in label.inner_text() for name in ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
    )
    page.wait_for_function("document.getElementById('live-stats').textContent.includes('fps')", timeout=15_000)
    page.wait_for_timeout(1500)  # a few more frames so the timeline has a line
    if os.environ.get("FE_WRITE_SCREENSHOT"):
        page.screenshot(path=str(PROJECT_ROOT / "results" / "app.png"))
    page.click("#live-stop")


def test_video_upload_csv_agrees_with_analyze_video(page, recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    clip = short_clip(tmp_path / "upload.mp4", frames=45)
    page.click("button[data-tab=video]")
    page.set_input_files("#video-input", str(clip))
    page.wait_for_selector("#video-status[data-done]", timeout=90_000)
    job_id = page.get_attribute("#video-status", "data-done")
    served = pd.read_csv(io.StringIO(page.request.get(urljoin(page.url, f"/api/videos/{job_id}/csv")).text()))
    expected = recognizer.analyze_video(clip, every=1.0, progress=False)
    assert len(served) == len(expected) > 0 and (served["label"] == expected["label"]).all()
    np.testing.assert_allclose(served[recognizer.class_names], expected[recognizer.class_names], atol=1e-3)
    assert page.locator("#video-table tr").count() == len(expected) + 1


def test_stop_clears_the_faces_and_the_file_pickers_are_reached_with_the_keyboard(page) -> None:
    page.click("button[data-tab=live]")
    page.click("#live-start")
    page.wait_for_selector("#live-faces .face-label", timeout=15_000)
    page.click("#live-stop")
    assert page.inner_text("#live-stats") == "stopped" and page.inner_text("#live-faces") == "No face in view."
    page.click("button[data-tab=video]")
    assert page.get_attribute("button[data-tab=video]", "aria-selected") == "true"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "video-input":
            break
    assert page.evaluate("document.activeElement.id") == "video-input"


def test_file_names_are_shown_as_text_and_a_closed_tab_keeps_the_others_results(page, tmp_path: Path) -> None:
    odd = tmp_path / "odd<img src=x onerror=document.title='owned'>.jpg"
    odd.write_bytes(PHOTO.read_bytes())
    page.click("button[data-tab=photos]")
    page.set_input_files("#photo-input", str(odd))
    card = page.wait_for_selector(".photo-card strong", timeout=30_000)
    assert card.inner_text() == display_name(odd.name) and page.title() == "Facial emotion"
    assert page.locator(".photo-card img").count() == 0
    page.click("button[data-tab=video]")
    page.set_input_files("#video-input", str(short_clip(tmp_path / "clip.mp4", frames=10)))
    page.wait_for_selector("#video-status[data-done]", timeout=90_000)
    csv_url = urljoin(page.url, f"/api/videos/{page.get_attribute('#video-status', 'data-done')}/csv")
    second = page.context.browser.new_context()  # a second tab of the same visitor: the same session cookie
    second.add_cookies(page.context.cookies())
    other = second.new_page()
    other.goto(page.url)
    other.close(run_before_unload=True)  # its pagehide ends its own uploads, not this tab's
    second.close()
    page.wait_for_timeout(500)
    assert page.request.get(csv_url).status == 200


def test_photo_upload_shows_a_face(page) -> None:
    page.click("button[data-tab=photos]")
    page.set_input_files("#photo-input", str(PHOTO))
    card = page.wait_for_selector(".photo-card .face-label", timeout=30_000)
    assert "Face 1:" in card.inner_text()


def test_photo_without_a_face_is_read_whole_when_the_box_is_ticked(page, tmp_path: Path) -> None:
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((240, 320, 3), 128, np.uint8))
    page.click("button[data-tab=photos]")
    page.set_input_files("#photo-input", str(wall))
    page.wait_for_selector(".photo-card:first-child >> text=No face found.", timeout=30_000)
    page.check("#photo-whole")
    page.set_input_files("#photo-input", [])
    page.set_input_files("#photo-input", str(wall))
    label = page.wait_for_selector(".photo-card:first-child .face-label", timeout=30_000)
    assert label.inner_text().startswith("No face found, whole photo: ")
    page.uncheck("#photo-whole")


def test_a_video_with_two_people_charts_the_face_chosen_in_the_picker(page, tmp_path: Path) -> None:
    # The left person leaves after 40 of 120 frames: face #1 has 2 rows (0 s, 1 s), face #2 4 rows (0 s to 3 s).
    analyse_video(page, two_face_clip(tmp_path / "two people.mp4", frames=120, left_frames=40))
    options = face_options(page, "#video-face")
    assert [value for value, _ in options] == ["2", "1"], options  # the face seen longest first, and chosen
    assert options[0][1].startswith("#2: 4 rows") and options[1][1].startswith("#1: 2 rows")
    assert page.is_enabled("#video-face") and page.is_visible("label:has-text('Face') >> #video-face")
    assert page.input_value("#video-face") == "2"
    assert page.inner_text("#video-result h3 >> nth=0") == "Emotions over time (face #2)"

    def drawn() -> str:
        return page.eval_on_selector("#video-timeline", "canvas => canvas.toDataURL()")

    drawn()  # Chromium draws a canvas read back once with other anti-aliasing: compare only draws made after that
    page.select_option("#video-face", "1")
    assert page.inner_text("#video-result h3 >> nth=0") == "Emotions over time (face #1)"
    assert page.get_attribute("#video-timeline", "aria-label").endswith("face #1")
    face_1 = drawn()
    page.select_option("#video-face", "2")
    assert page.inner_text("#video-result h3 >> nth=0") == "Emotions over time (face #2)"
    assert drawn() != face_1
    page.select_option("#video-face", "1")
    assert drawn() == face_1


def test_a_video_with_one_person_names_its_face_without_a_choice(page, tmp_path: Path) -> None:
    analyse_video(page, short_clip(tmp_path / "one.mp4", frames=45))
    assert page.is_disabled("#video-face") and page.input_value("#video-face") == "1"
    assert page.inner_text("#video-result h3 >> nth=0") == "Emotions over time (face #1)"


def test_a_truncated_video_shows_a_warning_naming_the_last_frame_read(page, tmp_path: Path) -> None:
    analyse_video(page, truncated_avi(tmp_path / "cut off.avi", 60))  # 2 s at 30 fps, cut at half
    name = re.escape(display_name("cut off.avi"))
    warning = page.inner_text("#video-warning")
    assert page.is_visible("#video-warning") and re.match(
        rf"Warning: {name}: no frame could be read after frame \d+ of 60 \(time [\d.]+ s\): the file looks truncated",
        warning,
    ), warning
    assert page.inner_text("#video-status").endswith("(the file ends early: see the warning)")
    analyse_video(page, short_clip(tmp_path / "whole.mp4", frames=20))
    assert page.is_hidden("#video-warning") and "ends early" not in page.inner_text("#video-status")


@pytest.fixture(scope="module")
def two_face_camera_page(playwright, recognizer: EmotionRecognizer, tmp_path_factory):
    """A fake camera playing two people in a 3 s loop; the left one leaves after 2 s and comes back when it loops."""
    folder = tmp_path_factory.mktemp("browser-two-faces")
    clip = two_face_clip(folder / "two.mp4", frames=90, left_frames=60, size=320)
    camera = write_y4m(folder / "camera.y4m", clip, frames=90, size=(640, 320))
    with app_page(playwright, recognizer, folder, camera) as page:
        yield page


def test_the_live_timeline_follows_the_chosen_face_and_the_first_one_when_it_leaves(two_face_camera_page) -> None:
    page = two_face_camera_page
    count = "document.getElementById('live-face').options.length === {}"
    page.click("#live-start")
    page.wait_for_function(count.format(1), timeout=20_000)  # the left person has left: one face stays
    stays = page.input_value("#live-face")
    assert page.is_disabled("#live-face") and page.inner_text("#live-timeline-face") == f"#{stays}"
    page.wait_for_function(count.format(2), timeout=20_000)  # the left person is back
    assert page.is_enabled("#live-face")
    leaves = next(value for value, _ in face_options(page, "#live-face") if value != stays)
    page.select_option("#live-face", leaves)
    assert page.inner_text("#live-timeline-face") == f"#{leaves}"
    assert page.inner_text("#live-faces .face.followed .face-label").startswith(f"Face #{leaves}:")
    page.wait_for_function(count.format(1), timeout=20_000)  # the chosen face leaves: back to the first face
    assert page.inner_text("#live-timeline-face") == f"#{stays}" and page.input_value("#live-face") == stays
    assert page.inner_text("#live-faces .face.followed .face-label").startswith(f"Face #{stays}:")
    page.click("#live-stop")
    assert page.inner_text("#live-timeline-face") == "–" and page.is_disabled("#live-face")
