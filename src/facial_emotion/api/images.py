"""Turn what a user passes as an image (a path, a URL, encoded bytes, a BGR numpy array, a PIL image) into a BGR
uint8 array."""

from __future__ import annotations

import base64
import binascii
import http.client
import io
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from facial_emotion.api.errors import ImageInputError
from facial_emotion.video.frame_source import redact_credentials, url_scheme
from facial_emotion.video.image_files import read_bgr

ImageInput = str | Path | bytes | np.ndarray | Image.Image
DOWNLOAD_TIMEOUT_S = 15
MAX_DOWNLOAD_BYTES = 50 * 2**20


def to_bgr(image: Any, name: str = "image") -> np.ndarray:
    """A contiguous (H, W, 3) BGR uint8 array; `name` says which input an error is about.

    A string is a file path, an `http(s)://` URL (downloaded) or a `data:image/...;base64,` URI; bytes are an
    encoded image file (JPEG, PNG, ...) as a request body or a database holds it.
    """
    if isinstance(image, str) and is_data_uri(image):
        return decode_image_bytes(data_uri_bytes(image, name), name)
    if isinstance(image, str) and is_web_url(image):
        return decode_image_bytes(download(image), redact_credentials(image))
    if isinstance(image, str) and re.fullmatch(r"[a-z][a-z0-9+.-]*", url_scheme(image)):  # file://, ftp://, rtsp://
        shown = redact_credentials(image)
        raise ImageInputError(f"{shown}: not a URL analyze reads (http://, https:// or data:); give a file by its path")
    if isinstance(image, str) and not image.strip():
        raise ImageInputError(f"{name}: the path is empty")
    if isinstance(image, bytes | bytearray | memoryview):
        return decode_image_bytes(bytes(image), name)
    if isinstance(image, str | Path):
        return read_image_file(Path(image))
    if isinstance(image, np.ndarray):
        return check_frame(image, name)
    if isinstance(image, Image.Image):
        return check_frame(pil_to_bgr(image, name), name)
    raise ImageInputError(
        f"{name}: expected a path, a URL, image bytes, a BGR numpy array or a PIL image, got {type(image).__name__}"
    )


def pil_to_bgr(image: Image.Image, name: str = "image") -> np.ndarray:
    """A PIL image as OpenCV reads the same file: turned upright by its EXIF orientation (phones store photos
    sideways with a tag), 16-bit greys reduced to their high byte; an `ImageInputError` naming it otherwise.

    Mode "I" (32-bit integers) holds 16-bit greys as some readers give them, or 8-bit ones as
    `convert("I")` and `Image.fromarray` of int32 pixels make them: values all within 0..255 are taken as 8-bit (as
    16-bit greys they would be black)."""
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in _SIXTEEN_BIT_GREY_MODES:
            grey = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
            if image.mode != "I" or grey.max(initial=0) > 255:
                grey >>= 8
            return cv2.cvtColor(grey.astype(np.uint8), cv2.COLOR_GRAY2BGR)
        rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as error:  # a lazily opened, truncated file fails only now; a closed image
        raise ImageInputError(f"{name}: the PIL image cannot be decoded ({error})") from None
    return np.ascontiguousarray(rgb[:, :, ::-1])


# Pillow's modes for 16-bit grey pixels ("I": 32-bit integers, which may hold 16-bit or 8-bit greys).
_SIXTEEN_BIT_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def encoded_image_size(data: bytes, name: str = "image") -> tuple[int, int] | None:
    """(width, height) as an encoded image's header states them, read without decoding a pixel (a small file can
    hold a huge blank image); None when Pillow does not recognise the bytes as an image. A header over Pillow's
    decompression-bomb limit (about 179 million pixels) is an `ImageInputError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the caller judges the size
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Image.DecompressionBombError:
        raise ImageInputError(f"{name}: the image states more pixels than any photo has") from None
    except (OSError, ValueError, SyntaxError):  # not an image, or a header Pillow cannot parse
        return None


def is_data_uri(text: str) -> bool:
    """Whether `text` is a `data:` URI (`data:<type>[;base64],<payload>`), not a file path."""
    return text.startswith("data:") and "," in text[:256]


def is_web_url(text: str) -> bool:
    """Whether `text` is an http:// or https:// address."""
    return url_scheme(text) in ("http", "https")


