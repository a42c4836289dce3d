"""`genai-tui generate` and the generation service, on tiny random models."""

from __future__ import annotations

import json

import pytest

from genai_tui.cli import app
from genai_tui.errors import UserError
from genai_tui.sampling.knobs import default_knobs
from genai_tui.service import generate as gen
from genai_tui.textsafe import escape_controls
from tests.fixtures.lm import make_model_dir

HOSTILE = "\x1b[2J \x1b]52;c;aGVsbG8=\x07 [bold]x[/] [@click=app.quit]q[/] \u202eevil"
ESC = 27  # the byte token 0x1b


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", block_size=48)


@pytest.fixture(scope="module")
def lm(model_dir):
    return gen.load_model(model_dir)


def run(args: list[str], capsys):
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def text_of(steps) -> str:
    return "".join(s.token for s in steps)


# -- the service ------------------------------------------------------------------


def test_same_seed_same_text_and_different_seed_differs(lm) -> None:
    knobs = gen.Knobs(max_tokens=40, temperature=1.2, seed=5)
    a = text_of(gen.generate("The assert", knobs, lm))
    b = text_of(gen.generate("The assert", knobs, lm))
    c = text_of(gen.generate("The assert", gen.Knobs(max_tokens=40, temperature=1.2, seed=6), lm))
    assert a == b and a != c


def test_greedy_is_deterministic_and_top_k_1_equals_greedy(lm) -> None:
    greedy = [s.id for s in gen.generate("x = 1", gen.Knobs(max_tokens=30, greedy=True), lm)]
    again = [s.id for s in gen.generate("x = 1", gen.Knobs(max_tokens=30, greedy=True, seed=9),
                                        lm)]
    top1 = [s.id for s in gen.generate("x = 1", gen.Knobs(max_tokens=30, top_k=1, seed=3), lm)]
    zero_t = [s.id for s in gen.generate("x = 1", gen.Knobs(max_tokens=30, temperature=0.0), lm)]
    assert greedy == again == top1 == zero_t


def test_token_steps_explain_each_choice(lm) -> None:
    knobs = gen.Knobs(max_tokens=70, temperature=0.8, top_k=50, top_p=0.9, seed=1)
    steps = list(gen.generate("def f():", knobs, lm, top_n=7))
    assert len(steps) == 70  # longer than the 48-position context: the window slides
    assert [s.index for s in steps] == list(range(70))
    assert [s.finish for s in steps[:-1]] == [None] * 69 and steps[-1].finish == "length"
    for s in steps:
        assert [st.name for st in s.stages] == ["temperature", "top-k", "top-p"]
        assert s.stages[1].kept == 50 and s.stages[1].label == "top-k 50"
        assert 1 <= s.stages[2].kept <= 50
        assert len(s.top_before) == 7
        assert s.top_after == s.stages[-1].top
        probs = [c.prob for c in s.top_after]
        assert probs == sorted(probs, reverse=True)
        assert s.id in {c.id for c in s.top_after} or s.prob <= probs[-1]
        assert 0 < s.prob <= 1 and 0 < s.raw_prob <= 1 and s.entropy > 0
    assert all(b.elapsed >= a.elapsed for a, b in zip(steps, steps[1:], strict=False))


def test_prefix_ids_continue_a_branch(lm) -> None:
    knobs = gen.Knobs(max_tokens=12, greedy=True)
    base = list(gen.generate("import os", knobs, lm))
    alt = base[3].top_before[1].id  # the runner-up at position 3
    branch = list(gen.generate("import os", gen.Knobs(max_tokens=5, greedy=True), lm,
                               prefix_ids=[s.id for s in base[:3]] + [alt]))
    assert [s.index for s in branch] == [4, 5, 6, 7, 8]
    same = list(gen.generate("import os", gen.Knobs(max_tokens=4, greedy=True), lm,
                             prefix_ids=[s.id for s in base[:4]]))
    assert [s.id for s in same] == [s.id for s in base[4:8]]
    with pytest.raises(UserError):
        gen.generate("x", knobs, lm, prefix_ids=[99999])


