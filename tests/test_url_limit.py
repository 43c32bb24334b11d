"""`analyze(url)`'s time limit holds for the whole download: a real local HTTP server that stalls mid-body or
trickles its headers is cut off at the limit, not at the limit plus one more socket timeout."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from facial_emotion.api import ImageInputError, images

LIMIT_S = 1.5
MARGIN_S = 0.6  # thread start-up and scheduling on a busy 2-core machine; the old code took LIMIT_S + 1.2 s or more
TRICKLE_S = 1.2  # bytes keep arriving this long, then the server stalls: each piece came within the socket timeout


class StallingHandler(BaseHTTPRequestHandler):
    """`/body`: 200, a JPEG-like body trickled for TRICKLE_S, then nothing; `/headers`: a header that never ends."""

    stop = threading.Event()

    def do_GET(self) -> None:
        with contextlib.suppress(OSError):  # the client gave up
            if self.path == "/headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self.stop.wait(0.1):  # one byte of a header line every 0.1 s, forever
                    self.wfile.write(b"a")
                    self.wfile.flush()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            started = time.monotonic()
            while time.monotonic() - started < TRICKLE_S and not self.stop.is_set():
                self.wfile.write(b"\xff")
                self.wfile.flush()
                time.sleep(0.1)
            self.stop.wait(30)  # stalls mid-body

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stalling_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's address, with the download limit at LIMIT_S."""
    monkeypatch.setattr(images, "DOWNLOAD_TIMEOUT_S", LIMIT_S)
    StallingHandler.stop.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        StallingHandler.stop.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "message"),
    [("/body", r"the download took over 1.5 s$"), ("/headers", r"no answer within 1.5 s$")],
    ids=["stalls-mid-body", "trickles-headers"],
)
def test_a_server_that_stalls_is_cut_off_at_the_time_limit(stalling_server: str, path: str, message: str) -> None:
    url = stalling_server + path
    started = time.monotonic()
    with pytest.raises(ImageInputError, match=f"^{url}: {message}") as raised:
        images.to_bgr(url)  # what analyze(url) reads the image with
    elapsed = time.monotonic() - started
    assert "\n" not in str(raised.value)
    assert LIMIT_S - 0.1 < elapsed < LIMIT_S + MARGIN_S


def test_a_host_name_lookup_that_hangs_is_cut_off_at_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system's lookup takes no timeout (a DNS server that does not answer holds it for tens of seconds)."""
    monkeypatch.setattr(images, "DOWNLOAD_TIMEOUT_S", LIMIT_S)
    looked_up = []

    def slow_lookup(host: str, *args: object, **kwargs: object) -> list:
        looked_up.append(host)
        time.sleep(LIMIT_S + 3)  # the thread left behind ends after the test
        return []

    monkeypatch.setattr(images.socket, "getaddrinfo", slow_lookup)
    started = time.monotonic()
    with pytest.raises(ImageInputError, match=r"^http://photos.example/face.jpg: no answer within 1.5 s$"):
        images.to_bgr("http://photos.example/face.jpg")
    assert looked_up == ["photos.example"]
    assert LIMIT_S - 0.1 < time.monotonic() - started < LIMIT_S + MARGIN_S
