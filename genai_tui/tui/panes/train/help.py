"""The Train pane's F1 text."""

HELP = """
A language model's life has stages. **Pretraining** (1): next-token
prediction on a large corpus, from random weights: watch the loss fall and
the samples turn from noise into words and code. **Fine-tuning** (2): the
bundled model trained further on *your* text; its tail is held out, and when
the held-out loss rises while the training loss keeps falling the model has
started to memorise (overfitting: the pane says so). **Supervised
fine-tuning** (3): question/answer pairs made from the standard library's
docstrings ("Q: What does json.dumps do? A: (its first sentence)"); the loss
counts only the answer's tokens, so the model learns to answer, not to
write questions. Held-out questions are answered before and after.
**Preference tuning** (4): the model answers each question four times, a
visible rule (F8: *shorter*, *no-repeat*, or *mentions* a word you type)
ranks the answers into chosen/rejected pairs, a **reward model** (a linear
head on the frozen model's hidden states) learns the rule from them (its
accuracy on held-out pairs: 50% is chance), then **DPO** pushes the model
towards the chosen answers against a frozen copy of itself. Watch the
reward rise, and the **KL** to the copy, how far the model has moved, grow
with it: a big KL means the model found a cheap way to please the rule.

**Loss** is the mean cross-entropy of the next token, in nats: a model that
knows nothing scores ln(vocabulary): 5.5 over 256 bytes, 8.3 over 4096 BPE
tokens. *train* is each step's batch (smoothed; in fine-tuning *batch*, with
*train* on fixed windows of the training part), *held-out* text
from files the model never trains on. **Bits per byte** (held-out loss per
byte, in bits) compares models with different tokenizers: the bundled model
scores about 1.0. Pretraining reads **bytes** by default (F8: the bundled
BPE instead); bytes show spelling and indentation soonest.

**Keys** (they work while typing too): **F5** start / pause / resume, **F6**
stop (the model stays in memory), **F8** the stage's option (bytes or
BPE for pretraining, the rule for preference tuning), **F7** save the model as a folder in the
working directory, which the Generate pane's back-end dialog (F9) lists. One
run trains at a time; a hidden pane pauses its run. Outside text boxes:
**1**-**4** the stages, **s** saves the curves and samples as JSON, **/** goes
to the first text box (Esc leaves it).
"""