def test_penalties_stop_a_greedy_loop(tmp_path) -> None:
    lm = gen.load_model(make_model_dir(tmp_path / "esc", favour=ESC))
    plain = [s.id for s in gen.generate("a", gen.Knobs(max_tokens=5, greedy=True), lm)]
    assert plain == [ESC] * 5
    penalised = [s.id for s in gen.generate(
        "a", gen.Knobs(max_tokens=5, greedy=True, presence_penalty=10.0,
                       frequency_penalty=10.0, repetition_penalty=10.0), lm)]
    assert penalised[0] == ESC and ESC not in penalised[1:]


def test_stop_strings_end_the_generation(lm) -> None:
    steps = list(gen.generate("The", gen.Knobs(max_tokens=60, greedy=True), lm))
    text = text_of(steps)
    stop = text[10:13]
    stopped = list(gen.generate("The", gen.Knobs(max_tokens=60, greedy=True, stop=(stop,)), lm))
    out = text_of(stopped)
    assert stopped[-1].finish == "stop" and stop in out
    assert stop not in text_of(stopped[:-1])
    assert len(stopped) < len(steps)


def test_split_characters_never_show_replacement_chars(tmp_path) -> None:
    """'é' is the bytes C3 A9, two byte tokens: the first is held back, the
    second completes the character (a branch's prefix primes the decoder)."""
    first = gen.load_model(make_model_dir(tmp_path / "c3", favour=0xC3))
    step = next(gen.generate("a", gen.Knobs(max_tokens=3, greedy=True), first))
    assert step.id == 0xC3 and step.token == ""
    second = gen.load_model(make_model_dir(tmp_path / "a9", favour=0xA9))
    steps = list(gen.generate("a", gen.Knobs(max_tokens=1, greedy=True), second,
                              prefix_ids=[0xC3]))
    assert steps[0].id == 0xA9 and steps[0].token == "é"


# -- the CLI ----------------------------------------------------------------------


def test_cli_streams_text(model_dir, lm, capsys) -> None:
    code, out, err = run(["generate", "The assert", "--model", str(model_dir), "--seed", "4",
                          "-n", "20", "--temperature", "0.9"], capsys)
    assert code == 0, err
    # The CLI starts from the registry's defaults (the pane's), not Knobs()'s neutral ones.
    expected = text_of(gen.generate("The assert", default_knobs(max_tokens=20, temperature=0.9,
                                                                seed=4), lm))
    assert out == escape_controls(expected) + "\n"


def test_cli_top_k_1_equals_greedy(model_dir, capsys) -> None:
    args = ["generate", "for x in", "--model", str(model_dir), "-n", "15"]
    greedy = run(args + ["--greedy"], capsys)
    top1 = run(args + ["--top-k", "1", "--seed", "11"], capsys)
    assert greedy[0] == top1[0] == 0 and greedy[1] == top1[1]


def test_cli_json_schema(model_dir, capsys) -> None:
    code, out, _ = run(["generate", "x", "--model", str(model_dir), "-n", "6", "--json",
                        "--top-k", "8", "--seed", "2", "--stop", "zzzz"], capsys)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 7
    for obj in lines[:-1]:
        assert {"token", "id", "prob", "top"} <= set(obj)
        assert isinstance(obj["token"], str) and isinstance(obj["id"], int)
        assert 0 < obj["prob"] <= 1
        assert 1 <= len(obj["top"]) <= 5
        probs = [c["prob"] for c in obj["top"]]
        assert probs == sorted(probs, reverse=True)
        for c in obj["top"]:
            assert set(c) == {"token", "id", "prob"}
    summary = lines[-1]
    assert summary["done"] is True and summary["tokens"] == 6
    assert summary["stop_reason"] == "length" and summary["seed"] == 2
    assert summary["tokens_per_s"] > 0
    assert summary["text"] == "".join(obj["token"] for obj in lines[:-1])


def test_cli_speculation_saves_passes_and_changes_no_token(capsys) -> None:
    """The bundled model: prompt-lookup guesses are confirmed, so fewer forward
    passes than tokens, and the text is the one plain decoding gives."""
    args = ["generate", "The assert statement", "-n", "120", "--json", "--top-n", "0", "--greedy"]
    summaries = []
    for extra in ([], ["--no-speculative"]):
        code, out, _ = run(args + extra, capsys)
        assert code == 0
        summaries.append(json.loads(out.splitlines()[-1]))
    fast, slow = summaries
    assert fast["text"] == slow["text"] and fast["tokens"] == slow["tokens"] == 120
    assert slow["forward_passes"] == 120  # the prompt, then one per token but the last
    assert fast["forward_passes"] < 100


