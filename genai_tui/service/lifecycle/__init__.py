"""A language model's life, to watch: pretraining, fine-tuning, supervised
fine-tuning (SFT) and preference tuning (a reward model, then DPO).

Every stage is a generator of `events` dataclasses (`Notice`, `Metrics`,
`Sample`, `Finished`): pulling one item runs at most one optimizer step, so a
consumer pauses by not pulling and cancels by closing the generator. The
Train pane and the ``genai-tui train pretrain|finetune|sft|prefer`` commands
consume the same generators. Models being trained live in memory
(`trainee.Trainee`) and are written to disk only on request (`Trainee.save`),
as a model folder the Generate pane and ``--model`` load.

No Textual here.
"""
