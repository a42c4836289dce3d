"""Decode tokens one at a time without showing half a character.

A byte-level token may end in the middle of a multi-byte UTF-8 character
("é" is two bytes, an emoji four, and BPE can split them). Decoding each
token on its own would print U+FFFD; `StreamDecoder` keeps the incomplete
tail until the next token completes it.
"""

from __future__ import annotations

import codecs

from genai_tui.tokenizers.base import Tokenizer


class StreamDecoder:
    """Feed token bytes, get back the text that is complete so far.

    Valid UTF-8 split anywhere never yields U+FFFD; bytes that can never
    become valid UTF-8 are replaced by U+FFFD as soon as that is certain, so
    the stream never stalls. Call `flush` at the end for any incomplete tail.

    Example::

        dec = StreamDecoder(tokenizer)
        for token_id in ids:
            print(dec.feed_token(token_id), end="")
        print(dec.flush())
    """

    def __init__(self, tokenizer: Tokenizer | None = None) -> None:
        self.tokenizer = tokenizer
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        """Add bytes; return the newly completed text (possibly "")."""
        return self._decoder.decode(data, final=False)

    def feed_token(self, token_id: int) -> str:
        """Add one token's bytes (needs the tokenizer given at construction)."""
        if self.tokenizer is None:
            raise TypeError("StreamDecoder(tokenizer) is needed to feed token ids")
        return self.feed(self.tokenizer.token_bytes(token_id))

    @property
    def pending(self) -> bytes:
        """Bytes held back because they may start a character."""
        return self._decoder.getstate()[0]

    def flush(self) -> str:
        """End of stream: return what is left (U+FFFD for an incomplete tail)."""
        text = self._decoder.decode(b"", final=True)
        self._decoder.reset()
        return text

    def reset(self) -> None:
        """Forget any buffered bytes."""
        self._decoder.reset()
