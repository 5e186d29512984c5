"""Agent types: the values an agent returns and tools pass to each other.

``AgentText`` is a ``str``; ``AgentImage`` holds a PIL image and renders as PNG; ``AgentAudio``
holds samples and a sample rate and renders as an HTML ``<audio>`` element with WAV data. Each has
``to_raw()`` (the plain object) and ``to_string()`` (text, or a file path for media written to
the output folder). Rendering goes through ``_repr_mimebundle_``, so it works in JupyterLab,
Notebook 7, VS Code and nbconvert. PIL and soundfile are imported only when media is used.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from .deps import require
from .errors import ToolError
from .kinds import kind_named, kind_of

__all__ = [
    "AgentType",
    "AgentText",
    "AgentImage",
    "AgentAudio",
    "AgentGroup",
    "wrap",
    "unwrap",
    "output_dir",
]


def output_dir() -> Path:
    """Where media results are written by ``to_string()`` (``$NBAGENTS_OUTPUT_DIR`` or a temp dir)."""
    path = Path(os.environ.get("NBAGENTS_OUTPUT_DIR") or Path(tempfile.gettempdir()) / "nbagents-outputs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _new_path(suffix: str) -> Path:
    return output_dir() / f"{uuid.uuid4().hex[:12]}{suffix}"


def _pil():
    return require("PIL.Image", extra="all", purpose="Image results", package="pillow")


def _soundfile():
    return require("soundfile", extra="all", purpose="Audio results")


class AgentType:
    """Base of the agent types."""

    kind = "any"

    def to_raw(self) -> Any:
        raise NotImplementedError

    def to_string(self) -> str:
        raise NotImplementedError

    def summary(self) -> str:
        """A short text for history and metadata."""
        return self.to_string()


class AgentText(str, AgentType):
    """Text returned by an agent or a tool; behaves exactly as ``str``."""

    kind = "text"

    def to_raw(self) -> str:
        return str(self)

    def to_string(self) -> str:
        return str(self)

    def summary(self) -> str:
        s = str(self)
        return s if len(s) <= 500 else s[:500] + "…"

    def _repr_pretty_(self, printer, cycle) -> None:
        """Show the text itself (not a quoted repr) as a cell's result."""
        printer.text(str(self))


class AgentImage(AgentType):
    """An image result.

    Parameters
    ----------
    value:
        A PIL image, a path to an image file, encoded image bytes, a numpy array (HxW or HxWxC)
        or a torch tensor (CxHxW in [0, 1] or HxWxC).
    """

    kind = "image"

    def __init__(self, value: Any) -> None:
        self._image = None
        self._path: Path | None = None
        Image = _pil()
        if isinstance(value, AgentImage):
            self._image, self._path = value._image, value._path
        elif isinstance(value, Image.Image):
            self._image = value
        elif isinstance(value, (str, os.PathLike)):
            self._path = Path(value)
            if not self._path.is_file():
                raise ToolError(f"No image file at {str(value)!r}.")
        elif isinstance(value, (bytes, bytearray)):
            self._image = Image.open(io.BytesIO(bytes(value)))
            self._image.load()
        else:
            self._image = self._from_array(value)

    @staticmethod
    def _from_array(value: Any):
        import numpy as np

        Image = _pil()
        if type(value).__module__.startswith("torch"):
            value = value.detach().cpu().numpy()
            if value.ndim == 3 and value.shape[0] in (1, 3, 4):
                value = np.transpose(value, (1, 2, 0))
        arr = np.asarray(value)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.dtype.kind == "f":
            arr = (np.clip(arr, 0, 1) * 255).round().astype("uint8")
        if arr.ndim not in (2, 3):
            raise ToolError(f"Cannot make an image from an array of shape {arr.shape}.")
        return Image.fromarray(arr.astype("uint8"))

    def to_raw(self):
        """The PIL image."""
        if self._image is None:
            Image = _pil()
            self._image = Image.open(self._path)
            self._image.load()
        return self._image

    def to_string(self) -> str:
        """A path to a PNG file holding the image."""
        if self._path is None:
            self._path = _new_path(".png")
            self.to_raw().save(self._path, format="PNG")
        return str(self._path)

    def png_bytes(self) -> bytes:
        buf = io.BytesIO()
        image = self.to_raw()
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16"):
            image = image.convert("RGB")
        image.save(buf, format="PNG")
        return buf.getvalue()

    @property
    def size(self) -> tuple[int, int]:
        return self.to_raw().size

    def summary(self) -> str:
        w, h = self.size
        return f"image {w}x{h}"

    def _repr_png_(self) -> bytes:
        return self.png_bytes()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": self.png_bytes(), "text/plain": f"<AgentImage {self.summary()}>"}

    def __repr__(self) -> str:
        return f"<AgentImage {self.summary()}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AgentImage):
            return NotImplemented
        return self.to_raw().tobytes() == other.to_raw().tobytes() and self.size == other.size

    __hash__ = object.__hash__


