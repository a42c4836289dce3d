"""Export our language model to standard formats: a Hugging Face folder and GGUF.

* ``export_hf(lm, DIR)`` writes ``config.json`` (GPT-2), ``model.safetensors``
  (Hugging Face ``GPT2LMHeadModel`` names, Conv1D layout), ``tokenizer.json``
  (our byte-level BPE as a ``tokenizers`` BPE model), ``tokenizer_config.json``
  and ``generation_config.json``. ``AutoModelForCausalLM`` / ``AutoTokenizer``
  load the folder offline; llama.cpp's ``convert_hf_to_gguf.py`` reads the
  same ``config.json`` keys (``n_ctx``, ``n_embd``, ...).
* ``export_gguf(lm, FILE)`` writes GGUF with the ``gguf`` package, as
  llama.cpp's converter writes a GPT-2: ``general.architecture = "gpt2"``,
  tensor names from ``gguf.get_tensor_name_map(MODEL_ARCH.GPT2)``, weights in
  (out, in) layout (the converter transposes HF's Conv1D back), 1-D tensors
  always float32, ``output.weight`` a copy of the tied token embedding, and the
  tokenizer as ``tokenizer.ggml.model = "gpt2"`` with tokens, token types and
  merges.

The tokenizer translation. Our BPE (`genai_tui.tokenizers.bpe`) runs
tiktoken's algorithm: pre-split with a regex, then per piece merge the
adjacent pair whose *concatenation* has the lowest id. A ``tokenizers`` BPE
merges the pair with the lowest *merge rank*. The merge list we write has,
for every token in id order, its recorded merge and then every other split
of its bytes into two tokens, so a pair's rank follows its result's id; with
``ignore_merges`` (a piece that is a token maps directly, as in tiktoken)
both engines agree. The only possible difference: two *different* pairs
that overlap and make the same token (``ab|a`` and ``a|ba`` -> ``aba``),
where tiktoken takes the leftmost and ``tokenizers`` the earlier-listed pair;
no such case occurs on the corpus or in the fuzz tests (``tests/cli/test_export.py``).
The pre-split regex is rewritten for Oniguruma (what ``tokenizers`` uses):
``\\p{N}{1,3}+`` is not possessive there (it means "one or more groups of
1-3 digits"), so it becomes ``\\p{N}{1,3}``; ``$`` (end of *line* in
Oniguruma's Ruby syntax, end of text in tiktoken) becomes ``\\z`` -- the same
matches here, since ``\\s++`` has already eaten any newline, but explicit.

No special tokens: the model was trained without any, so ``bos``/``eos``
are left unset in the HF files and the GGUF (llama.cpp then falls back to
its defaults; generate with a token limit).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from genai_tui.errors import UserError
from genai_tui.paths import probe_writable

FORMATS = ("hf", "gguf")
DTYPES = ("f32", "f16")
GGUF_PRE_TOKENIZER = "llama-bpe"
"""llama.cpp's closest pre-tokenizer to our cl100k-style pattern (see the report)."""


@dataclass(frozen=True)
class ExportResult:
    """What was written."""

    format: str
    path: Path
    files: tuple[Path, ...]
    dtype: str
    tensors: int
    vocab_size: int
    merges: int


# -- tokenizer -------------------------------------------------------------------


def _byte_to_unicode() -> dict[int, str]:
    from genai_tui.tokenizers.hf import gpt2_byte_decoder

    return {b: c for c, b in gpt2_byte_decoder().items()}


def onig_pattern(pattern: str) -> str:
    """Our (fancy-regex / tiktoken) pre-split pattern, rewritten for Oniguruma."""
    return pattern.replace("{1,3}+", "{1,3}").replace("++$", "++\\z")


