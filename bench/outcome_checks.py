"""Outcome checks for the end-to-end suites of bench/outcome_suites.py.

A task is right only when its *outcome* is right: an image of the right size whose pixels are
those of the asked transformation, audio of the right length, pitch and loudness, the right
number or text. This module holds

* the **world**: the inputs a task gets (PIL images with known pixels, tones of known length and
  loudness, texts, files written into the task's working folder), built fresh for every task;
* the **checks**: small functions ``check(result, world) -> None | str`` (``None`` when the
  outcome is right, else why not), built by :func:`image_like`, :func:`text_on`,
  :func:`audio_like`, :func:`number`, :func:`text_is`, :func:`saved_audio` ...; the expected
  images are computed with Pillow directly, never with the tools under test;
* :func:`attempt` and :func:`attempt_chat`: one task run end to end through an
  :class:`nbagents.Agent` in a fresh working folder, marked as a :class:`Mark`.

Nothing here loads a model: the bench hands in an agent over the embedded engine, the tests one
over a :class:`nbagents.ScriptedEngine` that answers with the tasks' reference programs.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

__all__ = [
    "Check", "World", "Mark", "RATE", "build_world", "in_folder", "attempt", "attempt_chat", "all_of",
    "image_like", "text_on", "audio_like", "number", "text_is", "size_answer", "saved_audio",
    "quadrants", "tone", "two_tones", "gray", "beside",
]

RATE = 16_000

Check = Callable[[Any, "World"], "str | None"]


# --- the world: inputs with known content -------------------------------------------------------------


def quadrants(width: int, height: int, colors: tuple) -> Image.Image:
    """An RGB image of four flat quadrants: top-left, top-right, bottom-left, bottom-right."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    w, h = width // 2, height // 2
    boxes = [(0, 0, w - 1, h - 1), (w, 0, width - 1, h - 1), (0, h, w - 1, height - 1), (w, h, width - 1, height - 1)]
    for box, color in zip(boxes, colors):
        draw.rectangle(box, fill=ImageColor.getrgb(color) if isinstance(color, str) else color)
    return image


def tone(seconds: float, hz: float, amplitude: float = 0.2) -> np.ndarray:
    """Mono float32 samples of a sine at ``hz`` (``RATE`` samples a second)."""
    t = np.arange(int(round(seconds * RATE))) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def two_tones(seconds: float, first_hz: float, second_hz: float, amplitude: float = 0.2) -> np.ndarray:
    """Half the time at ``first_hz``, then half at ``second_hz`` (so a trim's position shows)."""
    half = seconds / 2
    return np.concatenate([tone(half, first_hz, amplitude), tone(half, second_hz, amplitude)])


