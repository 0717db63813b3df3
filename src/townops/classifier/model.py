"""The trained text classifier: n-gram tf-idf blocks, a linear model and its calibration.

A model file is a compressed ``.npz`` of plain arrays (no pickle: loading a model file
cannot run code, and it does not depend on the scikit-learn version that trained it).
Prediction needs only numpy and scipy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from townops.classifier.features import Alphabet, BlockSpec, NgramBlock, block_matrices

FORMAT = "townops-classifier/1"
PATH_ENV = "TOWNOPS_CLASSIFIER_PATH"
SHIPPED_FILE = "model/classifier.npz"
DEFAULT_INSTANCE_PATH = Path("var/classifier.npz")
CHUNK = 256  # texts per step: bounds memory, and sorting small arrays is faster

Matrix = npt.NDArray[np.float32]


class ModelFileError(ValueError):
    """A model file that is missing, not a townops classifier, or of another format."""


@dataclass(eq=False)  # not frozen: it satisfies protocols that declare ``version: str``
class TextClassifier:
    """Assigns one of ``labels`` (first-level categories, 一级分类) to a message text."""

    labels: list[str]
    version: str
    alphabet: Alphabet
    blocks: list[NgramBlock]
    coef: Matrix  # (labels, features)
    intercept: Matrix  # (labels,)
    calibration_coef: Matrix  # (labels, labels): decision scores → logits
    calibration_intercept: Matrix  # (labels,)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return sum(b.size for b in self.blocks)

    def decision_scores(self, texts: Sequence[str]) -> Matrix:
        """The linear model's raw scores, one row per text, one column per label."""
        scores = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            scores[start : start + len(chunk)] = self._scores(chunk)
        return scores

    def _scores(self, texts: Sequence[str]) -> Matrix:
        # Block by block, without stacking the blocks into one matrix: this is the hot path.
        scores = np.tile(self.intercept, (len(texts), 1))
        offset = 0
        for block, matrix in zip(
            self.blocks, block_matrices(self.alphabet, self.blocks, texts), strict=True
        ):
            scores += matrix @ self.coef[:, offset : offset + block.size].T
            offset += block.size
        return scores

    def probabilities(self, texts: Sequence[str]) -> Matrix:
        """Calibrated probabilities, one row per text summing to 1, columns as ``labels``."""
        logits = self.decision_scores(texts) @ self.calibration_coef.T + self.calibration_intercept
        return softmax(logits)

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [
            dict(zip(self.labels, map(float, row), strict=True))
            for row in self.probabilities(texts)
        ]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.probabilities(texts).argmax(axis=1)]

    def save(self, path: str | Path) -> Path:
        """Write the model as one compressed ``.npz`` file (parent folders created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "alphabet": np.array(self.alphabet.chars),
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
            "calibration_coef": self.calibration_coef.astype(np.float32),
            "calibration_intercept": self.calibration_intercept.astype(np.float32),
            "header": np.array(json.dumps(self._header(), ensure_ascii=False)),
        }
        for i, block in enumerate(self.blocks):
            arrays[f"block{i}_keys"] = block.keys
            arrays[f"block{i}_idf"] = block.idf
        with target.open("wb") as out:
            np.savez_compressed(out, **arrays)
        return target

    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "labels": self.labels,
            "version": self.version,
            "blocks": [block_spec_to_json(b.spec) for b in self.blocks],
            "meta": self.meta,
        }

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        source = Path(path)
        if not source.is_file():
            raise ModelFileError(f"no classifier model at {source}")
        try:
            with np.load(source, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != FORMAT:
                    raise ModelFileError(
                        f"{source}: format {header.get('format')!r}, expected {FORMAT!r}"
                    )
                blocks = [
                    NgramBlock(
                        block_spec_from_json(spec), data[f"block{i}_keys"], data[f"block{i}_idf"]
                    )
                    for i, spec in enumerate(header["blocks"])
                ]
                return cls(
                    labels=list(header["labels"]),
                    version=str(header["version"]),
                    alphabet=Alphabet(str(data["alphabet"])),
                    blocks=blocks,
                    coef=data["coef"],
                    intercept=data["intercept"],
                    calibration_coef=data["calibration_coef"],
                    calibration_intercept=data["calibration_intercept"],
                    meta=dict(header.get("meta", {})),
                )
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{source} is not a townops classifier model: {exc}") from exc


def softmax(logits: Matrix) -> Matrix:
    shifted: Matrix = np.exp(logits - logits.max(axis=1, keepdims=True))
    total: Matrix = shifted.sum(axis=1, keepdims=True)
    return np.asarray(shifted / total, dtype=np.float32)


def block_spec_to_json(spec: BlockSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "part": spec.part,
        "sizes": list(spec.sizes),
        "weight": spec.weight,
        "min_df": spec.min_df,
        "max_features": spec.max_features,
        "words_only": spec.words_only,
    }


def block_spec_from_json(data: dict[str, Any]) -> BlockSpec:
    return BlockSpec(
        name=str(data["name"]),
        part=data["part"],
        sizes=tuple(int(n) for n in data["sizes"]),
        weight=float(data["weight"]),
        min_df=int(data["min_df"]),
        max_features=data["max_features"],
        words_only=bool(data["words_only"]),
    )


def shipped_model_path() -> Path:
    return Path(str(resources.files(__package__).joinpath(SHIPPED_FILE)))


def instance_model_path() -> Path:
    """Where this installation keeps its own trained model (``TOWNOPS_CLASSIFIER_PATH``)."""
    configured = os.environ.get(PATH_ENV)
    return Path(configured) if configured else DEFAULT_INSTANCE_PATH


def load_default(path: str | Path | None = None) -> TextClassifier:
    """The model to use: ``path`` if given; else ``TOWNOPS_CLASSIFIER_PATH`` when that file
    exists; else the model shipped in the package. Loaded once per path (cached)."""
    if path is not None:
        return _load_cached(Path(path))
    configured = os.environ.get(PATH_ENV)
    if configured and Path(configured).is_file():
        return _load_cached(Path(configured))
    return _load_cached(shipped_model_path())


def _load_cached(path: Path) -> TextClassifier:
    resolved = path.resolve()
    if not resolved.is_file():
        raise ModelFileError(f"no classifier model at {path}")
    stat = resolved.stat()  # a retrained file at the same path is loaded afresh
    return _load_file(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load_file(path: Path, mtime_ns: int, size: int) -> TextClassifier:
    return TextClassifier.load(path)