def test_cli_output_with_escape_sequences_is_visible_text(tmp_path, capsys) -> None:
    folder = make_model_dir(tmp_path / "esc", favour=ESC)
    code, out, _ = run(["generate", HOSTILE, "--model", str(folder), "-n", "5", "--greedy"],
                       capsys)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert out == "␛" * 5 + "\n"


def test_cli_escapes_hostile_tokens_and_markup(monkeypatch, model_dir, capsys) -> None:
    def fake_generate(prompt, knobs, model=None, **kw):
        for i, text in enumerate([HOSTILE, "[red]not red[/red]", "\x9b31m"]):
            yield gen.TokenStep(index=i, id=i, token=text, prob=0.5, top_before=[],
                                top_after=[], stages=[], entropy=1.0, elapsed=0.1)

    monkeypatch.setattr(gen, "generate", fake_generate)
    code, out, _ = run(["generate", HOSTILE, "--model", str(model_dir)], capsys)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\u202e" not in out
    assert "[bold]x[/]" in out and "[red]not red[/red]" in out  # markup stays literal text
    assert "␛[2J" in out


@pytest.mark.parametrize("args,fragment", [
    (["--temperature", "-1"], "temperature"),
    (["--top-p", "0"], "top-p"),
    (["--top-p", "1.5"], "top-p"),
    (["--top-k", "-3"], "top-k"),
    (["--min-p", "2"], "min-p"),
    (["--typical-p", "0"], "typical-p"),
    (["--repetition-penalty", "0"], "repetition"),
    (["--max-tokens", "-1"], "max-tokens"),
    (["--order", "top-k,beam"], "beam"),
    (["--stop", ""], "stop"),
    (["--top-n", "1000"], "top-n"),
    (["--threads", "0"], "threads"),
])
def test_cli_out_of_range_knobs_exit_2_with_one_line(args, fragment, model_dir, capsys) -> None:
    code, out, err = run(["generate", "x", "--model", str(model_dir)] + args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("genai-tui: error:") and fragment in err


# -- beam search: generate --beam ----------------------------------------------------


def test_cli_beam_json_prints_every_step_and_the_services_ranking(model_dir, lm,
                                                                   capsys) -> None:
    from genai_tui.service import beam as bs

    code, out, _ = run(["generate", "def f(x):", "--model", str(model_dir), "--beam", "3",
                        "-n", "6", "--no-end-at-paragraph", "--length-penalty", "0.5", "--json"],
                       capsys)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    steps, summary = lines[:-1], lines[-1]
    expected = list(bs.beam_updates("def f(x):", bs.BeamSettings(
        num_beams=3, max_tokens=6, end_at_paragraph=False, length_penalty=0.5), lm))
    assert [s["step"] for s in steps] == list(range(6)) and steps[-1]["done"]
    for printed, step in zip(steps, expected, strict=True):
        for key in ("live", "pruned", "finished", "kept"):
            assert [b["ids"] for b in printed[key]] == [list(b.ids) for b in getattr(step, key)]
        assert [b["logprob"] for b in printed["live"]] == pytest.approx(
            [b.logprob for b in step.live], abs=1e-4)
        assert all(set(b) >= {"text", "token", "ids", "logprob", "parent"}
                   for b in printed["live"] + printed["pruned"])
    assert len(steps[0]["pruned"]) == 3  # 2 x width candidates, width kept
    assert summary["done"] and summary["stop_reason"] == "length" and summary["steps"] == 6
    assert summary["early_stopping"] is False and summary["end_at_paragraph"] is False
    assert [r["ids"] for r in summary["ranking"]] == [list(b.ids) for b in expected[-1].ranking]
    assert [r["score"] for r in summary["ranking"]] == pytest.approx(
        [b.score for b in expected[-1].ranking])
    assert summary["text"] == expected[-1].ranking[0].text


def test_cli_beam_text_lists_live_pruned_and_the_final_ranking(model_dir, lm, capsys) -> None:
    code, out, err = run(["generate", "x = 1", "--model", str(model_dir), "--beam", "2",
                          "-n", "4", "--no-end-at-paragraph"], capsys)
    assert code == 0
    assert err.count("step ") >= 4 and "pruned 2: [" in err and "(+" not in err
    assert "final ranking (score = log-prob / length ** length-penalty):" in err
    assert "  1. score" in err and "  2. score" in err
    assert out.startswith("x = 1")


def test_beam_options_come_from_the_knob_registry(capsys) -> None:
    """One set of names, ranges and defaults: the CLI's options, the pane's beam grid
    and the service's `BeamSettings` all read `sampling.knobs.BEAM_KNOBS`."""
    from genai_tui.sampling.knobs import BEAM_KNOBS
    from genai_tui.service.beam import BeamSettings
    from genai_tui.tui.panes.generate.knob_specs import BEAM_SPECS

    code, out, _ = run(["generate", "--help"], capsys)
    assert code == 0
    for knob in BEAM_KNOBS:
        assert knob.option in out
        assert getattr(BeamSettings(), knob.field) == knob.default
        spec = next(s for s in BEAM_SPECS if s.field == knob.field)
        assert (spec.label, spec.help, spec.choices) == (knob.label, knob.help, knob.choices)
    assert "--no-end-at-paragraph" in out
    assert [s.field for s in BEAM_SPECS] == ["num_beams", "length_penalty", "early_stopping",
                                             "max_tokens", "end_at_paragraph"]


@pytest.mark.parametrize("args,fragment", [
    (["--beam", "65"], "beam width must be a whole number in [1, 64]"),
    (["--beam", "2", "--length-penalty", "11"], "length penalty must be a number in [-10, 10]"),
    (["--beam", "2", "--early-stopping", "maybe"], "early-stopping must be one of false, true"),
    (["--beam", "2", "--backend", "http://127.0.0.1:9/v1"], "local model only"),
    (["--beam", "2", "-n", "60"], "context"),
])
def test_cli_bad_beam_settings_exit_2_with_one_line(args, fragment, model_dir, capsys) -> None:
    code, out, err = run(["generate", "x", "--model", str(model_dir)] + args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err, err


def test_cli_missing_model_exits_2(tmp_path, capsys) -> None:
    code, _, err = run(["generate", "x", "--model", str(tmp_path / "none")], capsys)
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


def test_cli_train_lm_writes_a_model_and_resumes(tmp_path, capsys) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("def f(x):\n    return x + 1\n" * 200, encoding="utf-8")
    out = tmp_path / "lm"
    base = ["train", "lm", "--corpus", str(corpus), "--out", str(out), "--batch-size", "2",
            "--block-size", "16", "--layers", "1", "--heads", "1", "--width", "16",
            "--eval-every", "5", "--checkpoint-every", "5", "--seed", "3"]
    code, stdout, err = run(base + ["--steps", "5"], capsys)
    assert code == 0, err
    assert "validation loss" in stdout
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 5 and card["command"].startswith("genai-tui train lm")
    code, stdout, err = run(base + ["--steps", "8", "--resume"], capsys)
    assert code == 0, err
    assert json.loads((out / "card.json").read_text())["steps"] == 8
    assert "resuming from step 5" in err
    code, _, err = run(["generate", "def", "--model", str(out), "-n", "3"], capsys)
    assert code == 0


def test_cli_train_lm_errors_exit_2(tmp_path, capsys) -> None:
    code, _, err = run(["train", "lm", "--out", str(tmp_path / "x"), "--resume"], capsys)
    assert code == 2 and "nothing to resume" in err
    code, _, err = run(["train", "lm", "--corpus", str(tmp_path / "missing.txt"), "--out",
                        str(tmp_path / "y"), "--steps", "1"], capsys)
    assert code == 2 and "does not exist" in err


def test_typical_p_cut_of_the_most_likely_tokens_is_known_not_unknown(lm) -> None:
    """Typical-p can remove the top tokens while keeping many others: the
    candidates table must say "cut" for them, not "unknown" (issue 12)."""
    from genai_tui.tui.panes.generate.render import candidate_rows

    knobs = gen.Knobs(max_tokens=12, temperature=1.0, typical_p=0.2, seed=1, top_k=0,
                      top_p=1.0)
    seen_cut = 0
    for step in gen.generate("def f(x):", knobs, lm, speculative=False):
        final = {c.id for c in step.top_after}
        assert step.cut.isdisjoint(final)
        assert step.cut <= {c.id for c in step.top_before}
        rows = {r.id: r for r in candidate_rows(step)}
        for cid in step.cut:
            assert rows[cid].after == 0.0  # shown as "cut"
        seen_cut += len(step.cut)
        assert step.id not in step.cut
    assert seen_cut > 0
