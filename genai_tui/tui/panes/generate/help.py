"""The generate pane's F1 help (Markdown): what the pane shows and every key."""

HELP = """
A small GPT-style transformer (trained on Python's documentation) writes a
continuation of your prompt **one token at a time**. At each step it gives a
probability to every token of its vocabulary; the **sampler chain** (the knobs)
reshapes that distribution, then one token is drawn.

- **Colours** show how likely the chosen token was (legend bottom right);
  unlikely tokens are also *italic* or underlined. `p` shows the digits.
- **Candidates** (right): the model's top tokens *before* the knobs and
  *after* them, and the **sampler X-ray**: what each stage leaves and how many
  tokens survive it (e.g. "top-p 0.95 keeps 23").
- **Knobs**: temperature, top-k, top-p, min-p, typical-p, repetition /
  presence / frequency penalties, max tokens, stop strings, seed, greedy and
  the order of the stages. Focus the knob row (Tab or click): ↑/↓ pick a knob,
  ←/→ change it, Enter types a value, Backspace switches it off.
- **Step** one token per key press; **stop** at any time and **continue**.
- **Branch**: move the cursor over the output (←/→ or click), pick another
  candidate (↑/↓ or click) and press Enter/`b`: the model continues from that
  token, and the branch is shown beside the original. `[`/`]` switch runs.
- **A/B**: `v` edits the second knob set (B); F8 runs A and B side by side
  from the same prompt and seed. Starting a generation stops the one running.
- **Speculative decoding**: the run's title shows *tokens per pass* when the
  model checked several tokens in one forward pass. Guesses come from the
  text itself (the last words' earlier continuation); a guess counts only if
  the sampler picks it anyway, so the text is exactly what plain decoding
  writes, just sooner.
- **Beam search** (F4, or `m` outside the prompt, switches between sampling
  and beam search): instead of drawing one token, keep the *width* best
  partial continuations ("beams") by cumulative log-probability; each step
  extends every beam by every token and keeps the best, the rest are
  *pruned*. A continuation that reaches a blank line (or max tokens) is
  *finished* and scored log-prob / length^*length penalty*; *early stopping*
  says when to stop (true: once *width* are finished; false/never: when no live
  beam can beat them). The view shows each step's live beams with their
  log-probabilities (the token the step added in green, `←2`: the beam it
  extends), what was pruned, what has finished, and at the end the final
  ranking. F6 runs one step; ←/→ on the view revisit earlier steps, End
  follows the newest. The same as `genai-tui generate --beam 4
  --length-penalty 1 --early-stopping false` (knob names and defaults are
  shared). Local model only: a server returns one sequence, not every beam.
- **Back end** (F9): a local model, or any OpenAI-compatible server
  (llama.cpp's server, vLLM, Ollama, `genai-tui serve`). With an empty URL
  the dialog lists the local models: the bundled one, then model folders
  saved in the export folder or the working directory (the Train pane's
  saves), newest first; Ctrl+L moves to the list, Enter picks one and
  Enter again loads it. With a URL: list its models (Ctrl+L) and connect.
  The status bar names the model and what that back end cannot show. A
  server samples out of sight: there is no sampler X-ray and no "after the
  knobs" column (—), knobs it ignores are struck through, and where it
  returns no logprobs tokens are drawn plain and the candidates say so.
  Stop closes the server's stream; Continue and branches send the prompt
  plus the text so far. The same from the shell: `genai-tui --backend URL
  --model NAME`.
"""
