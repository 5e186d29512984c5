"""Agent types: the values an agent returns and tools pass to each other.

``AgentText`` is a ``str``; ``AgentImage`` holds a PIL image and renders as PNG; ``AgentAudio``
holds samples and a sample rate and renders as an HTML ``<audio>`` element with WAV data;
``AgentTable`` holds a pandas DataFrame and renders as an HTML table. Each has ``to_raw()`` (the
plain object) and ``to_string()`` (text, or a file path for media written to the output folder).
Rendering goes through ``_repr_mimebundle_``, so it works in JupyterLab, Notebook 7, VS Code and
nbconvert. PIL, soundfile and pandas are imported only when media or tables are used.
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
from .errors import TableFileError, ToolError
from .kinds import kind_named, kind_of

__all__ = [
    "AgentType",
    "AgentText",
    "AgentImage",
    "AgentAudio",
    "AgentTable",
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


def _pandas():
    return require("pandas", extra="all", purpose="Table results")


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


#: File extension -> how pandas reads it (``AgentTable.from_file``); anything else is read as CSV.
_READERS = {
    ".csv": ("read_csv", {}),
    ".tsv": ("read_csv", {"sep": "\t"}),
    ".tab": ("read_csv", {"sep": "\t"}),
    ".parquet": ("read_parquet", {}),
    ".pq": ("read_parquet", {}),
    ".xlsx": ("read_excel", {}),
    ".xls": ("read_excel", {}),
    ".json": ("read_json", {}),
    ".jsonl": ("read_json", {"lines": True}),
}
#: The package each reader needs beyond pandas (for the missing-dependency message).
_READER_PACKAGES = {"read_parquet": ("pyarrow", "pyarrow"), "read_excel": ("openpyxl", "openpyxl")}


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "…"


class AgentTable(AgentType):
    """A table result: a pandas DataFrame.

    Parameters
    ----------
    value:
        A DataFrame, a Series (one column), a list of dicts (one per row) or of lists, a dict of
        columns (or of one row's values), an object with ``to_pandas()`` (polars, pyarrow), or the
        path of a table file (CSV, TSV, Parquet, Excel, JSON; see :meth:`from_file`).
    note:
        A sentence shown with the table (why it is empty, what was cut).

    Tables of up to :attr:`SHOW_ROWS` rows render whole; longer ones show their first and last
    :attr:`EDGE_ROWS` rows, always with the shape.
    """

    kind = "table"
    #: Render the whole table up to this many rows.
    SHOW_ROWS = 20
    #: Rows shown from each end of a longer table.
    EDGE_ROWS = 5
    #: Columns shown before the middle ones are elided.
    SHOW_COLUMNS = 20

    def __init__(self, value: Any, *, note: str = "") -> None:
        self._path: Path | None = None
        self.note = note
        if isinstance(value, AgentTable):
            self._frame, self._path, self.note = value._frame, value._path, note or value.note
            return
        pd = _pandas()
        if isinstance(value, (str, os.PathLike)):
            self._frame = self.from_file(value).to_raw()
            self._path = Path(value) if Path(value).suffix.lower() == ".csv" else None
        elif isinstance(value, pd.DataFrame):
            self._frame = value
        elif isinstance(value, pd.Series):
            self._frame = value.to_frame(value.name if value.name is not None else "value")
        elif hasattr(value, "to_pandas") and callable(value.to_pandas):
            self._frame = AgentTable(value.to_pandas()).to_raw()
        elif isinstance(value, dict):
            try:
                self._frame = pd.DataFrame(value)
            except ValueError:  # all scalars: one row
                self._frame = pd.DataFrame([value])
        elif isinstance(value, (list, tuple)):
            self._frame = pd.DataFrame(list(value))
        else:
            raise ToolError(f"Cannot make a table from a {type(value).__name__}.",
                            hint="Pass a DataFrame, a Series, a list of dicts, a dict of columns or a table file.")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> AgentTable:
        """Read a table file by its extension: ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx``/``.xls``,
        ``.json`` (records or columns) or ``.jsonl``; other extensions are read as CSV.

        Raises :class:`~nbagents.errors.TableFileError` when there is no file or pandas cannot read
        it as a table (with what pandas said)."""
        pd = _pandas()
        path = Path(path)
        if not path.is_file():
            raise TableFileError(f"No table file at {str(path)!r}.", hint=f"The working directory is {os.getcwd()}.")
        reader, options = _READERS.get(path.suffix.lower(), ("read_csv", {}))
        if reader in _READER_PACKAGES:
            module, package = _READER_PACKAGES[reader]
            require(module, extra="tables", purpose=f"Reading {path.suffix} tables", package=package)
        try:
            frame = getattr(pd, reader)(path, **options)
        except ImportError as e:  # an engine pandas needs for this format (xlrd for .xls)
            raise TableFileError(f"Reading {path.suffix} tables needs a package that is not installed: {_short(e)}",
                                 hint="Install the package named, or save the table as CSV.") from e
        except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise TableFileError(f"{path.name!r} is not a table pandas can read as {path.suffix or 'CSV'}: {_short(e)}",
                                 hint="Check that the file is a table of that format, or give it the right extension.") from e
        except Exception as e:  # noqa: BLE001 - parquet/excel engines raise their own types
            raise TableFileError(f"{path.name!r} is not a table pandas can read: {type(e).__name__}: {_short(e)}",
                                 hint="Check that the file is a table of that format, or give it the right extension.") from e
        if isinstance(frame, pd.Series):
            frame = frame.to_frame()
        return cls(frame)

    def to_raw(self):
        """The DataFrame."""
        return self._frame

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        rows, columns = self._frame.shape
        return int(rows), int(columns)

    @property
    def columns(self) -> list[str]:
        """The column names, as strings."""
        return [str(c) for c in self._frame.columns]

    def __len__(self) -> int:
        return self.shape[0]

    def to_string(self) -> str:
        """A path to a CSV file holding the table (written to the output folder)."""
        if self._path is None:
            path = _new_path(".csv")
            self._frame.to_csv(path, index=not _plain_index(self._frame))
            self._path = path
        return str(self._path)

    def shape_text(self) -> str:
        rows, columns = self.shape
        return f"{rows} row{'s' * (rows != 1)} × {columns} column{'s' * (columns != 1)}"

    def summary(self) -> str:
        names = self.columns
        shown = ", ".join(names[:8]) + (f", … {len(names) - 8} more" if len(names) > 8 else "")
        text = f"table {self.shape_text()}" + (f" ({shown})" if names else "")
        return f"{text}. {self.note}" if self.note else text

    def _options(self) -> dict:
        rows = self.shape[0]
        long = rows > self.SHOW_ROWS
        return {"max_rows": 2 * self.EDGE_ROWS if long else None, "min_rows": 2 * self.EDGE_ROWS if long else None,
                "max_cols": self.SHOW_COLUMNS, "index": not _plain_index(self._frame)}

    def _caption(self) -> str:
        rows = self.shape[0]
        text = self.shape_text()
        if rows > self.SHOW_ROWS:
            text += f"; the first and last {self.EDGE_ROWS} rows shown"
        return text

    def _repr_html_(self) -> str:
        import html as _html

        opts = self._options()
        table = self._frame.to_html(max_rows=opts["max_rows"], max_cols=opts["max_cols"],
                                    index=opts["index"], escape=True, border=0, classes="nbagents-table",
                                    show_dimensions=False)
        note = f"<p class='nbagents-table-note'>{_html.escape(self.note)}</p>" if self.note else ""
        return (f"<div class='nbagents-table'>{table}"
                f"<p class='nbagents-table-shape'>{_html.escape(self._caption())}</p>{note}</div>")

    def _plain_text(self) -> str:
        opts = self._options()
        body = self._frame.to_string(max_rows=opts["max_rows"], min_rows=opts["min_rows"],
                                     max_cols=opts["max_cols"], index=opts["index"], show_dimensions=False)
        return "\n".join(p for p in (body, f"[{self._caption()}]", self.note) if p)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_(), "text/plain": self._plain_text()}

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self._plain_text())

    def __repr__(self) -> str:
        return f"<AgentTable {self.summary()}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AgentTable):
            return bool(self._frame.equals(other._frame))
        return NotImplemented

    __hash__ = object.__hash__


def _plain_index(frame: Any) -> bool:
    """Whether the index is the default 0..n-1 (not worth showing or saving)."""
    index = frame.index
    return (type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1
            and index.name is None)


def wrap(value: Any, output_type: str | None = None) -> Any:
    """Wrap a plain value as an agent type where one fits (str → AgentText, PIL image → AgentImage).

    ``output_type`` (a tool's declared output) forces the type: ``"image"``, ``"audio"``, ``"text"``,
    ``"table"``; a DataFrame or Series becomes an ``AgentTable``.
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
    """The plain value a tool expects (agent types become str / PIL image / the AgentAudio /
    a DataFrame)."""
    if isinstance(value, AgentText):
        return str(value)
    if isinstance(value, AgentImage):
        return value.to_raw()
    if isinstance(value, AgentAudio):
        return value
    if isinstance(value, AgentTable):
        return value.to_raw()
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
            elif isinstance(v, (AgentAudio, AgentTable)):
                parts.append(v._repr_html_())
            else:
                parts.append(f"<p>{_html.escape(str(v))}</p>")
        return {"text/html": "<div class='nbagents-group'>" + "".join(parts) + "</div>",
                "text/plain": self.summary()}
