"""A pickle that proves it was unpickled: the bad-input and hostile-file catalogues plant it in object arrays."""

from __future__ import annotations

from pathlib import Path


class Payload:
    """Unpickling this writes a marker file: proof that a loader ran pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "unpickled!"))