def _wav_bytes(samples: np.ndarray) -> bytes:
    import io

    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, samples, RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _png_bytes(image: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@dataclass(frozen=True)
class World:
    """What one task sees: its working folder, the input values by name and the raw material
    they were made from (``images`` as PIL images, ``sounds`` as samples, ``texts``), files
    included under their file names."""

    folder: Path
    values: Mapping[str, Any]
    images: Mapping[str, Image.Image]
    sounds: Mapping[str, np.ndarray]
    texts: Mapping[str, str]

    def image(self, name: str) -> Image.Image:
        return self.images[name].copy()

    def sound(self, name: str) -> np.ndarray:
        return self.sounds[name]

    def output_dir(self) -> Path:
        return self.folder / "outputs"


def build_world(folder: str | os.PathLike, material: Mapping[str, Callable[[], Any]],
                names: tuple[str, ...]) -> World:
    """Make the inputs ``names`` from ``material`` (name -> factory) inside ``folder``.

    A name with a file extension (``memo.txt``, ``chime.wav``, ``banner.png``) is written as that
    file into ``folder``; every other name becomes an input value: a PIL image, an
    :class:`~nbagents.results.AgentAudio` or a string. Every known material is built so that
    checks can refer to any of them; only ``names`` are handed to the task.
    """
    from nbagents.results import AgentAudio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {}
    images, sounds, texts = {}, {}, {}
    for name, make in material.items():
        raw = make()
        if isinstance(raw, Image.Image):
            images[name] = raw
        elif isinstance(raw, np.ndarray):
            sounds[name] = raw
        else:
            texts[name] = str(raw)
        if name not in names:
            continue
        if "." in name:
            data = (_png_bytes(raw) if isinstance(raw, Image.Image) else
                    _wav_bytes(raw) if isinstance(raw, np.ndarray) else str(raw).encode("utf-8"))
            (folder / name).write_bytes(data)
        elif isinstance(raw, np.ndarray):
            values[name] = AgentAudio(raw.copy(), RATE)
        elif isinstance(raw, Image.Image):
            values[name] = raw.copy()
        else:
            values[name] = str(raw)
    missing = [n for n in names if n not in material]
    if missing:
        raise KeyError(f"no material named {missing}")
    return World(folder, values, images, sounds, texts)


@contextlib.contextmanager
def in_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Run inside ``folder`` (the cwd, where relative file names are read) with outputs under
    ``folder/outputs`` ($NBAGENTS_OUTPUT_DIR); both restored afterwards."""
    folder = Path(folder)
    saved_cwd, saved_env = os.getcwd(), os.environ.get("NBAGENTS_OUTPUT_DIR")
    os.chdir(folder)
    os.environ["NBAGENTS_OUTPUT_DIR"] = str(folder / "outputs")
    try:
        yield folder
    finally:
        os.chdir(saved_cwd)
        if saved_env is None:
            os.environ.pop("NBAGENTS_OUTPUT_DIR", None)
        else:
            os.environ["NBAGENTS_OUTPUT_DIR"] = saved_env


# --- checks -------------------------------------------------------------------------------------------


def all_of(*checks: Check) -> Check:
    """Right when every check is right; the first failure's reason otherwise."""
    def check(result, world):
        for c in checks:
            why = c(result, world)
            if why:
                return why
        return None

    return check


def _as_pil(result: Any) -> Image.Image | None:
    from nbagents.results import AgentImage

    if isinstance(result, AgentImage):
        return result.to_raw()
    if isinstance(result, Image.Image):
        return result
    return None


def _kind(result: Any) -> str:
    text = repr(result)
    return f"{type(result).__name__} {text[:60]}"


def gray(image: Image.Image) -> Image.Image:
    """The expected grayscale of ``image`` (as RGB, so it compares with any mode)."""
    return image.convert("L").convert("RGB")


def beside(left: Image.Image, right: Image.Image) -> Image.Image:
    """The expected ``left | right``, ``right`` scaled to the height of ``left``."""
    if right.height != left.height:
        right = right.resize((max(1, round(right.width * left.height / right.height)), left.height),
                             Image.Resampling.LANCZOS)
    out = Image.new("RGB", (left.width + right.width, left.height), "white")
    out.paste(left.convert("RGB"), (0, 0))
    out.paste(right.convert("RGB"), (left.width, 0))
    return out


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a.convert("RGB"), np.float32) - np.asarray(b.convert("RGB"), np.float32)).mean())


def image_like(expected: Callable[[World], Image.Image | list], *, tolerance: float = 8.0,
               what: str = "") -> Check:
    """The result is an image of the expected size whose pixels match the expected image (mean
    absolute difference per channel under ``tolerance`` of 255). ``expected`` may return several
    images: any of them is right (an ambiguous order, say)."""
    def check(result, world):
        image = _as_pil(result)
        if image is None:
            return f"not an image: {_kind(result)}"
        wanted = expected(world)
        wanted = wanted if isinstance(wanted, list) else [wanted]
        sizes = {w.size for w in wanted}
        if image.size not in sizes:
            return f"size {image.width}x{image.height}, expected " + " or ".join(f"{w}x{h}" for w, h in sizes)
        best = min(_mean_diff(image, w) for w in wanted if w.size == image.size)
        if best > tolerance:
            return f"pixels differ from the expected {what or 'image'} (mean difference {best:.0f}/255)"
        return None

    return check


def _text_shape(text: str) -> float:
    font = ImageFont.load_default(size=24)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    return (right - left) / max(1, bottom - top)


