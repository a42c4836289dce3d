"""`genai-tui export`: the HF folder loads in transformers and agrees with our model;
the tokenizer tokenizes like ours; the GGUF file reads back with gguf's reader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genai_tui.cli import app
from genai_tui.errors import UserError
from genai_tui.service import export as ex
from genai_tui.service import generate as gen
from tests.fixtures.lm import make_model_dir

transformers = pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("lm") / "tiny", seed=4, block_size=64)


@pytest.fixture(scope="module")
def lm(model_dir):
    return gen.load_model(model_dir)


@pytest.fixture(scope="module")
def hf_dir(lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "hf"
    ex.export_hf(lm, out)
    return out


@pytest.fixture(scope="module")
def hf_model(hf_dir):
    return transformers.AutoModelForCausalLM.from_pretrained(
        hf_dir, local_files_only=True).eval()


@pytest.fixture(scope="module")
def hf_tok(hf_dir):
    return transformers.AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)


@pytest.fixture(scope="module")
def gguf_file(lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "tiny.gguf"
    ex.export_gguf(lm, out)
    return out


def run(args: list[str], capsys):
    with pytest.raises(SystemExit) as e:
        app(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


TEXTS = [
    "def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    "héllo wörld, naïve café; 日本語のテキスト 🤖🎉 e\u0301 \u200d\u00a0\u3000",
    "   leading\n\n\n   \t  trailing   ",
    "a  \n\nb\r\n\r\n  \x0b\x0c",
    "1234567 12,345.678 0x2a 0b101010 3.14e-10",
    "I'm sure you'RE right; they'll've DON'T",
    "",
    " ",
    "\n",
    "x" * 300,
    "if (a && b) { return [1, 2, 3]; } // C-style",
    "Ünïcödé ΑΒΓ абв עברית العربية",
]


# -- the Hugging Face folder ------------------------------------------------------------


def test_hf_folder_has_the_standard_files(hf_dir, lm) -> None:
    names = {p.name for p in hf_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json"} <= names
    config = json.loads((hf_dir / "config.json").read_text())
    assert config["model_type"] == "gpt2" and config["architectures"] == ["GPT2LMHeadModel"]
    assert config["n_ctx"] == config["n_positions"] == lm.block_size  # what llama.cpp reads


def test_hf_model_logits_equal_ours(hf_model, lm) -> None:
    assert isinstance(hf_model, transformers.GPT2LMHeadModel)
    for text in ["def f(x):\n    return", "The quick brown fox jumps"]:
        ids = torch.tensor([lm.encode(text)])
        with torch.inference_mode():
            ours, theirs = lm.model(ids), hf_model(ids).logits
        assert ours.shape == theirs.shape
        assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()


def test_hf_greedy_tokens_equal_ours(hf_model, lm) -> None:
    for prompt in ["import os\n", "The ", "x = [1, 2"]:
        ids = lm.encode(prompt)
        ours = [s.id for s in gen.generate(prompt, gen.Knobs(max_tokens=24, greedy=True), lm,
                                           speculative=False)]
        with torch.inference_mode():
            out = hf_model.generate(torch.tensor([ids]), attention_mask=torch.ones(
                1, len(ids), dtype=torch.long), max_new_tokens=24, do_sample=False,
                pad_token_id=0)
        assert out[0, len(ids):].tolist() == ours


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_hf_tokenizer_tokenizes_like_ours(hf_tok, lm, text) -> None:
    ids = hf_tok(text, add_special_tokens=False)["input_ids"]
    assert ids == lm.encode(text)
    assert hf_tok.decode(ids) == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
       | st.lists(st.sampled_from([" ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "a", "Z", "é",
                                   "日", "🤖", "1", "23", "456", "(", ")", "_", ".", "\u00a0",
                                   "def", " return", "x"]), max_size=25).map("".join))
def test_hf_tokenizer_matches_ours_on_any_text(hf_tok, lm, text) -> None:
    assert hf_tok(text, add_special_tokens=False)["input_ids"] == lm.encode(text)


def test_hf_tokenizer_on_the_corpus_slice(lm) -> None:
    """Our own tokenizer engine (no transformers) over real docstrings and code."""
    from genai_tui.corpus import build_corpus

    hf = ex.hf_tokenizer(lm.tokenizer)
    corpus = build_corpus()
    paragraphs = corpus[: 200_000].split("\n\n")
    encoded = hf.encode_batch(paragraphs, add_special_tokens=False)
    bad = [p for p, e in zip(paragraphs, encoded, strict=True) if e.ids != lm.encode(p)]
    assert bad == []


def test_onig_pattern_rewrites_the_two_differences() -> None:
    from genai_tui.tokenizers.bpe import load_default

    pattern = ex.onig_pattern(load_default().pattern)
    assert "{1,3}+" not in pattern and "\\p{N}{1,3}|" in pattern
    assert "\\s++\\z" in pattern and "$" not in pattern


def test_merges_cover_every_token_once_in_id_order(lm) -> None:
    vocab, merges = ex.hf_vocab_and_merges(lm.tokenizer)
    assert len(vocab) == lm.vocab_size
    made = [vocab[a + b] for a, b in merges]
    assert made == sorted(made)  # rank follows the result's id, as in tiktoken
    assert set(made) == set(range(256, lm.vocab_size))
    assert len(set(merges)) == len(merges)


def test_hf_export_f16_halves_the_weights(lm, tmp_path) -> None:
    from safetensors import safe_open

    ex.export_hf(lm, tmp_path / "h", dtype="f16")
    with safe_open(str(tmp_path / "h" / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
        assert "transformer.h.0.attn.c_attn.weight" in f.keys()
        assert "lm_head.weight" not in f.keys()  # tied


def test_bundled_lm_exports_and_tokenizes_alike(tmp_path) -> None:
    lm = gen.load_model()
    hf = ex.hf_tokenizer(lm.tokenizer)
    for text in TEXTS:
        assert hf.encode(text, add_special_tokens=False).ids == lm.encode(text)
    result = ex.export_gguf(lm, tmp_path / "lm.gguf", dtype="f16")
    reader = gguf.GGUFReader(str(result.path))
    assert len(reader.tensors) == 4 * 12 + 5  # 12 per block + 2 embeddings, 2 norm, output
    emb = next(t for t in reader.tensors if t.name == "token_embd.weight")
    assert emb.tensor_type == gguf.GGMLQuantizationType.F16
    assert np.allclose(np.asarray(emb.data, dtype=np.float32),
                       lm.model.transformer.wte.weight.detach().numpy(), atol=1e-3)


def test_bundled_lm_hf_folder_gives_our_logits(tmp_path) -> None:
    lm = gen.load_model()
    ex.export_hf(lm, tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf",
                                                           local_files_only=True).eval()
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf", local_files_only=True)
    text = "The assert statement"
    assert tok(text)["input_ids"] == lm.encode(text)
    ids = torch.tensor([lm.encode(text)])
    with torch.inference_mode():
        assert torch.allclose(hf(ids).logits, lm.model(ids), atol=1e-4)


# -- GGUF ---------------------------------------------------------------------------


def _field(reader, key):
    f = reader.fields[key]
    return f.contents()


def test_gguf_metadata_is_llama_cpp_gpt2(gguf_file, lm) -> None:
    r = gguf.GGUFReader(str(gguf_file))
    c = lm.model.config
    assert _field(r, "general.architecture") == "gpt2"
    assert _field(r, "gpt2.block_count") == c.n_layer
    assert _field(r, "gpt2.context_length") == c.block_size
    assert _field(r, "gpt2.embedding_length") == c.n_embd
    assert _field(r, "gpt2.feed_forward_length") == 4 * c.n_embd
    assert _field(r, "gpt2.attention.head_count") == c.n_head
    assert abs(_field(r, "gpt2.attention.layer_norm_epsilon") - 1e-5) < 1e-9
    assert _field(r, "general.file_type") == int(gguf.LlamaFileType.ALL_F32)
    assert _field(r, "tokenizer.ggml.model") == "gpt2"


def test_gguf_vocabulary_and_merges(gguf_file, lm) -> None:
    r = gguf.GGUFReader(str(gguf_file))
    from genai_tui.tokenizers.hf import gpt2_byte_decoder

    decode = gpt2_byte_decoder()
    tokens = _field(r, "tokenizer.ggml.tokens")
    assert len(tokens) == lm.vocab_size
    assert [bytes(decode[ch] for ch in t) for t in tokens] == [
        lm.token_bytes(i) for i in range(lm.vocab_size)]
    assert _field(r, "tokenizer.ggml.token_type") == [int(gguf.TokenType.NORMAL)] * lm.vocab_size
    merges = _field(r, "tokenizer.ggml.merges")
    vocab, expected = ex.hf_vocab_and_merges(lm.tokenizer)
    assert merges == [f"{a} {b}" for a, b in expected]
    left, right = lm.tokenizer.merges[0]  # the first merge is our first merge
    first = merges[0].split(" ")
    assert [vocab[first[0]], vocab[first[1]]] == [left, right]


def test_gguf_tensors_names_shapes_values(gguf_file, lm) -> None:
    r = gguf.GGUFReader(str(gguf_file))
    got = {t.name: t for t in r.tensors}
    c = lm.model.config
    expected_names = {"token_embd.weight", "position_embd.weight", "output_norm.weight",
                      "output_norm.bias", "output.weight"}
    for i in range(c.n_layer):
        for part in ("attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"):
            expected_names |= {f"blk.{i}.{part}.weight", f"blk.{i}.{part}.bias"}
    assert set(got) == expected_names
    sd = {k: v.detach().numpy() for k, v in lm.model.state_dict().items()}
    pairs = {"token_embd.weight": "transformer.wte.weight",
             "output.weight": "lm_head.weight",
             "position_embd.weight": "transformer.wpe.weight",
             "blk.1.attn_qkv.weight": "transformer.h.1.attn.c_attn.weight",
             "blk.0.ffn_down.weight": "transformer.h.0.mlp.c_proj.weight",
             "blk.0.ffn_up.bias": "transformer.h.0.mlp.c_fc.bias",
             "output_norm.weight": "transformer.ln_f.weight"}
    for g, ours in pairs.items():
        t = got[g]
        assert list(t.shape) == list(reversed(sd[ours].shape))  # ggml's ne order
        assert np.array_equal(np.asarray(t.data).reshape(sd[ours].shape), sd[ours])
    # (out, in) layout as the converter writes it: ffn_up is (4*n_embd, n_embd) in numpy
    assert np.asarray(got["blk.0.ffn_up.weight"].data).shape == (4 * c.n_embd, c.n_embd)


def test_gguf_f16_keeps_vectors_f32(lm, tmp_path) -> None:
    ex.export_gguf(lm, tmp_path / "m.gguf", dtype="f16")
    r = gguf.GGUFReader(str(tmp_path / "m.gguf"))
    types = {t.name: t.tensor_type for t in r.tensors}
    assert types["blk.0.attn_qkv.weight"] == gguf.GGMLQuantizationType.F16
    assert types["blk.0.attn_qkv.bias"] == gguf.GGMLQuantizationType.F32
    assert types["output_norm.weight"] == gguf.GGMLQuantizationType.F32
    assert _field(r, "general.file_type") == int(gguf.LlamaFileType.MOSTLY_F16)


# -- errors and the CLI -------------------------------------------------------------------


def test_refuses_non_empty_dir_without_force(lm, tmp_path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty.*--force"):
        ex.export_hf(lm, out)
    assert (out / "keep.txt").read_text() == "mine"
    ex.export_hf(lm, out, force=True)
    assert not (out / "keep.txt").exists() and (out / "config.json").is_file()


def test_refuses_existing_gguf_and_bad_destinations(lm, tmp_path) -> None:
    f = tmp_path / "x.gguf"
    f.write_bytes(b"old")
    with pytest.raises(UserError, match="exists.*--force"):
        ex.export_gguf(lm, f)
    assert f.read_bytes() == b"old"
    with pytest.raises(UserError, match="is a folder"):
        ex.export_gguf(lm, tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        ex.export_gguf(lm, tmp_path / "no" / "x.gguf")
    with pytest.raises(UserError, match="is a file"):
        ex.export_hf(lm, f)
    with pytest.raises(UserError, match="dtype"):
        ex.export_hf(lm, tmp_path / "new", dtype="bf16")
    assert not (tmp_path / "new").exists()


def test_refuses_the_source_folder_and_the_bundled_assets(lm, model_dir, tmp_path) -> None:
    from genai_tui.paths import asset

    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    with pytest.raises(UserError, match="overlaps the model folder"):
        ex.export_hf(lm, model_dir, force=True)
    with pytest.raises(UserError, match="overlaps the model folder"):
        ex.export_gguf(lm, model_dir / "m.gguf")
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    with pytest.raises(UserError, match="bundled assets"):
        ex.export_hf(lm, asset("lm"), force=True)
    with pytest.raises(UserError, match="bundled assets"):
        ex.export_gguf(lm, asset("lm.gguf"))
    assert not asset("lm.gguf").exists()
    with pytest.raises(UserError, match="does not exist"):
        ex.export_hf(lm, tmp_path / "no" / "hf")


@pytest.mark.parametrize("fmt,dest", [("gguf", "/proc/genai-x.gguf"), ("hf", "/proc/genai-x")])
def test_cli_unwritable_destination_is_one_line(fmt, dest, model_dir, capsys) -> None:
    code, out, err = run(["export", "-f", fmt, dest, "-m", str(model_dir)], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith("genai-tui: error:") and err.count("\n") == 1


def test_cli_exports_hf_and_gguf(model_dir, tmp_path, capsys) -> None:
    code, out, err = run(["export", "--format", "hf", str(tmp_path / "hf"), "--model",
                          str(model_dir)], capsys)
    assert code == 0, err
    assert "wrote" in out and (tmp_path / "hf" / "tokenizer.json").is_file()
    code, out, err = run(["export", "-f", "gguf", str(tmp_path / "m.gguf"), "-m", str(model_dir),
                          "--dtype", "f16", "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "gguf" and info["dtype"] == "f16" and info["tensors"] == 2 * 12 + 5
    assert gguf.GGUFReader(str(tmp_path / "m.gguf")).tensors


@pytest.mark.parametrize("args,fragment", [
    (["--format", "onnx"], "unknown format 'onnx'"),
    (["--format", "hf", "--dtype", "q4"], "unknown dtype 'q4'"),
])
def test_cli_bad_options_exit_2_with_one_line(args, fragment, model_dir, tmp_path, capsys) -> None:
    code, out, err = run(["export", str(tmp_path / "o"), "-m", str(model_dir)] + args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("genai-tui: error:") and fragment in err


def test_cli_existing_dir_and_missing_model_exit_2(model_dir, tmp_path, capsys) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a").write_text("x")
    code, _, err = run(["export", "-f", "hf", str(tmp_path / "full"), "-m", str(model_dir)],
                       capsys)
    assert code == 2 and "--force" in err and err.count("\n") == 1
    code, _, err = run(["export", "-f", "hf", str(tmp_path / "o"), "-m", str(tmp_path / "nope")],
                       capsys)
    assert code == 2 and "does not exist" in err and err.count("\n") == 1
    code, _, err = run(["export", str(tmp_path / "o")], capsys)
    assert code == 2 and "--format" in err
