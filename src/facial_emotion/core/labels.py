"""The seven FER2013 emotion classes, in label order."""

EMOTIONS: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(EMOTIONS)


def emotion_index(name: str) -> int:
    """Map an emotion name (case-insensitive) to its label, with a clear error for unknown names."""
    lowered = [e.lower() for e in EMOTIONS]
    if name.lower() not in lowered:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}")
    return lowered.index(name.lower())
