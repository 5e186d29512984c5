"""Image tools that need no model (Pillow only).

Every tool takes images as PIL images (the agent passes ``AgentImage`` values, unwrapped by
:class:`~nbagents.tools.base.Tool`), and also accepts a file path, encoded bytes or an array, so a
small model that writes ``rotate_image(image="photo.png", degrees=90)`` still gets a result.
Sizes are bounded so a wrong number cannot ask for a 100 000-pixel-wide canvas.
"""

from __future__ import annotations

import io
import os
from typing import Any, Literal

from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from ..errors import ToolError
from ..results import AgentImage
from .base import Tool
from .builtin import builtin_tool
from .text import readable_path

__all__ = [
    "FUNCTIONS",
    "MAX_SIDE",
    "as_image",
    "load_image",
    "resize_image",
    "crop_image",
    "rotate_image",
    "flip_image",
    "grayscale_image",
    "draw_text",
    "side_by_side",
    "thumbnail",
    "make_image",
    "image_size",
    "image_tools",
]

MAX_SIDE = 8192
MAX_IMAGE_BYTES = 50_000_000


def as_image(value: Any, name: str = "image") -> Image.Image:
    """A PIL image from a PIL image, an ``AgentImage``, a file path, encoded bytes or an array."""
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, AgentImage):
        return value.to_raw()
    if isinstance(value, (str, os.PathLike)):
        return load_image(value)
    if isinstance(value, (bytes, bytearray)):
        return _open(io.BytesIO(bytes(value)), "the bytes given")
    if hasattr(value, "shape") or isinstance(value, list):
        return AgentImage(value).to_raw()
    raise ToolError(f"`{name}` must be an image, got {type(value).__name__}.")


def _open(source: Any, label: str) -> Image.Image:
    try:
        image = Image.open(source)
        image.load()
    except (OSError, Image.DecompressionBombError) as e:
        raise ToolError(f"Cannot read an image from {label}: {e}") from e
    return image


def _side(value: Any, name: str) -> int:
    try:
        n = int(round(float(value)))
    except (TypeError, ValueError) as e:
        raise ToolError(f"`{name}` must be a number of pixels, got {value!r}.") from e
    if not 1 <= n <= MAX_SIDE:
        raise ToolError(f"`{name}` must be between 1 and {MAX_SIDE} pixels, got {n}.")
    return n


def _color(value: Any, mode: str) -> Any:
    try:
        return ImageColor.getcolor(str(value), mode)
    except ValueError as e:
        raise ToolError(f"Unknown color {value!r}.", hint="Use a name like 'red' or a code like '#ff8800'.") from e


def load_image(path: str) -> Image.Image:
    """Open the image file at `path`."""
    resolved = readable_path(path, max_bytes=MAX_IMAGE_BYTES, what="image file")
    image = _open(resolved, repr(str(path)))
    return ImageOps.exif_transpose(image) or image


def resize_image(image: Image.Image, width: int, height: int | None = None) -> Image.Image:
    """Resize `image` to `width` x `height` pixels.

    With no `height`, the height follows from the width so the proportions stay the same.
    """
    image = as_image(image)
    width = _side(width, "width")
    if height is None:
        height = max(1, round(image.height * width / image.width))
    height = _side(height, "height")
    return image.resize((width, height), Image.Resampling.LANCZOS)


def crop_image(image: Image.Image, left: int, top: int, right: int, bottom: int) -> Image.Image:
    """Cut a box out of `image`.

    The box goes from (`left`, `top`) to (`right`, `bottom`); coordinates are pixels from the top-left corner; the box is clipped to the image.
    """
    image = as_image(image)
    box = [int(round(float(v))) for v in (left, top, right, bottom)]
    box = [min(max(box[0], 0), image.width), min(max(box[1], 0), image.height),
           min(max(box[2], 0), image.width), min(max(box[3], 0), image.height)]
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ToolError(
            f"The box left={left}, top={top}, right={right}, bottom={bottom} is empty inside the "
            f"{image.width}x{image.height} image.", hint="right must be larger than left, bottom larger than top.")
    return image.crop(tuple(box))


