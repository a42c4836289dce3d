"""CLIP commands (issue 17): `genai-tui train clip` and `genai-tui clip search|score|matrix|map`.

Words and digit images in one embedding space (`genai_tui.service.clip`).
Only Typer and the standard library at module level; torch, the model and
Rich load inside the commands. Prompts and captions are untrusted text: they
reach the terminal through `say` / `rich.text.Text` with controls made
visible (`genai_tui.textsafe`), never as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from genai_tui.cli import options as opt
from genai_tui.cli._app import app, train_app
from genai_tui.cli.output import command_line, emit_json, say, text_arg
from genai_tui.errors import UserError

clip_app = typer.Typer(
    help="CLIP: digits and captions in one space; search images by text, score a PNG, "
    "see the similarity matrix and the joint map.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(clip_app, name="clip")

_MODEL_HELP = "CLIP model folder (default: the bundled assets/clip)."


@train_app.command("clip")
def train_clip_cmd(
    ctx: typer.Context,
    steps: int = opt.steps_option(2500),
    batch_size: int = opt.batch_size_option(64, "Image/caption pairs per step.", min=2),
    lr: float = opt.lr_option(2e-3),
    train_images: int = typer.Option(16000, "--train-images", min=2, max=200_000,
                                     help="Captioned training digits."),
    heldout_images: int = typer.Option(500, "--heldout-images", min=10, max=20_000,
                                       help="Held-out digits (new phrasings, held-out "
                                       "attribute combinations): the retrieval gallery."),
    text_layers: int = opt.text_layers_option(2),
    text_width: int = opt.text_width_option(64),
    text_heads: int = typer.Option(4, "--text-heads", min=1, max=64,
                                   help="Attention heads (divide the width)."),
    image_channels: int = typer.Option(16, "--image-channels", min=1, max=256,
                                       help="Channels of the image CNN's first layer."),
    embed_dim: int = typer.Option(64, "--embed-dim", min=2, max=1024,
                                  help="Width of the shared embedding space."),
    eval_every: int = typer.Option(100, "--eval-every", min=1, max=opt.MAX_STEPS,
                                   help="Steps between held-out retrieval checks."),
    seed: int = opt.seed_option(0),
    out: Path | None = opt.out_option("clip"),
    bundled: bool = opt.bundled_option("model in assets/clip"),
    time_limit: float | None = opt.time_limit_option(),
    threads: int | None = opt.threads_option(),
    json_lines: bool = opt.json_option(),
    quiet: bool = opt.quiet_option(),
) -> None:
    """Train the small CLIP on captioned digits (contrastive, Radford et al. 2021) and
    report held-out retrieval beside chance. The defaults are the bundled model's run."""
    from genai_tui.cli.lifecycle_cmds import run_stage
    from genai_tui.cli.outpaths import train_target
    from genai_tui.paths import asset
    from genai_tui.service import clip as service
    from genai_tui.service.runtime import set_torch_threads

    if time_limit is not None and time_limit <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {time_limit:g}")
    settings = service.ClipSettings(
        steps=steps, batch_size=batch_size, lr=lr, train_images=train_images,
        heldout_images=heldout_images, text_layers=text_layers, text_width=text_width,
        text_heads=text_heads, image_channels=image_channels, embed_dim=embed_dim,
        eval_every=eval_every, seed=seed,
        time_limit=time_limit * 60 if time_limit is not None else None)
    settings.validate()
    target = train_target(out, bundled=bundled, bundled_path=asset("clip"), stem="clip")
    run = service.ClipTraining(settings)
    set_torch_threads(threads)
    run_stage(run, out=target, json_lines=json_lines, quiet=quiet, command=command_line(ctx))


# -- loading ---------------------------------------------------------------------


def _load(model: Path | None) -> Any:  # -> ClipModel
    from genai_tui.paths import asset
    from genai_tui.service import clip as service
    from genai_tui.service.runtime import set_torch_threads, thread_count

    if model is not None and not model.is_dir():
        raise UserError(f"--model {str(model)!r} is not a folder")
    set_torch_threads(thread_count())
    return service.load(model if model is not None else asset("clip"))


GALLERIES = ("heldout", "all")


