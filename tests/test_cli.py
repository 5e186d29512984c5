"""`nbagents run` in a real subprocess, on the scripted engine."""

import json
import subprocess
import sys

from PIL import Image

from nbagents.cli import main


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nbagents.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def replies(tmp_path, *texts):
    f = tmp_path / "replies.json"
    f.write_text(json.dumps(list(texts)))
    return f"fake:{f}"


def test_text_result_is_printed(tmp_path):
    spec = replies(tmp_path, "I will count.\n```py\nprint('counting')\nresult = word_count(text=text)\n```")
    out = cli("run", "Count the words in text", "--engine", spec, "--var", "text=one two three")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["counting", "3"]


def test_image_input_and_media_output_saved(tmp_path):
    Image.new("RGB", (30, 20), "red").save(tmp_path / "in.png")
    spec = replies(tmp_path, "```py\nresult = grayscale_image(image=rotate_image(image=photo, degrees=90))\n```")
    out = cli("run", "Rotate and gray", "-e", spec, "--input", f"photo={tmp_path / 'in.png'}",
              "--output-dir", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    assert "image 20x30 saved to" in out.stdout
    saved = list((tmp_path / "out").glob("*.png"))
    assert len(saved) == 1 and Image.open(saved[0]).mode == "L" and Image.open(saved[0]).size == (20, 30)


def test_code_flag_prints_code_without_running(tmp_path):
    spec = replies(tmp_path, "```py\nresult = word_count(text='a b')\n```")
    out = cli("run", "count", "-e", spec, "--code")
    assert out.returncode == 0 and out.stdout.strip() == "result = word_count(text='a b')"


def test_agent_error_explains_itself_and_exits_1(tmp_path):
    spec = replies(tmp_path, "```py\nresult = image_drawer(x=1)\n```", "```py\nresult = image_drawer(x=2)\n```")
    out = cli("run", "draw", "-e", spec)
    assert out.returncode == 1
    assert "interpreter error" in out.stderr and "'image_drawer' is not a tool" in out.stderr
    assert "Closest tools:" in out.stderr and "The code was:" in out.stderr


def test_bad_arguments(tmp_path, capsys):
    assert main(["run", "x", "--var", "novalue", "-e", "fake:"]) == 2
    assert "--var takes name=text" in capsys.readouterr().err
    out = cli("run", "x", "--input", f"a={tmp_path / 'missing.png'}")
    assert out.returncode == 2 and "no file at" in out.stderr
    out = cli("run", "x", "-e", "nope:thing")
    assert out.returncode == 1 and "Unknown engine scheme 'nope'" in out.stderr