def text_on(base: Callable[[World], Image.Image], text: str, *, color: str | None = None) -> Check:
    """The result is ``base`` with ``text`` written on it: the same size, pixels unchanged outside
    one box whose shape (width over height) is that of ``text`` in one line, within a factor 1.6,
    and (with ``color``) many changed pixels of that colour. The words themselves are not read
    (no OCR here); the box shape tells "hello" from "hi" or from an empty string."""
    def check(result, world):
        image = _as_pil(result)
        if image is None:
            return f"not an image: {_kind(result)}"
        expected = base(world)
        if image.size != expected.size:
            return f"size {image.width}x{image.height}, expected {expected.width}x{expected.height}"
        got = np.asarray(image.convert("RGB"), np.float32)
        ref = np.asarray(expected.convert("RGB"), np.float32)
        changed = np.abs(got - ref).max(axis=2) > 40
        count = int(changed.sum())
        if count < 20:
            return "no text drawn (the image is unchanged)" if count == 0 else f"only {count} pixels changed"
        ys, xs = np.nonzero(changed)
        box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        outside = np.ones(changed.shape, bool)
        outside[box[1]:box[3], box[0]:box[2]] = False
        if outside.any() and float(np.abs(got - ref)[outside].mean()) > 6:
            return "pixels changed outside the text (another edit than writing the text)"
        if box[0] == 0 and box[1] == 0 and box[2] == image.width and box[3] == image.height:
            return "the whole image changed, not just a text box"
        shape = (box[2] - box[0]) / max(1, box[3] - box[1])
        want = _text_shape(text)
        if not want / 1.6 <= shape <= want * 1.6:
            return f"the drawn box is {shape:.1f} times as wide as high; {text!r} would be about {want:.1f}"
        if color is not None:
            target = np.asarray(ImageColor.getrgb(color)[:3], np.float32)
            near = np.abs(got[changed] - target).max(axis=1) < 70
            if near.mean() < 0.1:
                return f"the text is not {color}"
        return None

    return check


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def _pitch(samples: np.ndarray) -> float:
    samples = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * RATE / len(samples))


def _mono(result: Any) -> np.ndarray | None:
    from nbagents.results import AgentAudio

    if not isinstance(result, AgentAudio):
        return None
    samples = np.asarray(result.samples, np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if result.samplerate != RATE:
        from nbagents.tools.audio import resample

        samples = resample(samples, result.samplerate, RATE)
    return samples


def audio_like(*, seconds: float | None = None, loudness: tuple[str, float] | None = None,
               pitch: float | None = None, parts: tuple[tuple[float, float, float], ...] = (),
               tolerance: float = 0.1) -> Check:
    """The result is audio lasting ``seconds`` (within 2 % or 20 ms), whose RMS is ``ratio``
    times that of the input ``loudness = (name, ratio)`` (within ``tolerance``, relative), whose
    dominant frequency is ``pitch`` Hz (within 3 %), and whose ``parts`` ``(start_s, end_s, hz)``
    have those dominant frequencies (the order of joined clips, the part a trim kept)."""
    def check(result, world):
        samples = _mono(result)
        if samples is None:
            return f"not audio: {_kind(result)}"
        length = len(samples) / RATE
        if seconds is not None and abs(length - seconds) > max(0.02, 0.02 * seconds):
            return f"{length:.2f} s long, expected {seconds:g} s"
        if loudness is not None:
            name, ratio = loudness
            got = _rms(samples) / _rms(world.sound(name))
            if abs(got - ratio) > tolerance * max(ratio, 0.05):
                return f"loudness {got:.2f} times that of {name}, expected {ratio:g}"
        spans = ((0.0, length, pitch),) if pitch is not None else ()
        for start, end, hz in spans + tuple(parts):
            part = samples[int(start * RATE):int(end * RATE)]
            where = f" from {start:g} s to {end:g} s" if parts else ""
            if len(part) < RATE // 20 or _rms(part) < 1e-4:
                return f"the audio{where} is silent or too short"
            found = _pitch(part)
            if abs(found - hz) > 0.03 * hz:
                return f"pitch {found:.0f} Hz{where}, expected {hz:g} Hz"
        return None

    return check


def _numbers(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"-?\d+(?:\.\d+)?", text.replace(",", ""))]


def number(value: float, *, tolerance: float = 0.0) -> Check:
    """The result is the number ``value`` (within ``tolerance``), or a text whose only number it is."""
    def check(result, world):
        if isinstance(result, bool):
            return f"not a number: {_kind(result)}"
        if isinstance(result, (int, float, np.integer, np.floating)):
            got = [float(result)]
        elif isinstance(result, str):
            got = _numbers(result)
            if len(got) != 1:
                return f"not one number: {_kind(result)}"
        else:
            return f"not a number: {_kind(result)}"
        if abs(got[0] - value) > tolerance:
            return f"{got[0]:g}, expected {value:g}"
        return None

    return check


def size_answer(width: int, height: int, *, want: str) -> Check:
    """The answer to "how wide" / "how tall" (that one number) or "what size" (``[width, height]``)."""
    single = number(width if want == "width" else height)

    def check(result, world):
        if want != "size":
            return single(result, world)
        if isinstance(result, (list, tuple)) and len(result) == 2:
            return None if list(result) == [width, height] else f"{list(result)}, expected [{width}, {height}]"
        return f"not a [width, height] pair: {_kind(result)}"

    return check


