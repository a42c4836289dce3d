"""Terminal image rendering (genai_tui/images/render.py) and the text charts."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from rich.console import Console

from genai_tui.errors import UserError
from genai_tui.images.plots import histogram_text, scatter_text
from genai_tui.images.render import (
    ASCII_RAMP,
    HALF_BLOCK,
    ImageGrid,
    check_mode,
    mode_for,
    render_grid,
    save_png,
    to_text,
)

SGR = re.compile(r"\x1b\[[0-9;]*m")


def _console(color_system: str | None, no_color: bool = False, width: int = 200) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=color_system,
                   force_terminal=True, no_color=no_color, legacy_windows=False)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 30), n=st.integers(1, 4),
       seed=st.integers(0, 1000))
def test_half_blocks_hold_two_pixel_rows_per_text_row(h: int, w: int, n: int, seed: int) -> None:
    images = np.random.default_rng(seed).random((n, h, w)).astype(np.float32)
    grid = ImageGrid(images, ncol=n)
    lines = grid.lines("truecolor")
    assert len(lines) == math.ceil(h / 2)
    for line in lines:
        text = "".join(seg.text for seg in line)
        assert text.count(HALF_BLOCK) == n * w
        # every half block carries both pixels: fg = upper row, bg = lower row
        assert all(seg.style and seg.style.color and seg.style.bgcolor
                   for seg in line if HALF_BLOCK in seg.text)


def test_half_block_colours_are_the_pixels() -> None:
    image = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    lines = ImageGrid(image).lines("truecolor")
    first = lines[0][0].style
    assert first.color.triplet == (255, 255, 255) and first.bgcolor.triplet == (0, 0, 0)
    last = lines[1][0].style  # odd height: the missing lower pixel is paper (black)
    assert last.color.triplet == (128, 128, 128) and last.bgcolor.triplet == (0, 0, 0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), caption=st.text(max_size=12))
def test_ascii_mode_is_printable_ascii_only(seed: int, caption: str) -> None:
    images = np.random.default_rng(seed).random((3, 9, 7)).astype(np.float32)
    out = to_text(render_grid(images, ncol=3, captions=[caption, "é→", "\x1b[31mred"],
                              mode="ascii"), "truecolor")
    assert "\x1b" not in out
    assert all(32 <= ord(ch) < 127 or ch == "\n" for ch in out)
    assert set(out) - set("\n ") <= set(ASCII_RAMP) | set(
        ch for ch in out if 32 <= ord(ch) < 127)


def test_ascii_ramp_maps_dark_to_space_and_ink_to_at() -> None:
    image = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    assert to_text(ImageGrid(image), "ascii") == " @\n"


@pytest.mark.parametrize(("system", "pattern"), [
    ("truecolor", r"\x1b\[38;2;\d+;\d+;\d+;48;2;"),
    ("256", r"\x1b\[38;5;\d+;48;5;\d+m"),
    ("standard", r"\x1b\[(3|9)\d;(4|10)\dm"),
])
def test_colour_depth_follows_the_console(system: str, pattern: str) -> None:
    console = _console(system)
    console.print(render_grid(np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 8, 8)))
    out = console.file.getvalue()
    assert re.search(pattern, out)
    if system != "truecolor":
        assert "38;2;" not in out
    if system == "standard":
        assert "38;5;" not in out


def test_no_color_console_gets_ascii() -> None:
    console = _console("truecolor", no_color=True)
    assert mode_for(console) == "ascii"
    console.print(render_grid(np.ones((1, 4, 4), np.float32)))
    out = console.file.getvalue()
    assert HALF_BLOCK not in SGR.sub("", out) and "@" in out


def test_mode_for_each_colour_system() -> None:
    assert mode_for(_console("truecolor")) == "truecolor"
    assert mode_for(_console("256")) == "256"
    assert mode_for(_console("standard")) == "16"
    assert mode_for(Console(file=io.StringIO(), force_terminal=False)) == "ascii"


def test_explicit_mode_overrides_the_console() -> None:
    console = _console("truecolor")
    console.print(render_grid(np.ones((1, 4, 4), np.float32), mode="ascii"))
    assert "\x1b" not in console.file.getvalue()
    assert check_mode("auto") is None
    with pytest.raises(UserError):
        check_mode("sixel")


def test_captions_sit_under_their_tiles_and_are_escaped() -> None:
    images = np.zeros((2, 4, 6), np.float32)
    out = to_text(render_grid(images, ncol=2, captions=["a\x1b]0;x\x07", "b"]), "ascii")
    rows = out.splitlines()
    assert len(rows) == 3  # 2 pixel rows + caption row
    assert "\x1b" not in out and "\x07" not in out
    assert rows[2][7:13].strip() == "b"


def test_fit_scales_up_to_fill_and_reflows_when_narrow() -> None:
    grid = ImageGrid(np.zeros((4, 28, 28), np.float32), ncol=4, fit=True)
    assert grid.layout(width=240, height=100) == (2, 4)
    assert grid.layout(width=120, height=100) == (1, 4)
    assert grid.layout(width=60, height=100) == (1, 2)
    assert grid.layout(width=60, height=14) == (0.5, 4)  # half size when nothing fits
    out = to_text(grid, "ascii", width=60)
    assert max(len(r) for r in out.splitlines()) <= 60


def test_save_png_writes_a_grid(tmp_path) -> None:
    path = save_png(np.ones((3, 28, 28), np.float32), tmp_path / "g.png", nrow=2, scale=1,
                    padding=2)
    with Image.open(path) as im:
        assert im.size == (2 * 30 + 2, 2 * 30 + 2) and im.mode == "L"
    with pytest.raises(UserError):
        save_png(np.ones((1, 4, 4), np.float32), tmp_path / "missing" / "g.png")


def test_histogram_and_scatter_text() -> None:
    hist = histogram_text([0, 1, 2, 3], {"a": [5, 0, 1], "b": [0, 2, 2]}, width=40,
                          threshold=1.5, ascii_only=True)
    plain = hist.plain
    assert plain.count("\n") == 3 and "<- flag" in plain
    assert all(32 <= ord(c) < 127 or c == "\n" for c in plain)
    scatter = scatter_text([(0.0, 0.0), (2.4, 2.4), (-9, -9)], [3, 7, 1], width=10, height=5,
                           span=2.5).plain.splitlines()
    assert scatter[0][-1] == "7" and scatter[2][5] == "3" and scatter[-1][0] == "1"