def _gallery(clip: Any, which: str = "heldout") -> Any:
    """The held-out images the model was judged on (its card's size and seed); ``all``
    adds as many new images of the training combinations (`service.clip.search_gallery`)."""
    from genai_tui.service import clip as service

    if which not in GALLERIES:
        raise UserError(f"--gallery must be one of {', '.join(GALLERIES)}, got {which!r}")
    settings = clip.card.get("settings", {})
    n = min(max(int(settings.get("heldout_images", 500)), 10), 20_000)
    seed = int(settings.get("seed", 0))
    if which == "all":
        return service.search_gallery(n, seed)
    return service.heldout_gallery(n, seed)


def _say(text: str, ascii_only: bool) -> None:
    """`say`, folded to printable ASCII under ``--ascii`` (controls made visible first)."""
    if ascii_only:
        from genai_tui.display import fold
        from genai_tui.textsafe import escape_controls

        text = fold(escape_controls(text))
    say(text)


def _console(ascii_only: bool) -> Any:
    from rich.console import Console

    return (Console(no_color=True, color_system=None, highlight=False) if ascii_only
            else Console(highlight=False))


def _attribute_words(classes: tuple[int, ...] | list[int]) -> dict[str, str]:
    from genai_tui.images.captions import SIZE_WORDS, SLANT, THICKNESS

    if len(classes) < 3:
        return {}
    return {"thickness": THICKNESS[classes[0]], "slant": SLANT[classes[1]],
            "size": SIZE_WORDS[classes[2]]}


def _unknown_line(unknown: Any) -> str | None:
    if not unknown:
        return None
    parts = []
    if unknown.words:
        parts.append("words " + ", ".join(repr(w) for w in unknown.words))
    if unknown.tokens:
        parts.append("tokens " + " ".join(f"[{t}]" for t in unknown.tokens))
    return ("never seen in training (embedded anyway, from what they share with seen "
            "ones): " + "; ".join(parts))


# -- clip search -------------------------------------------------------------------


@clip_app.command("search")
def clip_search(
    text: str = typer.Argument(..., help="What to look for, e.g. 'a thick seven leaning "
                               "right' ('-': stdin)."),
    k: int = typer.Option(8, "--k", "-k", min=1, max=64, help="How many images."),
    gallery_name: str = typer.Option(
        "heldout", "--gallery", help="heldout: the held-out digits (18 of the 90 (digit, "
        "thickness, slant) combinations, about two per digit); all: those plus as many new "
        "images of the other 72 combinations."),
    model: Path | None = opt.model_option(_MODEL_HELP),
    ascii_only: bool = opt.ascii_option(),
    json_out: bool = opt.json_option("JSON: the matches with digit, attributes and "
                                     "similarity, and the unseen words; no picture."),
) -> None:
    """Text -> images: the unseen digits nearest to TEXT in the joint space."""
    from genai_tui.images.captions import heldout_combination

    query = text_arg(text, "the text")
    if not query.strip():
        raise UserError("the text is empty: say what to look for")
    clip = _load(model)
    gallery = _gallery(clip, gallery_name)
    clip.set_gallery(gallery)
    result = clip.search(query, k)
    if json_out:
        emit_json({"query": query, "k": k, "gallery": gallery_name, "images": len(gallery),
                   "matches": [{"rank": r + 1, "index": m.index, "digit": m.label,
                                "attributes": _attribute_words(m.attr_classes),
                                "heldout_combination": heldout_combination(
                                    m.label, *m.attr_classes[:2]),
                                "similarity": round(m.similarity, 4),
                                "caption": gallery.captions[m.index]}
                               for r, m in enumerate(result.matches)],
                   "unknown": {"words": result.unknown.words,
                               "tokens": result.unknown.tokens}})
        return
    from genai_tui.images.render import render_grid

    images = gallery.images[[m.index for m in result.matches]]
    console = _console(ascii_only)
    console.print(render_grid(images, ncol=min(len(result.matches), 8),
                              captions=[f"{m.label} {m.similarity:.2f}" for m in result.matches],
                              mode="ascii" if ascii_only else None))
    what = "held-out" if gallery_name == "heldout" else "unseen"
    _say(f"nearest {len(result.matches)} of {len(gallery)} {what} digits to {query!r}:",
         ascii_only)
    for rank, m in enumerate(result.matches, 1):
        words = _attribute_words(m.attr_classes)
        _say(f"{rank:3d}. digit {m.label}  {words.get('thickness', '?'):7s} "
             f"{words.get('slant', '?'):7s} {words.get('size', '?'):6s} "
             f"similarity {m.similarity:+.3f}", ascii_only)
    line = _unknown_line(result.unknown)
    if line:
        _say(line, ascii_only)
    if gallery_name == "heldout":
        _say("the held-out gallery has about two (thickness, slant) combinations per digit; "
             "--gallery all searches every combination", ascii_only)


