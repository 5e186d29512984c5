"""The image tools that need no model, on real images drawn with Pillow (pixel checks)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nbagents.errors import ToolError
from nbagents.results import AgentImage
from nbagents.tools import image as im

RED, BLUE, GREEN, WHITE, BLACK = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 255), (0, 0, 0)


def colors(img: Image.Image) -> set:
    """The distinct pixel values of an RGB image."""
    return {tuple(int(v) for v in p) for p in np.asarray(img.convert("RGB")).reshape(-1, 3)}


@pytest.fixture
def halves():
    """40x20: left half red, right half blue."""
    img = Image.new("RGB", (40, 20), RED)
    ImageDraw.Draw(img).rectangle([20, 0, 39, 19], fill=BLUE)
    return img


@pytest.fixture
def stripes():
    """30x60: top half green, bottom half white."""
    img = Image.new("RGB", (30, 60), WHITE)
    ImageDraw.Draw(img).rectangle([0, 0, 29, 29], fill=GREEN)
    return img


@pytest.fixture
def tools():
    return {t.name: t for t in im.image_tools()}


def test_load_image_from_path_bytes_and_agent_image(tmp_path, halves):
    path = tmp_path / "halves.png"
    halves.save(path)
    loaded = im.load_image(str(path))
    assert loaded.size == (40, 20)
    assert loaded.convert("RGB").getpixel((5, 5)) == RED
    assert loaded.convert("RGB").getpixel((35, 5)) == BLUE
    buf = io.BytesIO()
    halves.save(buf, format="PNG")
    assert im.as_image(buf.getvalue()).convert("RGB").getpixel((35, 5)) == BLUE
    assert im.as_image(AgentImage(halves)) is halves
    # a small model may pass a path where an image is expected
    assert im.rotate_image(str(path), 90).size == (20, 40)


def test_load_image_applies_exif_orientation(tmp_path, halves):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display after a 90-degree clockwise turn
    path = tmp_path / "photo.jpg"
    halves.save(path, exif=exif, quality=95)
    loaded = im.load_image(str(path))
    assert loaded.size == (20, 40)
    r, g, b = loaded.convert("RGB").getpixel((10, 5))  # clockwise: the red left half is now on top
    assert r > 200 and b < 60


def test_load_image_refuses_missing_hidden_and_non_images(tmp_path, halves):
    with pytest.raises(ToolError, match="No image file"):
        im.load_image(str(tmp_path / "missing.png"))
    hidden = tmp_path / ".secret"
    hidden.mkdir()
    halves.save(hidden / "key.png")
    with pytest.raises(ToolError, match="hidden"):
        im.load_image(str(hidden / "key.png"))
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ToolError, match="Cannot read an image"):
        im.load_image(str(tmp_path / "notes.txt"))
    with pytest.raises(ToolError, match="must be an image"):
        im.as_image(42)


def test_resize_keeps_aspect_or_uses_both_sides(halves):
    half = im.resize_image(halves, 20)
    assert half.size == (20, 10)
    assert half.getpixel((2, 5)) == RED and half.getpixel((17, 5)) == BLUE
    assert im.resize_image(halves, 10, 30).size == (10, 30)
    with pytest.raises(ToolError, match="between 1 and"):
        im.resize_image(halves, 100_000)
    with pytest.raises(ToolError, match="number of pixels"):
        im.resize_image(halves, "wide")


def test_crop_cuts_the_box_and_clips_it(halves):
    right = im.crop_image(halves, 20, 0, 40, 20)
    assert right.size == (20, 20)
    assert colors(right) == {BLUE}
    clipped = im.crop_image(halves, 30, -5, 100, 100)
    assert clipped.size == (10, 20)
    with pytest.raises(ToolError, match="empty"):
        im.crop_image(halves, 30, 0, 10, 20)


def test_rotate_is_counter_clockwise_and_expands(halves):
    quarter = im.rotate_image(halves, 90)
    assert quarter.size == (20, 40)
    assert quarter.getpixel((10, 5)) == BLUE  # the right half went up
    assert quarter.getpixel((10, 35)) == RED
    clockwise = im.rotate_image(halves, -90)
    assert clockwise.getpixel((10, 5)) == RED
    assert im.rotate_image(halves, 180).getpixel((5, 5)) == BLUE
    assert im.rotate_image(halves, 360).tobytes() == halves.tobytes()
    tilted = im.rotate_image(halves, 45)
    assert tilted.width > 40 and tilted.height > 20


def test_flip_both_directions(halves, stripes):
    mirrored = im.flip_image(halves)
    assert mirrored.getpixel((5, 5)) == BLUE and mirrored.getpixel((35, 5)) == RED
    upside_down = im.flip_image(stripes, "vertical")
    assert upside_down.getpixel((5, 5)) == WHITE and upside_down.getpixel((5, 55)) == GREEN
    with pytest.raises(ToolError, match="horizontal"):
        im.flip_image(halves, "diagonal")


def test_grayscale_uses_luminance_and_keeps_alpha(halves):
    gray = im.grayscale_image(halves)
    assert gray.mode == "L"
    assert gray.getpixel((5, 5)) == 76  # 0.299 * 255
    assert gray.getpixel((35, 5)) == 29  # 0.114 * 255
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 128))
    assert im.grayscale_image(rgba).mode == "LA"
    assert im.grayscale_image(rgba).getpixel((0, 0)) == (76, 128)


def test_draw_text_paints_pixels_without_touching_the_input():
    canvas = Image.new("RGB", (120, 60), BLACK)
    out = im.draw_text(canvas, "Hi", x=10, y=10, color="white", size=30)
    assert canvas.getbbox() is None  # unchanged
    box = out.getbbox()
    assert box is not None and box[0] >= 10 and box[1] >= 10
    assert max(colors(out.crop(box))) == WHITE
    big = im.draw_text(canvas, "Hi", size=40).getbbox()
    small = im.draw_text(canvas, "Hi", size=12).getbbox()
    assert (big[3] - big[1]) > (small[3] - small[1])
    red = im.draw_text(canvas, "Hi", color="#ff0000")
    assert RED in colors(red)
    with pytest.raises(ToolError, match="Unknown color"):
        im.draw_text(canvas, "Hi", color="not-a-color")
    palette = Image.new("P", (40, 20))
    assert im.draw_text(palette, "x").mode == "RGB"


def test_side_by_side_scales_the_right_image(halves, stripes):
    both = im.side_by_side(halves, stripes)  # stripes 30x60 scaled to height 20 -> 10x20
    assert both.size == (50, 20)
    assert both.getpixel((5, 5)) == RED
    assert both.getpixel((35, 5)) == BLUE
    assert both.getpixel((45, 2)) == GREEN
    assert both.getpixel((45, 18)) == WHITE
    gray = im.side_by_side(halves.convert("L"), halves.convert("L"))
    assert gray.mode == "L" and gray.size == (80, 20)


def test_thumbnail_fits_the_square(stripes):
    small = im.thumbnail(stripes, 20)
    assert small.size == (10, 20)
    assert im.thumbnail(stripes, 500).size == (30, 60)  # never enlarges
    assert stripes.size == (30, 60)


def test_make_image_and_image_size():
    canvas = im.make_image(64, 32, "blue")
    assert canvas.size == (64, 32) and canvas.mode == "RGB"
    assert colors(canvas) == {BLUE}
    assert im.make_image(2, 2, "#102030").getpixel((1, 1)) == (16, 32, 48)
    assert im.image_size(canvas) == [64, 32]
    with pytest.raises(ToolError):
        im.make_image(0, 10)


def test_tools_render_image_types_and_wrap_results(tools, halves):
    assert tools["rotate_image"].signature(short=True) == "rotate_image(image: Image, degrees: float) -> Image"
    assert tools["resize_image"].signature(short=True) == \
        "resize_image(image: Image, width: int, height: int = None) -> Image"
    assert tools["image_size"].output_type == "list"
    # the prompt's few-shot example: rotate, then grayscale, passing AgentImage values along
    rotated = tools["rotate_image"](image=AgentImage(halves), degrees=90)
    assert isinstance(rotated, AgentImage) and rotated.size == (20, 40)
    gray = tools["grayscale_image"](image=rotated)
    assert isinstance(gray, AgentImage) and gray.to_raw().mode == "L"
    assert tools["image_size"](image=gray) == [20, 40]
    for t in tools.values():
        assert len(t.summary) <= 60, t.summary