def rotate_image(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate `image` counter-clockwise by `degrees`.

    Use -90 to turn clockwise. The canvas grows to hold the whole rotated image; new corners are black (transparent with alpha).
    """
    image = as_image(image)
    degrees = float(degrees) % 360
    exact = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    if degrees == 0:
        return image.copy()
    if degrees in exact:
        return image.transpose(exact[int(degrees)])
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)


def flip_image(image: Image.Image, direction: Literal["horizontal", "vertical"] = "horizontal") -> Image.Image:
    """Mirror `image` left to right, or upside down (vertical).

    Horizontal swaps left and right; vertical turns it upside down.
    """
    image = as_image(image)
    d = str(direction).strip().lower()
    if d in ("horizontal", "horizontally", "h", "left-right", "x", "mirror"):
        return ImageOps.mirror(image)
    if d in ("vertical", "vertically", "v", "up-down", "upside down", "y"):
        return ImageOps.flip(image)
    raise ToolError(f"direction must be 'horizontal' or 'vertical', got {direction!r}.")


def grayscale_image(image: Image.Image) -> Image.Image:
    """Make `image` grayscale (black and white)."""
    image = as_image(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        return image.convert("LA")
    return image.convert("L")


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size bitmap font
        return ImageFont.load_default()


def draw_text(image: Image.Image, text: str, x: int = 10, y: int = 10, color: str = "white",
              size: int = 24) -> Image.Image:
    """Write the words `text` onto `image` at `x`, `y`.

    `x`, `y` is the top-left corner of the text in pixels; `color` a name or #rrggbb; `size` is the font height in pixels (Pillow's built-in font); the input image is not changed.
    """
    image = as_image(image)
    if image.mode in ("RGB", "RGBA", "L"):
        out = image.copy()
    else:
        out = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    size = min(max(int(size), 4), 1000)
    ImageDraw.Draw(out).text((int(x), int(y)), str(text), fill=_color(color, out.mode), font=_font(size))
    return out


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    """Put `left` and `right` next to each other.

    The result is one image; `right` is scaled to the height of `left`, keeping its proportions.
    """
    left, right = as_image(left, "left"), as_image(right, "right")
    if right.height != left.height:
        width = max(1, round(right.width * left.height / right.height))
        right = right.resize((min(width, MAX_SIDE), left.height), Image.Resampling.LANCZOS)
    alpha = any("A" in im.getbands() for im in (left, right))
    mode = "RGBA" if alpha else ("L" if left.mode == right.mode == "L" else "RGB")
    if left.width + right.width > 2 * MAX_SIDE:
        raise ToolError("The combined image would be too wide.")
    canvas = Image.new(mode, (left.width + right.width, left.height), (0, 0, 0, 0) if alpha else "white")
    canvas.paste(left.convert(mode), (0, 0))
    canvas.paste(right.convert(mode), (left.width, 0))
    return canvas


def thumbnail(image: Image.Image, size: int = 128) -> Image.Image:
    """Shrink `image` to fit a `size` x `size` square.

    The proportions are kept; a smaller image is left as it is.
    """
    out = as_image(image).copy()
    side = _side(size, "size")
    out.thumbnail((side, side), Image.Resampling.LANCZOS)
    return out


def make_image(width: int, height: int, color: str = "white") -> Image.Image:
    """Make a blank `width` x `height` image of one `color`.

    `color` is a name or #rrggbb.
    """
    width, height = _side(width, "width"), _side(height, "height")
    return Image.new("RGB", (width, height), _color(color, "RGB"))


def image_size(image: Image.Image) -> list:
    """The [width, height] of `image` in pixels."""
    image = as_image(image)
    return [image.width, image.height]


# the tool functions of this module, in the order the toolbox lists them
FUNCTIONS = (load_image, resize_image, crop_image, rotate_image, flip_image, grayscale_image,
              draw_text, side_by_side, thumbnail, make_image, image_size)


def image_tools() -> list[Tool]:
    """Fresh instances of the image tools."""
    return [builtin_tool(f) for f in FUNCTIONS]
