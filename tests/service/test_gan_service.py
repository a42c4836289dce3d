"""The GAN service and its pure parts: toy data, CSV reading, divergence, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_tui.errors import UserError
from genai_tui.images.points import (
    DATASETS,
    coverage,
    histogram,
    js_divergence,
    load_points,
    make_points,
    points_from_array,
    read_points_csv,
)
from genai_tui.service.gan import (
    COLLAPSE_WARMUP,
    GanSettings,
    GanTrainer,
    ImagesView,
    PointsView,
    collapse_flag,
    fit_box,
)
from genai_tui.service.runtime import torch_threads

# -- toy data -----------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_deterministic_and_sit_on_their_modes(name: str) -> None:
    a, b = make_points(name, n=3000, seed=3), make_points(name, n=3000, seed=3)
    assert np.array_equal(a.points, b.points)
    assert not np.array_equal(a.points, make_points(name, n=3000, seed=4).points)
    assert a.points.shape == (3000, 2) and a.points.dtype == np.float32
    covered, on_modes, counts = coverage(a.points, a)
    assert covered == a.n_modes, "real data covers every mode"
    assert on_modes > 0.8
    x0, x1, y0, y1 = a.box
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert (a.points[:, 0] > x0).all() and (a.points[:, 0] < x1).all()
    assert a.weights.sum() == pytest.approx(1.0)


def test_ring_has_eight_modes_and_grid_twenty_five() -> None:
    assert make_points("ring", n=100).n_modes == 8
    assert make_points("grid", n=100).n_modes == 25


def test_one_point_per_mode_covers_one_mode_only() -> None:
    ring = make_points("ring", n=2000)
    collapsed = np.repeat(ring.centres[:1], 500, axis=0)
    covered, on_modes, reached = coverage(collapsed, ring)
    assert covered == reached == 1 and on_modes == 1.0
    assert collapse_flag(reached, ring.n_modes)
    # A blob in the middle is no sample of any mode, but reaches them all.
    blob = np.random.default_rng(0).normal(0, 0.3, (800, 2))
    covered, on_modes, reached = coverage(blob, ring)
    assert covered == 0 and reached == 8 and not collapse_flag(reached, 8)


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(UserError, match="ring, grid, spiral, moons, line"):
        load_points("donut")


# -- CSV files ----------------------------------------------------------------------


def test_csv_with_header_comments_and_blank_lines(tmp_path) -> None:
    f = tmp_path / "pts.csv"
    f.write_text("x,y\n# a comment\n1,2\n\n3.5, -4\n-1e-1,0\n")
    assert read_points_csv(f).tolist() == [[1, 2], [3.5, -4], [-0.1, 0]]
    data = load_points(str(f))
    assert data.points.shape == (3, 2) and data.name == "pts.csv"
    assert abs(float(data.points.mean())) < 1e-6, "standardised"


@pytest.mark.parametrize(("content", "line"), [
    ("x,y\n1,2\n3,oops\n", 3),
    ("1,2\n3,4,5\n", 2),
    ("1,2\n\n\n7\n", 4),
    ("1,2\nnan,1\n", 2),
    ("1,2\n3,4\ninf,2\n", 3),
    ("a,b\nc,d\n", 2),
])
def test_malformed_csv_names_the_line(tmp_path, content: str, line: int) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(UserError, match=rf"line {line}\b"):
        read_points_csv(f)


@pytest.mark.parametrize(("content", "message"), [
    ("", "at least 2 points"),
    ("x,y\n1,2\n", "at least 2 points"),
    ("1,1\n1,1\n", "all points are the same"),
])
def test_csv_without_enough_points(tmp_path, content: str, message: str) -> None:
    f = tmp_path / "few.csv"
    f.write_text(content)
    with pytest.raises(UserError, match=message):
        read_points_csv(f)


def test_csv_with_a_byte_order_mark_and_crlf(tmp_path) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes(b"\xef\xbb\xbf1,2\r\n3,4\r\n")
    assert read_points_csv(f).tolist() == [[1, 2], [3, 4]]


def test_missing_and_binary_csv(tmp_path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        read_points_csv(tmp_path / "nope.csv")
    f = tmp_path / "bin.csv"
    f.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(UserError):
        read_points_csv(f)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=2,
                max_size=40).filter(lambda pts: len(set(pts)) > 1))
def test_any_valid_csv_round_trips(tmp_path_factory, pts) -> None:
    f = tmp_path_factory.mktemp("csv") / "p.csv"
    f.write_text("".join(f"{x!r},{y!r}\n" for x, y in pts))
    assert read_points_csv(f).tolist() == [list(p) for p in pts]
    data = points_from_array(np.asarray(pts))
    assert 1 <= data.n_modes <= 8 and np.isfinite(data.points).all()


# -- divergence -----------------------------------------------------------------------

hists = st.lists(st.floats(0, 10), min_size=4, max_size=4).filter(lambda v: sum(v) > 0)


@given(hists, hists)
def test_js_divergence_is_a_bounded_symmetric_divergence(p, q) -> None:
    p, q = np.asarray(p), np.asarray(q)
    d = js_divergence(p, q)
    assert 0.0 <= d <= 1.0 + 1e-9
    assert d == pytest.approx(js_divergence(q, p), abs=1e-9)
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-9)


def test_js_of_disjoint_histograms_is_one_bit() -> None:
    assert js_divergence(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)


def test_histogram_keeps_points_outside_the_box() -> None:
    h = histogram(np.array([[-100.0, 0], [0.5, 0.5], [100, 100]]), (0, 1, 0, 1), bins=4)
    assert h.sum() == pytest.approx(1.0) and (h > 0).sum() == 3


def test_fit_box_keeps_cells_twice_as_tall_as_wide() -> None:
    x0, x1, y0, y1 = fit_box((-1, 1, -1, 1), cols=40, rows=10)
    assert ((y1 - y0) / 10) == pytest.approx(2 * (x1 - x0) / 40)
    assert x1 - x0 >= 2 and y1 - y0 >= 2


# -- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"loss": "hinge"}, "unknown loss"),
    ({"optimizer": "rmsprop"}, "unknown optimiser"),
    ({"lr_d": 0.0}, "lr-d"),
    ({"lr_g": float("nan")}, "lr-g"),
    ({"d_steps": 0}, "d-steps"),
    ({"noise_dim": 0}, "noise-dim"),
    ({"mode": "video"}, "unknown mode"),
])
def test_bad_settings_are_user_errors(change: dict, message: str) -> None:
    s = GanSettings(**change)
    with pytest.raises(UserError, match=message):
        s.validate()


def test_image_mode_trains_on_digits_only() -> None:
    with pytest.raises(UserError, match="digits"):
        GanSettings.for_mode("images", data="ring").validate()


# -- training ---------------------------------------------------------------------------


def _strip(events) -> list[dict]:
    return [e.to_dict(with_time=False) for e in events]


def test_ring_training_lowers_divergence_and_covers_most_modes() -> None:
    with torch_threads(1):
        trainer = GanTrainer(GanSettings(data="ring", seed=0))
        start = trainer.last_js
        events = list(trainer.train(1000))
    js = [e.js for e in events if e.js is not None]
    assert start > 0.9
    assert min(js[-10:]) < 0.5 * start, "divergence well below its start"
    assert max(e.modes_covered for e in events[-200:] if e.modes_covered is not None) >= 6
    last = events[-1]
    assert last.step == 1000 and last.d_updates == 1000 and last.g_updates == 1000
    assert 0 < last.d_real < 1 and 0 < last.d_fake < 1
    assert all(math.isfinite(e.grad_norm_d) and math.isfinite(e.grad_norm_g) for e in events)
    assert not any(e.mode_collapse for e in events[400:])


def test_a_slow_discriminator_lets_the_generator_collapse() -> None:
    with torch_threads(1):
        trainer = GanTrainer(GanSettings(data="ring", seed=0, lr_d=1e-4, lr_g=1e-3))
        events = list(trainer.train(500))
    assert not any(e.mode_collapse for e in events[:COLLAPSE_WARMUP - 1])
    late = [e for e in events[COLLAPSE_WARMUP:] if e.js is not None]
    assert all(e.mode_collapse and e.modes_reached <= 4 for e in late)


def test_same_seed_same_metrics_and_reset_replays() -> None:
    s = GanSettings(seed=7, eval_every=5)
    with torch_threads(1):
        a = GanTrainer(s)
        first = _strip(a.train(30))
        b = GanTrainer(s)
        assert _strip(b.train(30)) == first
        a.reset()
        assert _strip(a.train(30)) == first
        c = GanTrainer(GanSettings(seed=8, eval_every=5))
        assert _strip(c.train(30)) != first


def test_single_d_and_g_steps_update_only_their_player() -> None:
    with torch_threads(1):
        t = GanTrainer(GanSettings(seed=1))
        g_before = [p.detach().clone() for p in t.G.parameters()]
        ev = t.step_d()
        assert (ev.kind, ev.d_updates, ev.g_updates) == ("d", 1, 0)
        assert all((p == q).all() for p, q in zip(t.G.parameters(), g_before, strict=True))
        d_before = [p.detach().clone() for p in t.D.parameters()]
        ev = t.step_g()
        assert (ev.kind, ev.d_updates, ev.g_updates) == ("g", 1, 1)
        assert all((p == q).all() for p, q in zip(t.D.parameters(), d_before, strict=True))
        t.reset(GanSettings(seed=1, d_steps=3))
        ev = t.step()
        assert (ev.step, ev.d_updates, ev.g_updates) == (1, 3, 1)


@pytest.mark.parametrize(("loss", "optimizer"), [("least-squares", "adam"),
                                                  ("non-saturating", "sgd")])
def test_other_losses_and_optimisers_train(loss: str, optimizer: str) -> None:
    with torch_threads(1):
        t = GanTrainer(GanSettings(loss=loss, optimizer=optimizer, lr_d=0.01, lr_g=0.01,
                                   hidden=16, batch_size=32, data="moons"))
        events = list(t.train(20))
    assert all(math.isfinite(e.d_loss) and math.isfinite(e.g_loss) for e in events)
    assert events[-1].modes_total == 8


def test_points_view_shapes() -> None:
    with torch_threads(1):
        t = GanTrainer(GanSettings(hidden=16))
        view = t.points_view(30, 12, n_real=100, n_fake=50)
    assert isinstance(view, PointsView)
    assert view.decision.shape == (12, 30)
    assert ((view.decision >= 0) & (view.decision <= 1)).all()
    assert view.real.shape == (100, 2) and view.fake.shape == (50, 2)
    with pytest.raises(UserError):
        t.images_view()


def test_csv_data_trains(tmp_path) -> None:
    f = tmp_path / "pts.csv"
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(-5, 0.3, (50, 2)), rng.normal(5, 0.3, (50, 2))])
    f.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in pts))
    with torch_threads(1):
        t = GanTrainer(GanSettings(data=str(f), hidden=16))
        ev = list(t.train(10))[-1]
    assert ev.js is not None and 1 <= ev.modes_total <= 8


def test_bad_csv_leaves_the_trainer_unchanged(tmp_path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("1,2\n3,x\n")
    with torch_threads(1):
        t = GanTrainer(GanSettings(hidden=16))
        with pytest.raises(UserError, match="line 2"):
            t.reset(GanSettings(hidden=16, data=str(f)))
        assert t.settings.data == "ring"
        t.step()


def test_tiny_image_gan_steps_and_is_deterministic() -> None:
    s = GanSettings.for_mode("images", hidden=8, batch_size=8, n_images=64, noise_dim=4)
    with torch_threads(1):
        a = GanTrainer(s)
        ev = _strip(a.train(3))
        view = a.images_view(5)
        b = GanTrainer(s, data=a.data)
        assert _strip(b.train(3)) == ev
    assert isinstance(view, ImagesView) and view.images.shape == (5, 28, 28)
    assert ((view.images >= 0) & (view.images <= 1)).all()
    assert ev[-1]["js"] is None and ev[-1]["modes_total"] in (0, 10)
    if a.modes_total:  # the bundled digit classifier reads the fixed-z samples
        assert 0.0 <= a.last_on_modes <= 1.0 and 0 <= a.last_modes_covered <= 10


def test_image_samples_do_not_depend_on_the_rest_of_the_batch() -> None:
    """G has batch norm: the trainer samples in eval mode (running statistics),
    so a noise vector gives the same image alone or among others, and
    sampling leaves G training with batch statistics again."""
    s = GanSettings.for_mode("images", hidden=8, batch_size=8, n_images=64, noise_dim=4)
    with torch_threads(1):
        t = GanTrainer(s)
        _strip(t.train(5))
        four = t.images_view(4).images
        sixteen = t.images_view(16).images
        assert np.allclose(four, sixteen[:4], atol=1e-6)
        assert t.G.training
        with torch.no_grad():  # in training mode the same z would give another image
            batch_stats = t.G(t.fixed_z[:4])[:, 0].numpy()
        assert not np.allclose(four, batch_stats, atol=1e-3)
