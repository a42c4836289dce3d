"""The tokenizer pane's fixed words: its F1 help and the sample text it starts with."""

SAMPLE_TEXT = (
    "I want to learn Generative AI.\n"
    "Tokenizers cut text into pieces: common words stay whole, rare ones split "
    "(antidisestablishmentarianism).\n"
    "def greet(name):\n"
    "\treturn f\"Hello, {name}!\"  # 2 spaces, a tab\n"
    "Numbers 1234567, emoji 🙂, café, naïve, 東京"
)
"""The text in the box at start: words, rare words, code, numbers, emoji, accents, CJK."""

HELP = """\
Language models read **tokens**, not letters. A tokenizer cuts text into pieces
from a fixed vocabulary and the model only ever sees their ids. Type or paste in
the box: each coloured span is one token with its id beneath (`·` is a space,
`→` a tab, `↵` a newline, `␛` an escape character).

**Byte-pair encoding (BPE)** starts from the text's raw UTF-8 bytes and keeps
merging adjacent pairs into new tokens. Training learned the merges from a
corpus, most frequent pair first; that order is the merge's **rank**, and
encoding applies the lowest-ranked merge first until none applies. Frequent
words end up as one token, rare words as several.

- **Tokens** (F4): select a token (Tab to the tokens, then ←/→/↑/↓, or click)
  to see its id, bytes and the two tokens it was merged from.
- **Replay** (F5): watch your own text go from bytes to tokens, one merge at a
  time (←/→, Home/End, or the buttons).
- **Vocab** (F6): search the vocabulary by text or id.
- **Compare** (F7): two tokenizers side by side; fewer tokens for the same text
  means more text fits in a model's context.
"""
"""The pane's F1 help (Markdown)."""