def hf_vocab_and_merges(tokenizer) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The byte-level vocabulary (GPT-2 printable characters) and the merge list
    that reproduces tiktoken's lowest-id-first order (see the module docstring)."""
    from genai_tui.tokenizers.bpe import BPETokenizer
    from genai_tui.tokenizers.simple import ByteTokenizer

    table = _byte_to_unicode()

    def chars(b: bytes) -> str:
        return "".join(table[x] for x in b)

    if isinstance(tokenizer, ByteTokenizer):
        return {chars(bytes([b])): b for b in range(256)}, []
    if not isinstance(tokenizer, BPETokenizer):
        raise UserError(f"cannot export tokenizer {tokenizer.name!r} ({tokenizer.kind}): "
                        "only our byte-level BPE and the byte tokenizer are exportable")
    size = tokenizer.vocab_size
    tb = [tokenizer.token_bytes(i) for i in range(size)]
    vocab = {chars(b): i for i, b in enumerate(tb)}
    merges: list[tuple[str, str]] = []
    for t in range(256, size):
        left, right = tokenizer.merges[t - 256]
        merges.append((chars(tb[left]), chars(tb[right])))
        whole = tb[t]
        for k in range(1, len(whole)):
            a, b = whole[:k], whole[k:]
            ra, rb = tokenizer.ranks.get(a), tokenizer.ranks.get(b)
            if ra is not None and rb is not None and (ra, rb) != (left, right):
                merges.append((chars(a), chars(b)))
    return vocab, merges


def hf_tokenizer(tokenizer):  # noqa: ANN201 - tokenizers.Tokenizer
    """Our tokenizer as a Hugging Face ``tokenizers.Tokenizer`` (byte-level BPE)."""
    from tokenizers import Regex, decoders, models, pre_tokenizers
    from tokenizers import Tokenizer as HFTokenizer

    vocab, merges = hf_vocab_and_merges(tokenizer)
    hf = HFTokenizer(models.BPE(vocab, merges, fuse_unk=False, ignore_merges=True))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    pattern = getattr(tokenizer, "pattern", None)
    if pattern:
        hf.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(onig_pattern(pattern)), behavior="isolated"), byte_level])
    else:
        hf.pre_tokenizer = byte_level
    hf.decoder = decoders.ByteLevel()
    return hf


# -- destinations -------------------------------------------------------------------


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _check_not_source(dest: Path, lm) -> None:  # noqa: ANN001 - LanguageModel
    """Never write into the bundled assets or the model folder being exported
    (``--force`` there would delete the source)."""
    from genai_tui.paths import assets_dir

    source = getattr(lm, "path", None)
    if _inside(dest, assets_dir()):
        raise UserError(f"{str(dest)!r} is inside the bundled assets ({assets_dir()}); "
                        "export somewhere else")
    if source is not None and (_inside(dest, Path(source)) or _inside(Path(source), dest)):
        raise UserError(f"{str(dest)!r} overlaps the model folder being exported "
                        f"({source}); export somewhere else")