def download(url: str) -> bytes:
    """The body at an http(s) URL, at most MAX_DOWNLOAD_BYTES within DOWNLOAD_TIMEOUT_S from the call to the last
    byte (redirects included); an `ImageInputError` naming the URL otherwise."""
    shown, limit = redact_credentials(url), DOWNLOAD_TIMEOUT_S
    headers = {"User-Agent": "facial-emotion"}
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None:  # urllib takes user:password@ for part of the host name: send it as Basic auth
        user, password = urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    request = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + limit
    opener = urllib.request.build_opener(_DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline))
    chunks, size, answered = [], 0, False
    try:
        with opener.open(request, timeout=limit) as response:
            answered = True
            while size <= MAX_DOWNLOAD_BYTES and (chunk := response.read1(2**16)):
                chunks.append(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as error:
        raise ImageInputError(f"{shown}: the server answered {error.code} {error.reason}") from None
    # refused, timed out, no such host, bad URL; http.client's errors: a broken status line, a header line too long
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError) or time.monotonic() >= deadline:
            happened = "the download took over" if answered else "no answer within"
            raise ImageInputError(f"{shown}: {happened} {limit} s") from None
        raise ImageInputError(f"{shown}: cannot download ({reason})") from None
    if size > MAX_DOWNLOAD_BYTES:
        raise ImageInputError(f"{shown}: more than {MAX_DOWNLOAD_BYTES // 2**20} MB, not a photo")
    return b"".join(chunks)


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read given the time left before `deadline` as its timeout: a server that stalls or
    trickles (headers or body) is cut off at the deadline, not one socket timeout after its last byte."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock, self._deadline = sock, deadline
        self._raw = sock.makefile("rb", buffering=0)  # counts as a reference: the socket stays open while read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected socket whose binary reader (what http.client reads the answer through) keeps the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "rb" and not args and not kwargs:
            return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))
        return self._sock.makefile(mode, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # sendall, close, settimeout, ...: the socket's own
        return getattr(self._sock, name)


def _deadline_connection(connection_class: type, deadline: float) -> type:
    """`connection_class` (http.client's HTTP or HTTPS connection) connecting within the time left before
    `deadline` and reading its answer through a `_DeadlineSocket`."""

    class DeadlineConnection(connection_class):  # type: ignore[misc,valid-type]
        def connect(self) -> None:
            self.timeout = deadline - time.monotonic()
            if self.timeout <= 0:  # a redirect after the time was spent (0 would mean non-blocking)
                raise TimeoutError("timed out")
            # http.client connects through this attribute (set in its __init__): the host lookup keeps the deadline
            self._create_connection = lambda address, _timeout, source=None: _connect_within(address, deadline, source)
            super().connect()  # HTTPS: connected and wrapped in TLS (its server name is still the host's)
            self.sock = _DeadlineSocket(self.sock, deadline)

    return DeadlineConnection


def _connect_within(address: tuple[str, int], deadline: float, source: Any = None) -> socket.socket:
    """`socket.create_connection(address)` with the host name looked up before `deadline` too: the system's lookup
    takes no timeout (an unreachable DNS server holds it for tens of seconds), so it runs in a thread left behind."""
    host, port = address
    found: list[Any] = []

    def look_up() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as error:
            found.append(error)

    lookup = threading.Thread(target=look_up, name=f"lookup {host}", daemon=True)
    lookup.start()
    lookup.join(max(deadline - time.monotonic(), 0))
    if not found:
        raise TimeoutError("timed out")
    if isinstance(found[0], OSError):
        raise found[0]
    error: OSError = OSError(f"no address for {host}")
    for *_, sockaddr in found[0]:  # each address in turn, as socket.create_connection does
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        try:
            return socket.create_connection(sockaddr[:2], left, source)
        except OSError as failed:
            error = failed
    raise error


class _KeepsDeadline:
    """Mixin for urllib's http:// and https:// handlers: their connections keep `deadline`."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def do_open(self, http_class: type, req: urllib.request.Request, **http_conn_args: Any) -> Any:
        return super().do_open(_deadline_connection(http_class, self._deadline), req, **http_conn_args)  # type: ignore[misc]


class _DeadlineHTTPHandler(_KeepsDeadline, urllib.request.HTTPHandler):
    """urllib's http:// handler, its connections keeping the deadline."""


class _DeadlineHTTPSHandler(_KeepsDeadline, urllib.request.HTTPSHandler):
    """urllib's https:// handler, its connections keeping the deadline."""


def data_uri_bytes(uri: str, name: str) -> bytes:
    """The bytes of a `data:image/...;base64,...` URI (what a browser canvas or deepface's callers pass)."""
    header, comma, payload = uri.partition(",")
    if not comma or not header.endswith(";base64"):
        raise ImageInputError(f"{name}: a data URI must be base64-encoded (data:image/png;base64,...)")
    payload = "".join(payload.split())  # line breaks, as the `base64` tool and e-mail wrap it
    try:
        if "-" in payload or "_" in payload:  # the URL-safe alphabet
            return base64.b64decode(payload, altchars=b"-_", validate=True)
        return base64.b64decode(payload, validate=True)
    except binascii.Error as error:
        raise ImageInputError(f"{name}: the data URI is not valid base64 ({error})") from None


def decode_image_bytes(data: bytes, name: str) -> np.ndarray:
    """An encoded image (JPEG, PNG, WebP, ...) as BGR uint8; an `ImageInputError` naming it otherwise."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:
        raise _undecodable(data, name) from None
    if image is None:
        raise ImageInputError(f"{name}: not a readable image (unknown format, corrupt or empty)")
    return image


def read_image_file(path: Path) -> np.ndarray:
    """The image file as BGR uint8, or an `ImageInputError` naming the path."""
    path = path.expanduser()
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as error:  # a name the file system refuses, e.g. base64 text without its data: prefix
        shown = str(path) if len(str(path)) <= 80 else f"{str(path)[:60]}... ({len(str(path))} characters)"
        raise ImageInputError(
            f"not a file path ({error.strerror}): {shown}; image data as text is a data URI"
            " (data:image/jpeg;base64,...)"
        ) from None
    if not exists:
        raise ImageInputError(f"image file not found: {path}")
    if not is_file:
        raise ImageInputError(f"not a file: {path}")
    try:
        image = read_bgr(path)
    except OSError as error:
        raise ImageInputError(f"cannot read {path}: {error.strerror or error}") from None
    except cv2.error:
        raise _undecodable(path.read_bytes(), str(path)) from None
    if image is None:
        raise ImageInputError(f"not a readable image (unknown format, corrupt or empty): {path}")
    return image


def _undecodable(data: bytes, name: str) -> ImageInputError:
    """The error for an image OpenCV's decoder raised on: over its pixel limit (2**30) by the header, else corrupt."""
    size = encoded_image_size(data, name)  # raises itself for a header over Pillow's decompression-bomb limit
    stated = f" ({size[0]}x{size[1]} pixels)" if size is not None else ""
    return ImageInputError(f"{name}: OpenCV cannot decode the image{stated}: too large or corrupt")


def check_frame(frame: np.ndarray, name: str = "frame") -> np.ndarray:
    """A BGR uint8 frame as it is, a grayscale or BGRA one converted; anything else is an `ImageInputError`."""
    if frame.dtype != np.uint8:
        raise ImageInputError(f"{name}: expected dtype uint8 (0..255), got {frame.dtype}")
    if frame.size == 0:
        raise ImageInputError(f"{name}: the image is empty (shape {frame.shape})")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_GRAY2BGR)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGRA2BGR)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ImageInputError(
            f"{name}: expected shape (H, W, 3) BGR, (H, W, 4) BGRA or (H, W) grayscale, got {frame.shape}"
        )
    return np.ascontiguousarray(frame)
