"""`genai-tui train clip` (tiny runs) and `genai-tui clip search|score|matrix|map` (the
bundled model): JSON output, pictures in the terminal, bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genai_tui.cli import app
from genai_tui.images.captions import DIGIT_WORDS
from genai_tui.paths import REPO_ROOT

BUNDLED = REPO_ROOT / "assets" / "clip"
TINY = ["--steps", "40", "--train-images", "400", "--heldout-images", "40", "--text-layers",
        "1", "--text-width", "32", "--text-heads", "2", "--image-channels", "8",
        "--embed-dim", "32", "--eval-every", "20", "--threads", "1"]

needs_bundled = pytest.mark.skipif(not (BUNDLED / "model.safetensors").is_file(),
                                   reason="no bundled CLIP (genai-tui train clip --bundled)")


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        app(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def error_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("genai-tui: error: ")]
    assert len(lines) == 1, err
    return lines[0]


# -- train clip --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("clip-train") / "tiny"
    import contextlib
    import io

    # capsys is function-scoped: a module's one training run reads stdout itself.
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), pytest.raises(SystemExit) as exc:
        app(["train", "clip", *TINY, "--out", str(out), "--json"])
    assert exc.value.code == 0
    return out, [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_train_clip_json_lines_and_a_new_folder_with_its_card(tiny_run) -> None:
    out, lines = tiny_run
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "notice" and kinds[-1] == "saved" and "finished" in kinds
    steps = [line for line in lines if line["event"] == "metrics"]
    assert [m["step"] for m in steps] == list(range(1, 41))
    assert lines[-1]["out"] == str(out)
    card = json.loads((out / "card.json").read_text())
    assert card["model"] == "clip" and card["steps"] == 40 and card["seconds"] > 0
    assert card["command"].startswith("genai-tui train clip --steps 40 ")
    assert f"--out {out}" in card["command"] and "--threads 1" in card["command"]
    assert [h["step"] for h in card["history"]] == [20, 40]
    assert all({"loss", "mean_loss", "t2i_digit", "t2i_attribute", "i2t_digit"} <= set(h)
               for h in card["history"])
    assert card["t2i_digit_chance"] == pytest.approx(0.1, abs=0.05)
    assert card["data"]["heldout"]["images"] == 40 and card["data"]["train"]["images"] == 400
    assert "seen_words" in card and "pen" not in card["seen_words"]
    assert (out / "model.safetensors").stat().st_size < 1_000_000


def test_train_clip_never_overwrites_the_bundled_model_without_bundled(
        tmp_path, monkeypatch, capsys) -> None:
    import shutil

    assets = tmp_path / "assets"
    shutil.copytree(REPO_ROOT / "assets" / "tokenizers", assets / "tokenizers")
    (assets / "clip").mkdir(parents=True)
    (assets / "clip" / "keep.txt").write_text("mine")
    monkeypatch.setenv("GENAI_TUI_ASSETS", str(assets))
    line = error_line(*run(["train", "clip", *TINY, "--out", str(assets / "clip")], capsys)[::2])
    assert "--bundled" in line and "inside the bundled assets" in line
    assert sorted(p.name for p in (assets / "clip").iterdir()) == ["keep.txt"]
    error_line(*run(["train", "clip", "--bundled", "--out", str(tmp_path / "x")], capsys)[::2])
    code, _, err = run(["train", "clip", *TINY, "--bundled", "--quiet"], capsys)
    assert code == 0, err
    card = json.loads((assets / "clip" / "card.json").read_text())
    assert "--bundled" in card["command"]


def test_train_clip_bad_options_are_one_line(capsys) -> None:
    for args in (["--text-width", "30", "--text-heads", "4"], ["--time-limit", "0"],
                 ["--batch-size", "64", "--train-images", "10"]):
        error_line(*run(["train", "clip", *args], capsys)[::2])


def test_a_tiny_model_answers_every_command(tiny_run, capsys, tmp_path) -> None:
    out, _ = tiny_run
    code, text, err = run(["clip", "search", "a thick seven", "-m", str(out), "--json"], capsys)
    assert code == 0, err
    assert len(json.loads(text)["matches"]) == 8
    assert json.loads(text)["images"] == 40  # the card's held-out size
    code, text, err = run(["clip", "matrix", "-m", str(out), "--n", "3", "--json"], capsys)
    assert code == 0, err
    assert np.array(json.loads(text)["matrix"]).shape == (3, 3)


# -- the bundled model --------------------------------------------------------------


def write_png(path: Path, image, size: int = 84, colour: bool = True) -> Path:
    """A digit as users have them: dark ink on white, bigger, in RGB."""
    pixels = (255 - np.asarray(image, dtype=np.float32).reshape(28, 28) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels, "L").resize((size, size), Image.Resampling.BILINEAR)
    (picture.convert("RGB") if colour else picture).save(path)
    return path


@needs_bundled
def test_search_json_finds_the_digit_and_names_unseen_words(capsys) -> None:
    code, text, err = run(["clip", "search", "a thick seven leaning right", "--k", "8",
                           "--gallery", "all", "--json"], capsys)
    assert code == 0, err
    data = json.loads(text)
    assert data["gallery"] == "all" and data["images"] == 1000
    matches = data["matches"]
    assert len(matches) == 8 and [m["rank"] for m in matches] == list(range(1, 9))
    sims = [m["similarity"] for m in matches]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    # The gallery holds only a few thick right-leaning sevens (a band is a third of a
    # continuous range: an "upright" near the edge leans a little).
    assert matches[0]["digit"] == 7 and matches[0]["attributes"]["thickness"] == "thick"
    assert sum(m["digit"] == 7 for m in matches) >= 6
    assert sum(m["attributes"]["thickness"] == "thick" for m in matches) >= 5
    assert sum(m["attributes"]["slant"] == "right" for m in matches) >= 3
    assert not any(m["heldout_combination"] for m in matches)  # (7, thick, right) is not
    assert data["unknown"] == {"words": [], "tokens": []}
    # Held out: (6, thin, right) is among the 18 combinations training never saw.
    code, text, _ = run(["clip", "search", "a thin six leaning right", "--json"], capsys)
    found = json.loads(text)["matches"]
    assert code == 0 and all(m["heldout_combination"] for m in found)
    assert sum(m["digit"] == 6 and m["attributes"]["thickness"] == "thin"
               and m["attributes"]["slant"] == "right" for m in found) >= 6
    code, text, _ = run(["clip", "search", "a slanted two", "--json"], capsys)
    unseen = json.loads(text)["unknown"]
    assert code == 0 and unseen["words"] == ["slanted"] and unseen["tokens"]


@needs_bundled
def test_search_shows_the_images_and_the_unseen_words(capsys) -> None:
    code, out, err = run(["clip", "search", "a slanted two", "--k", "3", "--ascii"], capsys)
    assert code == 0, err
    assert all(32 <= ord(c) < 127 or c == "\n" for c in out)
    assert "#" in out or "@" in out  # ink of the images
    assert "nearest 3 of 500 held-out digits to 'a slanted two'" in out
    assert "never seen in training" in out and "'slanted'" in out


@needs_bundled
def test_hostile_prompts_are_shown_not_obeyed(capsys) -> None:
    hostile = "\x1b[2J\x1b]0;pwned\x07[bold red]seven[/] \u202e"
    code, out, err = run(["clip", "search", hostile, "--k", "2"], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "[bold red]seven[/]" in out and "␛" in out
    code, out, err = run(["clip", "search", "\x1b[31m", "--json"], capsys)
    assert code == 0 and json.loads(out)["query"] == "\x1b[31m"
    assert "\x1b" not in out  # JSON escapes it
    assert "empty" in error_line(*run(["clip", "search", "   "], capsys)[::2])


@needs_bundled
def test_score_json_reads_any_png_and_ranks_the_right_caption(capsys, tmp_path) -> None:
    from genai_tui.service.clip import heldout_gallery

    data = heldout_gallery(40, seed=9)
    i = next(j for j in range(40) if int(data.labels[j]) == 3)
    png = write_png(tmp_path / "three.png", data.images[i])
    code, text, err = run(["clip", "score", str(png), "a three", "--json"], capsys)
    assert code == 0, err
    right = json.loads(text)
    assert right["image"] == str(png) and -1 <= right["similarity"] <= 1
    best = right["best_captions"]
    assert len(best) == 5 and " three " in f"{best[0]['text']} "
    _, text, _ = run(["clip", "score", str(png), "a six", "--json"], capsys)
    assert json.loads(text)["similarity"] < right["similarity"]
    gray = write_png(tmp_path / "gray.png", data.images[i], size=28, colour=False)
    _, text, _ = run(["clip", "score", str(gray), "a three", "--json"], capsys)
    assert json.loads(text)["similarity"] == pytest.approx(right["similarity"], abs=0.1)


@needs_bundled
def test_score_human_output_shows_the_image(capsys, tmp_path) -> None:
    from genai_tui.service.clip import heldout_gallery

    png = write_png(tmp_path / "d.png", heldout_gallery(10, seed=3).images[0])
    code, out, err = run(["clip", "score", str(png), "a thin [b]pen[/b]", "--ascii"], capsys)
    assert code == 0, err
    assert "similarity of 'd.png' and 'a thin [b]pen[/b]'" in out
    assert "captions that fit it best:" in out and "'pen'" not in out.split("best:")[0]
    assert "#" in out or "@" in out


@needs_bundled
@pytest.mark.parametrize("make,expect", [
    (None, "no such file"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nnot really"), "not a readable image"),
    (lambda p: p.write_text("hello"), "not a readable image"),
    (lambda p: p.mkdir(), "not a file"),
], ids=["missing", "corrupt-png", "text-file", "folder"])
def test_score_bad_images_are_one_line(capsys, tmp_path, make, expect) -> None:
    path = tmp_path / "x.png"
    if make is not None:
        make(path)
    line = error_line(*run(["clip", "score", str(path), "a two"], capsys)[::2])
    assert expect in line
    other = tmp_path / "notes.txt"
    other.write_text("x")
    assert "PNG" in error_line(*run(["clip", "score", str(other), "a two"], capsys)[::2])


@needs_bundled
def test_matrix_json_lights_up_the_diagonal(capsys) -> None:
    code, text, err = run(["clip", "matrix", "--n", "8", "--seed", "1", "--json"], capsys)
    assert code == 0, err
    data = json.loads(text)
    matrix = np.array(data["matrix"])
    assert matrix.shape == (8, 8) and len(data["captions"]) == 8
    assert data["diagonal_best"] == int((matrix.argmax(1) == np.arange(8)).sum())
    assert data["same_digit_best"] >= 7
    assert np.diag(matrix).mean() > matrix[~np.eye(8, dtype=bool)].mean() + 0.2
    _, again, _ = run(["clip", "matrix", "--n", "8", "--seed", "1", "--json"], capsys)
    assert json.loads(again) == data


@needs_bundled
def test_matrix_table_in_ascii(capsys) -> None:
    code, out, err = run(["clip", "matrix", "--n", "4", "--ascii"], capsys)
    assert code == 0, err
    assert all(32 <= ord(c) < 127 or c == "\n" for c in out)
    assert "c4: " in out and out.count("<") >= 4 and "best for" in out


@needs_bundled
def test_map_json_puts_captions_by_their_images(capsys) -> None:
    code, text, err = run(["clip", "map", "--n", "100", "--json"], capsys)
    assert code == 0, err
    data = json.loads(text)
    assert len(data["points"]) == 200 and data["gap_closed"] is True
    assert {p["kind"] for p in data["points"]} == {"text", "image"}
    assert all(0 <= p["digit"] <= 9 for p in data["points"])
    assert data["same_digit"] < 0.8 * data["other_digit"]
    code, out, err = run(["clip", "map", "--n", "50", "--ascii"], capsys)
    assert code == 0, err
    assert "captions (50)" in out and "images (50)" in out
    assert any(d in out for d in "0123456789")


@needs_bundled
def test_the_words_the_captions_use_are_all_known(capsys) -> None:
    for word in DIGIT_WORDS:
        _, text, _ = run(["clip", "search", f"a {word}", "--k", "1", "--json"], capsys)
        assert json.loads(text)["unknown"]["words"] == []


def test_clip_commands_refuse_a_model_folder_that_is_not_there(capsys, tmp_path) -> None:
    line = error_line(*run(["clip", "search", "a two", "-m", str(tmp_path / "no")],
                           capsys)[::2])
    assert "is not a folder" in line
    (tmp_path / "empty").mkdir()
    line = error_line(*run(["clip", "matrix", "-m", str(tmp_path / "empty")], capsys)[::2])
    assert "missing" in line


def test_a_bad_gallery_name_and_broken_weights_are_one_line(capsys, tmp_path) -> None:
    assert "--gallery must be one of" in error_line(
        *run(["clip", "search", "a two", "--gallery", "nope"], capsys)[::2])
    broken = tmp_path / "clip"
    broken.mkdir()
    (broken / "card.json").write_text('{"config": {}}')
    (broken / "model.safetensors").write_bytes(b"\x00" * 100)
    line = error_line(*run(["clip", "map", "-m", str(broken)], capsys)[::2])
    assert "model.safetensors" in line and "not a readable safetensors file" in line
