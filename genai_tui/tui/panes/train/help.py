"""The Train pane's F1 text."""

HELP = """
A language model's life has stages. **Pretraining** (1): next-token
prediction on a large corpus, from random weights: watch the loss fall and
the samples turn from noise into words and code. **Fine-tuning** (2): the
bundled model trained further on *your* text; its tail is held out, and when
the held-out loss rises while the training loss keeps falling the model has
started to memorise (overfitting: the pane says so).

**Loss** is the mean cross-entropy of the next token, in nats: ln(vocab) =
8.3 for a model that knows nothing about 4096 tokens; the bundled model
reaches about 2.9 on held-out source files. *train (batch)* is each step's
batch (smoothed), *held-out* text the model never trains on.

**Keys** (they work while typing too): **F5** start / pause / resume, **F6**
stop (the model stays in memory), **F7** save the model as a folder in the
working directory, which the Generate pane's back-end dialog (F9) lists. One
run trains at a time; a hidden pane pauses its run. Outside text boxes:
**1**/**2** the stages, **s** saves the curves and samples as JSON, **/** goes
to the first text box (Esc leaves it).
"""