def _check_dir(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{str(directory)!r} is a file; --format hf writes a folder")
    if directory.is_dir() and any(directory.iterdir()):
        if not force:
            raise UserError(f"{str(directory)!r} exists and is not empty (use --force to "
                            "replace its contents)")
        probe_writable(directory, directory)
        for child in directory.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    if not directory.parent.is_dir():
        raise UserError(f"cannot write {directory}: folder {str(directory.parent)!r} "
                        "does not exist")
    try:
        directory.mkdir(exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {str(directory)!r}: {e.strerror or e}") from None
    probe_writable(directory, directory)


def _check_file(path: Path, force: bool) -> None:
    if path.is_dir():
        raise UserError(f"{str(path)!r} is a folder; --format gguf writes a file")
    if path.exists() and not force:
        raise UserError(f"{str(path)!r} exists (use --force to overwrite it)")
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: folder {str(path.parent)!r} does not exist")
    probe_writable(path.parent, path)


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")


# -- Hugging Face ------------------------------------------------------------------


def hf_config(config) -> dict:  # noqa: ANN001 - GPTConfig
    """``config.json`` for ``transformers.GPT2Config`` (and llama.cpp's converter)."""
    from genai_tui.models.gpt import hf_gpt2_config_kwargs

    kw = hf_gpt2_config_kwargs(config)
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": kw["vocab_size"], "n_positions": kw["n_positions"],
        "n_ctx": kw["n_positions"], "n_embd": kw["n_embd"], "n_layer": kw["n_layer"],
        "n_head": kw["n_head"], "n_inner": None,
        "activation_function": kw["activation_function"],
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
        "layer_norm_epsilon": kw["layer_norm_epsilon"], "initializer_range": 0.02,
        "scale_attn_weights": True, "use_cache": True, "tie_word_embeddings": True,
        "bos_token_id": None, "eos_token_id": None, "torch_dtype": "float32",
    }


def export_hf(lm, directory: str | os.PathLike[str], *, dtype: str = "f32",
              force: bool = False) -> ExportResult:
    """Write ``lm`` (a `service.generate.LanguageModel`) as a Hugging Face folder."""
    _check_dtype(dtype)
    out = Path(directory).expanduser()
    hf_tok = hf_tokenizer(lm.tokenizer)  # before touching the disk: may refuse
    _check_not_source(out, lm)
    _check_dir(out, force)

    import torch
    from safetensors.torch import save_file

    from genai_tui.models.gpt import to_hf_gpt2_state_dict

    cast = torch.float16 if dtype == "f16" else torch.float32
    state = {name: t.detach().to(cast).contiguous()
             for name, t in to_hf_gpt2_state_dict(lm.model).items()
             if name != "lm_head.weight"}  # tied to transformer.wte.weight
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = hf_config(lm.model.config)
    config["torch_dtype"] = "float16" if dtype == "f16" else "float32"
    files = {
        "config.json": config,
        "generation_config.json": {"_from_model_config": True, "bos_token_id": None,
                                   "eos_token_id": None},
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": lm.block_size,
            "add_bos_token": False, "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
        },
    }
    for name, data in files.items():
        (out / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    hf_tok.save(str(out / "tokenizer.json"))
    written = tuple(sorted(out / n for n in [*files, "tokenizer.json", "model.safetensors"]))
    _, merges = hf_vocab_and_merges(lm.tokenizer)
    return ExportResult("hf", out, written, dtype, len(state), lm.vocab_size, len(merges))


# -- GGUF -------------------------------------------------------------------------


def gguf_tensors(model, dtype: str = "f32") -> dict:  # noqa: ANN001 - GPT
    """GGUF name -> numpy array, as llama.cpp's converter lays out a GPT-2."""
    import gguf
    import numpy as np

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GPT2, model.config.n_layer)
    out = {}
    for name, t in model.state_dict().items():
        if name == "lm_head.weight":
            continue
        new = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ValueError(f"no GGUF name for tensor {name}")
        a = t.detach().float().cpu().numpy()
        # 1-D tensors (norms, biases) stay float32, as the converter writes them.
        a = a.astype(np.float16) if dtype == "f16" and a.ndim > 1 else a.astype(np.float32)
        out[new] = np.ascontiguousarray(a)
        if new == "token_embd.weight":  # GPT-2's output is tied: the converter copies it
            out["output.weight"] = out[new].copy()
    return out


def export_gguf(lm, path: str | os.PathLike[str], *, dtype: str = "f32",
                force: bool = False) -> ExportResult:
    """Write ``lm`` as one GGUF file (GPT-2 architecture, our BPE)."""
    _check_dtype(dtype)
    out = Path(path).expanduser()
    vocab, merges = hf_vocab_and_merges(lm.tokenizer)
    _check_not_source(out, lm)
    _check_file(out, force)

    import gguf

    c = lm.model.config
    tensors = gguf_tensors(lm.model, dtype)
    tmp = out.with_name(out.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.GPT2])
    try:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(lm.name)
        writer.add_block_count(c.n_layer)
        writer.add_context_length(c.block_size)
        writer.add_embedding_length(c.n_embd)
        writer.add_feed_forward_length(4 * c.n_embd)
        writer.add_head_count(c.n_head)
        writer.add_layer_norm_eps(1e-5)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16"
                             else gguf.LlamaFileType.ALL_F32)
        tokens = sorted(vocab, key=vocab.__getitem__)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(GGUF_PRE_TOKENIZER)
        writer.add_token_list(tokens)
        writer.add_token_types([gguf.TokenType.NORMAL] * len(tokens))
        writer.add_token_merges([f"{a} {b}" for a, b in merges])
        writer.add_add_bos_token(False)
        pattern = getattr(lm.tokenizer, "pattern", None)
        if pattern:
            writer.add_string("genai_tui.tokenizer.pre_split_pattern", pattern)
        for name, array in tensors.items():
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp, out)
    return ExportResult("gguf", out, (out,), dtype, len(tensors), len(tokens), len(merges))


def export(lm, fmt: str, dest: str | os.PathLike[str], *, dtype: str = "f32",
           force: bool = False) -> ExportResult:
    """Dispatch on ``fmt`` ("hf" or "gguf")."""
    writers = {"hf": export_hf, "gguf": export_gguf}
    if fmt in writers:
        try:
            return writers[fmt](lm, dest, dtype=dtype, force=force)
        except OSError as e:  # e.g. the disk filled up while writing
            raise UserError(f"cannot write {dest}: {e.strerror or e}") from None
    raise UserError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
