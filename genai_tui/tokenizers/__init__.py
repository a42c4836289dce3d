"""Tokenizers: pure Python (+ tiktoken / tokenizers engines), no UI, no torch.

- `bpe`: our byte-level BPE (trainer, ``.bpe`` text format, tiktoken engine,
  plain-Python merge replay) and `RankedBPE` for any tiktoken-style ranks;
- `simple`: `ByteTokenizer` and `CharTokenizer`;
- `tiktoken_files`: OpenAI rank files found offline; `hf`: ``tokenizer.json``;
- `registry`: names -> tokenizers, and what this machine has;
- `streaming`: `StreamDecoder`, token bytes in, complete UTF-8 text out.

All share the `Tokenizer` interface (`base.py`).
"""

from genai_tui.tokenizers.base import Tokenizer

__all__ = ["Tokenizer"]