# -- clip score --------------------------------------------------------------------


def read_png(path: Path) -> Any:
    """One image file -> (1, 28, 28) float32 tensor, ink = 1, as the digits are stored
    (grayscale, resized, dark-on-light inverted: `images.digits.load_images`)."""
    from genai_tui.images.digits import load_images

    path = path.expanduser()
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if not path.is_file():
        raise UserError(f"{path} is not a file; give one PNG image")
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"{path}: expected a PNG (or JPEG) image")
    return load_images(path).images[0]


@clip_app.command("score")
def clip_score(
    image: Path = typer.Argument(..., help="A PNG (any size or colour; converted to 28x28 "
                                 "grayscale, dark-on-light inverted)."),
    text: str = typer.Argument(..., help="The text to score it against ('-': stdin)."),
    k: int = typer.Option(5, "--k", "-k", min=1, max=50, help="How many best captions."),
    model: Path | None = opt.model_option(_MODEL_HELP),
    ascii_only: bool = opt.ascii_option(),
    json_out: bool = opt.json_option("JSON: the similarity and the best captions; "
                                     "no picture."),
) -> None:
    """Image + text -> their cosine similarity, and the captions that fit the image best."""
    from genai_tui.service.clip import describing_captions

    query = text_arg(text, "the text")
    picture = read_png(image)
    clip = _load(model)
    similarity = clip.score(picture, query)
    best = clip.captions(picture, describing_captions(), k)
    unknown = clip.unknown(query)
    if json_out:
        emit_json({"image": str(image), "text": query, "similarity": round(similarity, 4),
                   "best_captions": [{"text": c.text, "similarity": round(c.similarity, 4)}
                                     for c in best],
                   "unknown": {"words": unknown.words, "tokens": unknown.tokens}})
        return
    from genai_tui.images.render import render_image

    _console(ascii_only).print(render_image(picture, mode="ascii" if ascii_only else None))
    _say(f"similarity of {image.name!r} and {query!r}: {similarity:+.3f}", ascii_only)
    _say("captions that fit it best:", ascii_only)
    for c in best:
        _say(f"  {c.similarity:+.3f}  {c.text}", ascii_only)
    line = _unknown_line(unknown)
    if line:
        _say(line, ascii_only)


# -- clip matrix -------------------------------------------------------------------


def _heat_style(value: float, lo: float, hi: float) -> str:
    # Dark blue (dissimilar) to bright yellow (similar): a short viridis-like ramp.
    ramp = ("#30123b", "#3e378f", "#2e6fb7", "#1fa187", "#75d054", "#d8e219", "#fde725")
    t = 0.0 if hi <= lo else (value - lo) / (hi - lo)
    colour = ramp[min(len(ramp) - 1, int(t * len(ramp)))]
    ink = "black" if t >= 0.55 else "white"
    return f"{ink} on {colour}"