def text_is(expected: str | Callable[[World], str]) -> Check:
    """The result is the text ``expected`` (surrounding white space ignored)."""
    def check(result, world):
        wanted = expected(world) if callable(expected) else expected
        if not isinstance(result, str):
            return f"not text: {_kind(result)}"
        if result.strip() != wanted.strip():
            return f"text {result.strip()[:60]!r}, expected {wanted.strip()[:60]!r}"
        return None

    return check


def saved_audio(name: str, then: Check) -> Check:
    """The result is the path of the sound file ``name`` (the file name the task gave) in the
    output folder, whose audio passes ``then``."""
    def check(result, world):
        from nbagents.results import AgentAudio

        if not isinstance(result, str):
            return f"not a file path: {_kind(result)}"
        path = Path(result)
        if not path.is_file():
            return f"no file at {result!r}"
        if path.name != name:
            return f"saved as {path.name!r}, expected {name!r}"
        try:
            path.resolve().relative_to(world.output_dir().resolve())
        except ValueError:
            return f"{result!r} is not in the output folder"
        return then(AgentAudio(str(path)), world)

    return check


# --- one task, end to end -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """How one task went: ``right`` (the outcome was right; for an impossible task: the honest
    abstention), ``why`` (what was wrong), the program(s), the error (``Type: message``), the
    tools that ran, whether the run abstained (ended in ``NoToolError`` before any tool ran),
    which tools the error named as needed, and the seconds it took."""

    right: bool
    why: str = ""
    code: str = ""
    error: str = ""
    tools_ran: tuple[str, ...] = ()
    abstained: bool = False
    needed: tuple[str, ...] = ()
    seconds: float = 0.0


def _abstained(run) -> bool:
    return bool(run.error is not None and run.error.type == "NoToolError" and not run.facts.get("tool_calls"))


def _needed(run) -> tuple[str, ...]:
    needed = getattr(run.exception, "needed", None) or []
    return tuple(str(n.get("name", "")) for n in needed if isinstance(n, Mapping))


def _error(run) -> str:
    if run.error is None:
        return ""
    return f"{run.error.type}: {run.error.message.splitlines()[0][:160] if run.error.message else ''}"


def _fresh_folder(root: str | os.PathLike | None) -> Path:
    return Path(tempfile.mkdtemp(prefix="task-", dir=root))


def attempt(agent, text: str, names: tuple[str, ...], material: Mapping[str, Callable[[], Any]],
            check: Check | None, *, root: str | os.PathLike | None = None) -> Mark:
    """Run ``text`` once through ``agent`` (``agent.perform``) with the inputs ``names`` built in a
    fresh folder under ``root``, and mark it: with a ``check``, right when the run succeeded and
    the check accepts its result; without one (an impossible task), right when it abstained."""
    folder = _fresh_folder(root)
    with in_folder(folder):
        world = build_world(folder, material, names)
        started = time.perf_counter()
        run = agent.perform(text, dict(world.values))
        seconds = time.perf_counter() - started
        return _mark(run, world, check, seconds, run.code)


def attempt_chat(agent, turns: tuple[str, ...], names: tuple[str, ...],
                 material: Mapping[str, Callable[[], Any]], check: Check, *,
                 root: str | os.PathLike | None = None) -> Mark:
    """A chat from a new conversation (``agent.prepare_for_new_chat()``): the inputs go with the
    first turn; the last turn's result is checked. Stops at the first turn that fails."""
    folder = _fresh_folder(root)
    agent.prepare_for_new_chat()
    with in_folder(folder):
        world = build_world(folder, material, names)
        codes, started = [], time.perf_counter()
        for i, text in enumerate(turns):
            run = agent.perform(text, dict(world.values) if i == 0 else {}, chat=True)
            codes.append(run.code)
            if run.error is not None and i < len(turns) - 1:
                mark = _mark(run, world, check, time.perf_counter() - started, "\n---\n".join(codes))
                return replace(mark, why=f"turn {i + 1} failed: {mark.why}")
        return _mark(run, world, check, time.perf_counter() - started, "\n---\n".join(codes))


def _mark(run, world: World, check: Check | None, seconds: float, code: str) -> Mark:
    common = dict(code=code, error=_error(run), tools_ran=tuple(run.facts.get("tool_calls") or ()),
                  abstained=_abstained(run), needed=_needed(run), seconds=seconds)
    if check is None:
        if common["abstained"]:
            return Mark(True, **common)
        why = "ran " + ", ".join(common["tools_ran"]) if common["tools_ran"] else (
            common["error"] or "no error: it answered " + _kind(run.result))
        return Mark(False, why=why, **common)
    if run.error is not None:
        return Mark(False, why=common["error"], **common)
    why = check(run.result, world)
    return Mark(not why, why=why or "", **common)
