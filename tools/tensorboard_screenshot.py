"""Screenshot TensorBoard showing a run's scalars (needs Debian's chromium and `pip install playwright`).

`python tools/tensorboard_screenshot.py outputs/train/runs/<run>/tensorboard results/model/tensorboard.png`
TensorBoard is started on loopback only and stopped afterwards.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TAG_FILTER = "^(train|val)/(acc|loss)$"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    sys.exit(f"error: TensorBoard did not start on 127.0.0.1:{port} within {timeout_s:.0f} s")


def main(log_dir: str, output: str) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("error: playwright is not installed (pip install playwright; apt-get install chromium)")
    if not Path(CHROMIUM).exists():
        sys.exit(f"error: {CHROMIUM} not found (apt-get install chromium)")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", log_dir, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1700, "height": 1050})
            page.goto(f"http://127.0.0.1:{port}/?pinnedCards=&smoothing=0#timeseries", wait_until="networkidle")
            page.wait_for_timeout(5000)
            page.fill('input[placeholder="Filter tags (regex)"]', TAG_FILTER)
            page.keyboard.press("Escape")  # close the tag suggestions
            page.mouse.click(1000, 1000)
            page.wait_for_timeout(10000)  # the time-series cards load and draw lazily
            page.screenshot(path=output, full_page=False)
            browser.close()
    finally:
        server.terminate()
    print(f"Wrote {output}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tools/tensorboard_screenshot.py TENSORBOARD_LOG_DIR OUTPUT.png")
    main(sys.argv[1], sys.argv[2])
