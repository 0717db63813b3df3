"""Word segmentation (分词) with jieba and the town's own words.

jieba is started lazily, on the first call, with its own ``Tokenizer`` (the process-wide
``jieba.dt`` stays untouched) and its prefix-dictionary cache in a temporary directory,
never in the package. It reads only the dictionary inside the jieba package: nothing is
downloaded. Words added with :func:`add_words` (estates, roads, communities from the
gazetteer; governance terms) are kept whole.

The classifier uses segmentation when it is trained: the words found become a vocabulary
that is then matched directly against the characters of each message at prediction time
(see ``features.py``), which is many times faster than segmenting every message.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import jieba  # type: ignore[import-untyped]

USER_DICTIONARY = "userdict.txt"
_CACHE_DIR = Path(tempfile.gettempdir()) / "townops-jieba"

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added: set[str] = set()


def tokenizer() -> jieba.Tokenizer:
    """The shared tokenizer, built on first use with the packaged user dictionary."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            _CACHE_DIR.mkdir(parents=True, exist_ok=True)
            built = jieba.Tokenizer()
            built.tmp_dir = str(_CACHE_DIR)
            built.initialize()
            for word in packaged_words():
                built.add_word(word)
            for word in sorted(_added):
                built.add_word(word)
            _tokenizer = built
        return _tokenizer


def packaged_words() -> list[str]:
    """Governance terms shipped with townops (one per line, ``#`` starts a comment)."""
    text = resources.files(__package__).joinpath(USER_DICTIONARY).read_text("utf-8")
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [w for w in words if w]


def add_words(words: Iterable[str]) -> int:
    """Keep these words whole (place, estate and road names …); returns how many were new."""
    new = {w.strip() for w in words if w and w.strip()} - _added
    with _lock:
        _added.update(new)
        if _tokenizer is not None:
            for word in sorted(new):
                _tokenizer.add_word(word)
    return len(new)


def cut(text: str) -> list[str]:
    """The words of ``text`` (precise mode with HMM for unknown words), blanks left out."""
    return [w for w in tokenizer().lcut(text) if w.strip()]
