"""What a customer's message means, as a vector: sentences that say the same thing in
other words lie close ("money came out twice" and "I was charged two times").

The model is WordLlama's static embedding (256 dimensions), whose weights and tokenizer
ship inside the ``wordllama`` wheel: nothing is downloaded, ever. It is loaded once per
process (~0.45 s with its imports, so the screen loads it off its loop) and a short message
then costs well under a millisecond.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

DIMENSIONS = 256


@lru_cache(maxsize=1)
def _model():
    import wordllama

    # The wheel keeps its files under weights/ and tokenizers/ beside the package; naming that
    # folder as the cache is what finds both (its own lookup expects tokenizer/, and would
    # otherwise try the network).
    return wordllama.WordLlama.load(dim=DIMENSIONS, cache_dir=Path(wordllama.__file__).parent, disable_download=True)


def preload() -> None:
    """Load the model now (off the screen's loop): the first suggestion must not wait for it."""
    _model()


_known: dict[str, np.ndarray] = {}  # article question -> vector: an index rebuilt after an insertion reuses the rest
KNOWN = 50_000


def _embed(texts: list[str]) -> np.ndarray:
    return np.nan_to_num(np.asarray(_model().embed(texts, norm=True), dtype=np.float32))


def vectors(texts: list[str], keep: bool = False) -> np.ndarray:
    """One unit vector per text (rows), float32; a text with no words gives a zero row. With ``keep`` (the
    index's questions, met again at every rebuild) each vector is kept; a customer's message is not."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    if not keep:
        return _embed(texts)
    found = {t: v for t in dict.fromkeys(texts) if (v := _known.get(t)) is not None}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        fresh = dict(zip(missing, _embed(missing)))
        if len(_known) + len(fresh) > KNOWN:
            _known.clear()
        _known.update(fresh)
        found.update(fresh)
    return np.stack([found[t] for t in texts])


def vector(parts: list[tuple[str, float]]) -> np.ndarray:
    """The meaning of weighted texts ((text, weight), …) as one unit vector (zero if none has words)."""
    parts = [(text, weight) for text, weight in parts if text.strip()]
    if not parts:
        return np.zeros(DIMENSIONS, dtype=np.float32)
    each = vectors([text for text, _ in parts])
    total = (each * np.array([weight for _, weight in parts], dtype=np.float32)[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return total / norm if norm else total