@clip_app.command("matrix")
def clip_matrix(
    n: int = typer.Option(8, "--n", "-n", min=2, max=32, help="Image/caption pairs."),
    seed: int = opt.seed_option(1, "Seed of the held-out batch."),
    model: Path | None = opt.model_option(_MODEL_HELP),
    ascii_only: bool = opt.ascii_option(),
    json_out: bool = opt.json_option("JSON: captions, digits and the matrix; no table."),
) -> None:
    """The cosine similarity of every image and caption of a held-out batch: matching
    pairs are the diagonal, and it should be the brightest cell of each row."""
    from genai_tui.service.clip import heldout_gallery

    clip = _load(model)
    batch = heldout_gallery(n, seed)
    matrix = clip.similarity_matrix(batch)  # (n images, n captions)
    best = matrix.argmax(1)
    hits = int((best == range(n)).sum())
    same_digit = int(sum(int(batch.labels[int(j)]) == int(batch.labels[i])
                         for i, j in enumerate(best)))
    if json_out:
        emit_json({"n": n, "seed": seed, "captions": list(batch.captions),
                   "digits": [int(v) for v in batch.labels],
                   "matrix": [[round(float(v), 4) for v in row] for row in matrix],
                   "diagonal_best": hits, "same_digit_best": same_digit})
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from genai_tui.textsafe import escape_controls

    lo, hi = float(matrix.min()), float(matrix.max())
    table = Table(box=box.ASCII if ascii_only else box.SIMPLE, show_header=True,
                  header_style="bold", pad_edge=False, title="image \\ caption")
    table.add_column("img", justify="right")
    for j in range(n):
        table.add_column(f"c{j + 1}", justify="right")
    ramp = " .:-=+*#%@"
    for i in range(n):
        cells: list[Any] = [Text(f"{i + 1}:{int(batch.labels[i])}")]
        for j in range(n):
            v = float(matrix[i, j])
            mark = "<" if j == best[i] else " "
            if ascii_only:
                t = 0.0 if hi <= lo else (v - lo) / (hi - lo)
                cells.append(Text(f"{ramp[min(9, int(t * 10))]}{v:+.2f}{mark}"))
            else:
                cells.append(Text(f"{v:+.2f}{mark}", style=_heat_style(v, lo, hi)))
        table.add_row(*cells)
    console = _console(ascii_only)
    console.print(table)
    for j, caption in enumerate(batch.captions):
        console.print(Text(f"c{j + 1}: {escape_controls(caption, keep_newlines=False)}"))
    _say(f"rows are images (number:digit), columns captions; '<' marks each row's best. "
        f"The matching caption is best for {hits} of {n} images, a caption of the same "
        f"digit for {same_digit} of {n}.", ascii_only)


# -- clip map ----------------------------------------------------------------------


@clip_app.command("map")
def clip_map(
    n: int = typer.Option(200, "--n", "-n", min=10, max=2000,
                          help="Held-out image/caption pairs to project."),
    seed: int = opt.seed_option(2, "Seed of the held-out set."),
    keep_gap: bool = typer.Option(False, "--keep-gap", help="Keep the modality gap (each "
                                  "kind's own offset): captions and images then form two "
                                  "clouds."),
    model: Path | None = opt.model_option(_MODEL_HELP),
    ascii_only: bool = opt.ascii_option(),
    json_out: bool = opt.json_option("JSON: every point (kind, digit, x, y, caption), the "
                                     "variance the two axes explain and the gap."),
) -> None:
    """Captions and images on one 2-D map (one PCA of both kinds of embedding): each
    digit's captions should land by its images."""
    from genai_tui.service.clip import digit_distances, heldout_gallery, joint_projection

    clip = _load(model)
    projection = joint_projection(clip, heldout_gallery(n, seed), close_gap=not keep_gap)
    distances = digit_distances(projection)
    if json_out:
        emit_json({"n": n, "seed": seed, "explained": [round(v, 4)
                                                       for v in projection.explained],
                   "gap": round(projection.gap, 4), "gap_closed": projection.gap_closed,
                   **{k: round(v, 4) for k, v in distances.items()},
                   "points": [{"kind": p.kind, "index": p.index, "digit": p.digit,
                               "x": round(p.x, 4), "y": round(p.y, 4), "text": p.text}
                              for p in projection.points]})
        return
    from rich.columns import Columns
    from rich.text import Text

    from genai_tui.images.plots import scatter_text

    span = max(max(abs(p.x), abs(p.y)) for p in projection.points) * 1.05 or 1.0
    panels = []
    for kind, title in (("text", "captions"), ("image", "images")):
        chosen = [p for p in projection.points if p.kind == kind]
        plot = scatter_text([(p.x, p.y) for p in chosen], [p.digit for p in chosen],
                            width=36, height=16, span=span, ascii_only=ascii_only)
        panels.append(Text(f"{title} ({len(chosen)})\n") + plot)
    console = _console(ascii_only)
    console.print(Columns(panels, padding=(0, 3)))
    a, b = projection.explained
    _say(f"one PCA of {n} captions and {n} images (axes explain {a:.0%} and {b:.0%} of the "
        f"variance); each point is drawn as its digit.", ascii_only)
    gap = (f"the gap between the two kinds ({projection.gap:.2f}: the distance of their "
           "means) was taken out; --keep-gap shows it" if projection.gap_closed
           else f"the gap between the two kinds ({projection.gap:.2f}) is kept")
    _say(gap + ".", ascii_only)
    _say(f"mean distance from a caption to images of its own digit "
        f"{distances['same_digit']:.3f}, to other digits' {distances['other_digit']:.3f}.",
         ascii_only)
