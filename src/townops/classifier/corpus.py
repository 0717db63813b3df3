"""The labelled and unlabelled citizen messages the classifier learns from, and CSV input.

The public data set (``gov-messages``: see its SOURCE.md) lives outside the repository,
by default in ``../shared/data/gov-messages``. Nothing of it is copied into the package
except what the trained model holds.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LABELED_FILE = "labeled.csv"
TAXONOMY_FILE = "taxonomy.csv"
UNLABELED_FILES = (
    "messages_unlabeled.csv",
    "messages_with_votes.csv",
    "messages_with_replies.csv",
)
HELDOUT_FRACTION = 0.2
HELDOUT_SEED = "townops-heldout-v1"  # the split every experiment of docs/classifier.md kept out
OTHER = "其他"  # "other": a taxonomy name that says nothing about its class

_BLANKS = re.compile(r"\s+")


class CorpusError(ValueError):
    """A data file that cannot be used: missing, empty, or without the needed columns."""


@dataclass(frozen=True)
class LabeledMessage:
    id: str
    text: str
    label: str


def fold_blanks(text: str) -> str:
    return _BLANKS.sub(" ", text).strip()


def compose_text(title: str, detail: str) -> str:
    """One message text as in labeled.csv: title + "。" + detail, whitespace folded."""
    return f"{fold_blanks(title)}。{fold_blanks(detail)}"


def default_data_dir() -> Path:
    """``../shared/data/gov-messages`` beside the working directory, else beside the repo."""
    relative = Path("..") / "shared" / "data" / "gov-messages"
    candidates = [Path.cwd() / relative, Path(__file__).resolve().parents[3] / relative]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 (or UTF-8 with BOM) CSV file."""
    if not path.is_file():
        raise CorpusError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise CorpusError(f"{path}: not a readable CSV file ({exc})") from exc
    if not header:
        raise CorpusError(f"{path}: empty file")
    return header, rows


def read_text_label_csv(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs from a CSV with ``text`` and ``label`` columns (labeled.csv has
    them too); a message export with 留言主题/留言详情/一级分类 columns is accepted as well."""
    header, rows = read_rows(path)
    if {"text", "label"} <= set(header):
        pairs = [(r["text"] or "", r["label"] or "") for r in rows]
    elif {"留言主题", "留言详情", "一级分类"} <= set(header):
        pairs = [(compose_text(r["留言主题"], r["留言详情"]), r["一级分类"]) for r in rows]
    else:
        raise CorpusError(
            f"{path}: needs the columns text,label (found: {', '.join(header) or 'none'})"
        )
    pairs = [(text.strip(), label.strip()) for text, label in pairs]
    missing = [i + 2 for i, (text, label) in enumerate(pairs) if not text or not label]
    if missing:
        lines = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        raise CorpusError(f"{path}: empty text or label on line(s) {lines}")
    if not pairs:
        raise CorpusError(f"{path}: no rows")
    return pairs


def read_texts_csv(path: Path) -> list[str]:
    """Message texts from a CSV with a ``text`` column or 留言主题/留言详情 columns."""
    header, rows = read_rows(path)
    if "text" in header:
        return [fold_blanks(r["text"] or "") for r in rows if (r["text"] or "").strip()]
    if {"留言主题", "留言详情"} <= set(header):
        return [compose_text(r["留言主题"] or "", r["留言详情"] or "") for r in rows]
    raise CorpusError(f"{path}: needs a text column or 留言主题 and 留言详情 columns")


def read_labeled(data_dir: Path) -> list[LabeledMessage]:
    header, rows = read_rows(data_dir / LABELED_FILE)
    if not {"id", "text", "label"} <= set(header):
        raise CorpusError(f"{data_dir / LABELED_FILE}: needs the columns id,text,label")
    return [LabeledMessage(r["id"], fold_blanks(r["text"]), r["label"].strip()) for r in rows]


def heldout_key(message_id: str) -> str:
    return hashlib.sha256(f"{HELDOUT_SEED}:{message_id}".encode()).hexdigest()


def heldout_split(
    messages: Sequence[LabeledMessage], fraction: float = HELDOUT_FRACTION
) -> tuple[list[LabeledMessage], list[LabeledMessage]]:
    """(train, held-out): per label, the ``fraction`` of messages whose seeded hash of the id
    sorts first. Stable under re-ordering of the rows; never used for training or tuning."""
    by_label: dict[str, list[LabeledMessage]] = {}
    for message in messages:
        by_label.setdefault(message.label, []).append(message)
    heldout_ids: set[str] = set()
    for group in by_label.values():
        ranked = sorted(group, key=lambda m: heldout_key(m.id))
        heldout_ids.update(m.id for m in ranked[: round(fraction * len(group))])
    train = [m for m in messages if m.id not in heldout_ids]
    heldout = [m for m in messages if m.id in heldout_ids]
    return train, heldout


def squeeze(text: str) -> str:
    """A text without any blanks: the key under which two copies of a message are equal."""
    return _BLANKS.sub("", text)


def read_unlabeled(data_dir: Path, *, exclude: Iterable[str] = ()) -> list[str]:
    """The unlabelled messages of the three message files, each once, leaving out any that
    repeats an ``exclude`` text (pass the labelled texts: a held-out message must not come
    back through the unlabelled files)."""
    seen = {squeeze(t) for t in exclude}
    texts = []
    for name in UNLABELED_FILES:
        header, rows = read_rows(data_dir / name)
        if not {"留言主题", "留言详情"} <= set(header):
            raise CorpusError(f"{data_dir / name}: needs the columns 留言主题,留言详情")
        for row in rows:
            text = compose_text(row["留言主题"] or "", row["留言详情"] or "")
            key = squeeze(text)
            if key not in seen:
                seen.add(key)
                texts.append(text)
    return texts


def read_taxonomy(data_dir: Path) -> dict[str, list[str]]:
    return read_taxonomy_file(data_dir / TAXONOMY_FILE)


def read_taxonomy_file(path: Path) -> dict[str, list[str]]:
    """First-level class → its second- and third-level names (without 其他), sorted."""
    header, rows = read_rows(path)
    levels = ("一级分类", "二级分类", "三级分类")
    if not set(levels) <= set(header):
        raise CorpusError(f"{path}: needs the columns {','.join(levels)}")
    names: dict[str, set[str]] = {}
    for row in rows:
        first = (row["一级分类"] or "").strip()
        for level in levels[1:]:
            name = (row[level] or "").strip()
            if first and name and name != OTHER:
                names.setdefault(first, set()).add(name)
    return {first: sorted(found) for first, found in sorted(names.items())}
