"""How well a classifier does on labelled messages: macro-F1, accuracy, per-class scores,
the confusion matrix and the reliability of its probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from rich.console import Console, Group
from rich.table import Table

from townops.classifier.model import TextClassifier

RELIABILITY_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # how many messages truly have this label


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    accuracy: float | None  # share of right predictions among those whose top p is in the bin
    mean_confidence: float | None


@dataclass(frozen=True)
class Report:
    labels: list[str]  # rows and columns of the confusion matrix: true ∪ predicted labels
    macro_f1: float  # mean F1 over ``labels``
    accuracy: float
    per_class: list[ClassScore]
    confusion: list[list[int]]  # [true][predicted]
    unknown_labels: dict[str, int]  # true labels the model cannot predict → how many messages
    reliability: list[ReliabilityBin]
    model_version: str

    @property
    def total(self) -> int:
        return sum(map(sum, self.confusion))


def evaluate(model: TextClassifier, texts: Sequence[str], labels: Sequence[str]) -> Report:
    """Score ``model`` on (text, label) pairs; a label the model does not know is always an
    error (it is listed in ``unknown_labels`` and counts in the macro average)."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("nothing to evaluate")
    probabilities = model.probabilities(texts)
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    report = score(list(labels), predicted, probabilities.max(axis=1))
    known = set(model.labels)
    unknown: dict[str, int] = {}
    for label in labels:
        if label not in known:
            unknown[label] = unknown.get(label, 0) + 1
    return Report(
        labels=report.labels,
        macro_f1=report.macro_f1,
        accuracy=report.accuracy,
        per_class=report.per_class,
        confusion=report.confusion,
        unknown_labels=dict(sorted(unknown.items())),
        reliability=report.reliability,
        model_version=model.version,
    )


def score(truth: list[str], predicted: list[str], confidence: np.ndarray) -> Report:
    """The figures of a set of predictions (no model needed)."""
    labels = sorted(set(truth) | set(predicted))
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(confusion, ([index[t] for t in truth], [index[p] for p in predicted]), 1)
    right = np.diag(confusion)
    predicted_count = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(
        right, predicted_count, out=np.zeros(len(labels)), where=predicted_count > 0
    )
    recall = np.divide(right, support, out=np.zeros(len(labels)), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(len(labels)), where=both > 0)
    correct = np.array(truth) == np.array(predicted)
    return Report(
        labels=labels,
        macro_f1=float(f1.mean()),
        accuracy=float(correct.mean()),
        per_class=[
            ClassScore(label, float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
            for i, label in enumerate(labels)
        ],
        confusion=confusion.tolist(),
        unknown_labels={},
        reliability=reliability(np.asarray(confidence, dtype=np.float64), correct),
        model_version="",
    )


def reliability(confidence: np.ndarray, correct: np.ndarray) -> list[ReliabilityBin]:
    """Accuracy of the predictions whose top probability falls in each bin (the last bin
    includes 1.0): if the probabilities are calibrated, accuracy ≈ mean confidence."""
    bins = []
    edges = RELIABILITY_EDGES
    for low, high in pairwise(edges):
        upper = confidence <= high if high == edges[-1] else confidence < high
        inside = (confidence >= low) & upper
        count = int(inside.sum())
        bins.append(
            ReliabilityBin(
                low=low,
                high=high,
                count=count,
                accuracy=float(correct[inside].mean()) if count else None,
                mean_confidence=float(confidence[inside].mean()) if count else None,
            )
        )
    return bins


def render(report: Report, console: Console) -> None:
    """Per-class scores, the confusion matrix and the reliability bins as Rich tables."""
    console.print(Group(scores_table(report), confusion_table(report), reliability_table(report)))
    for label, count in report.unknown_labels.items():
        console.print(
            f"[yellow]label {label!r} is unknown to the model: its {count} message(s) "
            "are counted as errors[/yellow]"
        )
    console.print(
        f"{report.total} messages · model {report.model_version} · "
        f"accuracy {report.accuracy:.4f} · macro-F1 {report.macro_f1:.4f}",
        highlight=False,
    )


def scores_table(report: Report) -> Table:
    table = Table(title="Per class (每类)")
    table.add_column("label 类别")
    for name in ("precision", "recall", "F1", "support"):
        table.add_column(name, justify="right")
    for row in report.per_class:
        marker = " (unknown)" if row.label in report.unknown_labels else ""
        table.add_row(
            row.label + marker,
            f"{row.precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.f1:.3f}",
            str(row.support),
        )
    table.add_section()
    table.add_row("macro", "", "", f"{report.macro_f1:.4f}", str(report.total))
    return table


def confusion_table(report: Report) -> Table:
    table = Table(title="Confusion matrix: rows true, columns predicted (混淆矩阵)")
    table.add_column("true \\ predicted")
    for label in report.labels:
        table.add_column(label, justify="right")
    for label, row in zip(report.labels, report.confusion, strict=True):
        table.add_row(label, *(str(n) if n else "·" for n in row))
    return table


def reliability_table(report: Report) -> Table:
    table = Table(title="Reliability: accuracy by top probability (置信度)")
    for name in ("top probability", "messages", "accuracy", "mean probability"):
        table.add_column(name, justify="right")
    for b in report.reliability:
        table.add_row(
            f"{b.low:.1f}–{b.high:.1f}",
            str(b.count),
            "—" if b.accuracy is None else f"{b.accuracy:.3f}",
            "—" if b.mean_confidence is None else f"{b.mean_confidence:.3f}",
        )
    return table
