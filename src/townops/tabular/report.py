"""What an import did (or, on a dry run or refused, would do), and its progress."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from townops.tabular.rows import RowError

_T = TypeVar("_T")

PROGRESS_EVERY = 200

ProgressCallback = Callable[[str, int, int], None]
"""``progress(phase, done, total)``; phase is ``"check"`` or ``"import"``."""


@dataclass
class ImportReport:
    """The outcome of an all-or-nothing import.

    The good rows are counted by what they do — or, on a dry run or an import refused for
    bad rows, would do; ``created`` and ``updated`` count what was written.
    """

    rows_total: int
    errors: list[RowError] = field(default_factory=list)
    skipped_columns: list[str] = field(default_factory=list)
    new_rows: int = 0  # not in the database yet
    changed_rows: int = 0  # in it with other values
    already_present: int = 0  # in it as the file has them: nothing to write
    created: int = 0
    updated: int = 0
    dry_run: bool = False

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    @property
    def imported(self) -> int:
        """Rows written."""
        return self.created + self.updated

    @property
    def unchanged_rows(self) -> int:
        """The good rows already present as the file has them."""
        return self.already_present

    @property
    def written(self) -> bool:
        return bool(self.imported)

    def goes_ahead(self, *, skip_bad: bool) -> bool:
        """Whether the import writes: not on a dry run, nor with bad rows unless skipping them."""
        return not self.dry_run and (skip_bad or not self.errors)


def with_progress(
    items: Sequence[_T],
    phase: str,
    progress: ProgressCallback | None,
    *,
    every: int = PROGRESS_EVERY,
) -> Iterator[_T]:
    """The items, telling ``progress`` every ``every`` items and at the last."""
    total = len(items)
    for done, item in enumerate(items, start=1):
        yield item
        if progress is not None and (done % every == 0 or done == total):
            progress(phase, done, total)


def chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    """``items`` in slices of ``size`` (SQLite before 3.32 takes 999 parameters at most)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
