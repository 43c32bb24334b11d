"""The errors the API raises for bad input: one line that names the input and says what is wrong."""

from __future__ import annotations


class InputError(ValueError):
    """An image, frame or video the recognizer cannot use."""


class ImageInputError(InputError):
    """An unreadable path, a URL, bytes or data URI that give no image, or an array of the wrong dtype or shape."""


class VideoInputError(InputError):
    """A video file that is missing, empty or undecodable, or a camera or network stream that does not open."""