class AgentAudio(AgentType):
    """An audio result: mono or multi-channel samples and a sample rate.

    Parameters
    ----------
    value:
        A numpy array / list / torch tensor of samples (with ``samplerate``), a ``(samples, rate)``
        tuple, a path to a sound file, or encoded sound-file bytes (WAV, FLAC, OGG).
    samplerate:
        Samples per second, when ``value`` is raw samples (default 16 000).
    """

    kind = "audio"

    def __init__(self, value: Any, samplerate: int | None = None) -> None:
        import numpy as np

        self._path: Path | None = None
        if isinstance(value, AgentAudio):
            self.samples, self.samplerate, self._path = value.samples, value.samplerate, value._path
            return
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
            value, samplerate = value
        if isinstance(value, (str, os.PathLike)):
            self._path = Path(value)
            data, rate = _soundfile().read(str(value), dtype="float32", always_2d=False)
            self.samples, self.samplerate = data, int(rate)
            return
        if isinstance(value, (bytes, bytearray)):
            data, rate = _soundfile().read(io.BytesIO(bytes(value)), dtype="float32", always_2d=False)
            self.samples, self.samplerate = data, int(rate)
            return
        if type(value).__module__.startswith("torch"):
            value = value.detach().cpu().float().numpy()
        self.samples = np.asarray(value, dtype="float32")
        if self.samples.ndim == 2 and self.samples.shape[0] < self.samples.shape[1] and self.samples.shape[0] <= 8:
            self.samples = self.samples.T  # channels-first -> frames x channels
        self.samplerate = int(samplerate or 16_000)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.samplerate if self.samplerate else 0.0

    def to_raw(self):
        """The samples as a float32 numpy array (frames, or frames x channels)."""
        return self.samples

    def wav_bytes(self) -> bytes:
        buf = io.BytesIO()
        _soundfile().write(buf, self.samples, self.samplerate, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    def to_string(self) -> str:
        """A path to a WAV file holding the audio."""
        if self._path is None or self._path.suffix.lower() != ".wav":
            self._path = _new_path(".wav")
            self._path.write_bytes(self.wav_bytes())
        return str(self._path)

    def summary(self) -> str:
        return f"audio {self.duration:.2f} s at {self.samplerate} Hz"

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.wav_bytes()).decode("ascii")
        return (
            f'<audio controls="controls" title="{self.summary()}">'
            f'<source src="data:audio/wav;base64,{data}" type="audio/wav" />'
            "Your browser does not support the audio element.</audio>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_(), "text/plain": f"<AgentAudio {self.summary()}>"}

    def __repr__(self) -> str:
        return f"<AgentAudio {self.summary()}>"


def wrap(value: Any, output_type: str | None = None) -> Any:
    """Wrap a plain value as an agent type where one fits (str → AgentText, PIL image → AgentImage).

    ``output_type`` (a tool's declared output) forces the type: ``"image"``, ``"audio"``, ``"text"``.
    Other values (numbers, lists, dicts, None) are returned unchanged. Which result class holds
    which kind of value is the kind registry's (:mod:`nbagents.kinds`).
    """
    if isinstance(value, AgentType) or value is None:
        return value
    declared = kind_named(output_type) if output_type else None
    cls = declared.result_class() if declared is not None else None
    if cls is AgentText:
        return AgentText(value) if isinstance(value, str) else value
    if cls is not None:
        return cls(value)
    found = kind_of(value)
    cls = found.result_class() if found is not None else None
    return cls(value) if cls is not None else value


def unwrap(value: Any) -> Any:
    """The plain value a tool expects (agent types become str / PIL image / (samples, rate))."""
    if isinstance(value, AgentText):
        return str(value)
    if isinstance(value, AgentImage):
        return value.to_raw()
    if isinstance(value, AgentAudio):
        return value
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


class AgentGroup(list, AgentType):
    """Several results shown together (plan mode: the response text and the media it refers to)."""

    kind = "group"

    def to_raw(self) -> list:
        return [v.to_raw() if isinstance(v, AgentType) else v for v in self]

    def to_string(self) -> str:
        return "\n".join(v.to_string() if isinstance(v, AgentType) else str(v) for v in self)

    def summary(self) -> str:
        return "; ".join(v.summary() if isinstance(v, AgentType) else repr(v)[:80] for v in self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        import html as _html

        parts = []
        for v in self:
            if isinstance(v, AgentImage):
                data = base64.b64encode(v.png_bytes()).decode("ascii")
                parts.append(f'<img src="data:image/png;base64,{data}" alt="{v.summary()}"/>')
            elif isinstance(v, AgentAudio):
                parts.append(v._repr_html_())
            else:
                parts.append(f"<p>{_html.escape(str(v))}</p>")
        return {"text/html": "<div class='nbagents-group'>" + "".join(parts) + "</div>",
                "text/plain": self.summary()}
