"""Decoding knobs as pure functions over logits (`stages`) and the sampler chain (`chain`)."""
