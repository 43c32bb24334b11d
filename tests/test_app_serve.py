"""`scripts/serve.py` as a user starts it: a bad port or limit is one `error:` line before the model loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks.benchmark_app import live_socket_url
from tests.conftest import unused_port


def serve_script(*overrides: str) -> subprocess.CompletedProcess:
    script = [sys.executable, "scripts/serve.py", *overrides]
    return subprocess.run(script, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("port=abc", "error: port must be a whole number, got 'abc'"),
        ("port=99999", "error: port must be a whole number from 1 to 65535, got 99999"),
        ("app.max_upload_mb=-1", "error: app.max_upload_mb: input should be greater than 0, got -1"),
        ("app.max_upload_mb=inf", "error: app.max_upload_mb: input should be a finite number, got inf"),  # was 500s
    ],
    ids=["text-port", "port-out-of-range", "negative-limit", "infinite-limit"],
)
def test_a_bad_port_or_limit_is_one_line_and_exit_2(override: str, message: str) -> None:
    result = serve_script(override)  # were a traceback after loading the model (port) or five lines (limit)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message and result.stdout == ""


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("clients=abc", "error: clients must be a whole number, got 'abc'"),  # was a TypeError traceback
        ("width=-5", "error: width must be a whole number >= 1, got -5"),  # was OpenCV's assertion traceback
    ],
    ids=["text-clients", "negative-width"],
)
def test_benchmark_app_refuses_a_bad_option_in_one_line(override: str, message: str) -> None:
    script = [sys.executable, "scripts/benchmark_app.py", override]
    result = subprocess.run(script, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message and result.stdout == ""


def test_benchmark_app_takes_the_apps_address_or_its_socket_and_names_one_that_does_not_answer() -> None:
    assert live_socket_url("http://127.0.0.1:8000/") == "ws://127.0.0.1:8000/ws/live"
    assert live_socket_url("https://host") == "wss://host/ws/live"
    assert live_socket_url("ws://127.0.0.1:8000/ws/live") == "ws://127.0.0.1:8000/ws/live"  # was .../ws/live/ws/live
    closed = f"http://127.0.0.1:{unused_port()}"
    script = [sys.executable, "scripts/benchmark_app.py", f"url={closed}", "seconds=1"]
    result = subprocess.run(script, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2  # was a ConnectionRefusedError traceback
    socket_url = closed.replace("http", "ws") + "/ws/live"
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {socket_url}: cannot connect (")
