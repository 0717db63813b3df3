"""Training: the feature blocks, a linear SVM, and a calibration fitted out of fold.

Why this recipe: see docs/classifier.md (each idea measured by cross-validation on the
train part of the labelled messages; the held-out part is only ever used for the report).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from townops.classifier import corpus, segment
from townops.classifier.features import (
    Alphabet,
    BlockSpec,
    NgramBlock,
    fit_block,
    normalize,
)
from townops.classifier.model import TextClassifier

MAX_WORD_CHARS = 4  # a word-block n-gram key holds at most four characters
SHIPPED_BLOCKS = (
    BlockSpec("chars", "text", (1, 2), weight=0.7),
    BlockSpec("title", "head", (1, 2), weight=1.0),
    BlockSpec("words", "text", (2, 3, 4), weight=1.0, words_only=True),
)


@dataclass(frozen=True)
class TrainingParams:
    blocks: tuple[BlockSpec, ...] = SHIPPED_BLOCKS
    svm_c: float = 1.0
    balanced: bool = True  # class weights inverse to frequency: macro-F1 is the target
    calibration_folds: int = 5
    calibration_c: float = 1.0
    seed: int = 0


DEFAULT_PARAMS = TrainingParams()


@dataclass
class _Fitted:
    blocks: list[NgramBlock]
    svm: LinearSVC

    def scores(self, alphabet: Alphabet, normalized: Sequence[str]) -> np.ndarray:
        features = sp.hstack([b.transform(alphabet, normalized) for b in self.blocks], "csr")
        return np.asarray(self.svm.decision_function(features), dtype=np.float32)


@dataclass
class _Corpus:
    """Normalised training texts with their labels and the words jieba finds in each."""

    texts: list[str]
    labels: np.ndarray
    words: list[set[str]] = field(default_factory=list)
    idf_extra: list[str] = field(default_factory=list)


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    unlabeled: Sequence[str] = (),
    keywords: Mapping[str, Sequence[str]] | None = None,
    params: TrainingParams = DEFAULT_PARAMS,
) -> TextClassifier:
    """A classifier for ``labels``' classes.

    ``unlabeled`` messages only sharpen the idf weights (how common an n-gram is);
    ``keywords`` (class → names, e.g. the taxonomy's 2nd/3rd-level names) become one short
    pseudo-document each for the classes that occur in ``labels``.
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("training needs at least two different labels")
    pseudo = keyword_documents(keywords or {}, classes)
    data = _Corpus(
        texts=[normalize(t) for t in texts] + [normalize(t) for t, _ in pseudo],
        labels=np.array(list(labels) + [label for _, label in pseudo]),
        idf_extra=[normalize(t) for t in unlabeled],
    )
    data.words = [_words(t) for t in data.texts]
    alphabet = Alphabet.fit(data.texts + data.idf_extra)
    real = np.arange(len(texts))
    fitted = _fit(params, alphabet, data, np.arange(len(data.texts)))
    calibration_coef, calibration_intercept = _calibrate(params, alphabet, data, real, classes)
    svm = fitted.svm
    return TextClassifier(
        labels=[str(c) for c in svm.classes_],
        version=training_version(texts, labels, unlabeled, pseudo, params),
        alphabet=alphabet,
        blocks=fitted.blocks,
        coef=np.asarray(svm.coef_, dtype=np.float32),
        intercept=np.asarray(svm.intercept_, dtype=np.float32),
        calibration_coef=calibration_coef,
        calibration_intercept=calibration_intercept,
        meta={
            "examples": len(texts),
            "examples_per_label": dict(sorted(Counter(labels).items())),
            "keyword_documents": len(pseudo),
            "unlabeled": len(unlabeled),
            "params": params_to_json(params),
            "scikit_learn": sklearn.__version__,
        },
    )


def keyword_documents(
    keywords: Mapping[str, Sequence[str]], classes: Sequence[str]
) -> list[tuple[str, str]]:
    """One pseudo-document per keyword of a known class; "name。name" so the keyword is
    both the title and the body."""
    return [(f"{name}。{name}", label) for label in classes for name in keywords.get(label, ())]


def _words(normalized: str) -> set[str]:
    return {w for w in segment.cut(normalized) if 2 <= len(w) <= MAX_WORD_CHARS}


def _fit(params: TrainingParams, alphabet: Alphabet, data: _Corpus, rows: np.ndarray) -> _Fitted:
    texts = [data.texts[i] for i in rows]
    words: set[str] = set().union(*(data.words[i] for i in rows))
    idf_texts = texts + data.idf_extra if data.idf_extra else None
    blocks = [
        fit_block(spec, alphabet, texts, idf_texts=idf_texts, words=words) for spec in params.blocks
    ]
    features = sp.hstack([b.transform(alphabet, texts) for b in blocks], format="csr")
    svm = LinearSVC(
        C=params.svm_c,
        class_weight="balanced" if params.balanced else None,
        random_state=params.seed,
    )
    svm.fit(features, data.labels[rows])
    return _Fitted(blocks, svm)


def _calibrate(
    params: TrainingParams,
    alphabet: Alphabet,
    data: _Corpus,
    real: np.ndarray,
    classes: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """A multinomial logistic map from SVM scores to probabilities, fitted on scores the
    SVM gave to messages it had not been trained on (k-fold; pseudo-documents always train).
    With too few examples for that, the scores pass through a plain softmax."""
    real_labels = data.labels[real]
    folds = min(params.calibration_folds, min(Counter(real_labels.tolist()).values()))
    if folds < 2:
        return np.eye(len(classes), dtype=np.float32), np.zeros(len(classes), dtype=np.float32)
    pseudo = np.arange(len(real), len(data.texts))
    scores = np.zeros((len(real), len(classes)), dtype=np.float32)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=params.seed)
    for train_rows, test_rows in splitter.split(real, real_labels):
        fitted = _fit(params, alphabet, data, np.concatenate([real[train_rows], pseudo]))
        fold_scores = fitted.scores(alphabet, [data.texts[i] for i in real[test_rows]])
        columns = [classes.index(str(c)) for c in fitted.svm.classes_]
        scores[np.ix_(test_rows, columns)] = fold_scores
    calibrator = LogisticRegression(C=params.calibration_c, max_iter=1000)
    calibrator.fit(scores, real_labels)
    order = [list(calibrator.classes_).index(c) for c in classes]
    return (
        np.asarray(calibrator.coef_[order], dtype=np.float32),
        np.asarray(calibrator.intercept_[order], dtype=np.float32),
    )


def params_to_json(params: TrainingParams) -> dict[str, object]:
    data = asdict(params)
    data["blocks"] = [asdict(b) for b in params.blocks]
    return data


def training_version(
    texts: Sequence[str],
    labels: Sequence[str],
    unlabeled: Sequence[str],
    pseudo: Sequence[tuple[str, str]],
    params: TrainingParams,
) -> str:
    """A short hash of everything the model was trained from: same inputs, same version."""
    digest = hashlib.sha256()
    digest.update(json.dumps(params_to_json(params), sort_keys=True).encode())
    for text, label in sorted(zip(texts, labels, strict=True)):
        digest.update(f"{label}\t{text}\n".encode())
    digest.update(b"--unlabeled--\n")
    for text in sorted(unlabeled):
        digest.update(f"{text}\n".encode())
    digest.update(b"--keywords--\n")
    for text, label in pseudo:
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class ShippedData:
    """What the shipped model is trained on, read from the gov-messages data folder."""

    train: list[corpus.LabeledMessage]
    heldout: list[corpus.LabeledMessage]
    unlabeled: list[str]
    keywords: dict[str, list[str]]


def read_shipped_data(data_dir: Path) -> ShippedData:
    messages = corpus.read_labeled(data_dir)
    train_part, heldout = corpus.heldout_split(messages)
    return ShippedData(
        train=train_part,
        heldout=heldout,
        unlabeled=corpus.read_unlabeled(data_dir, exclude=[m.text for m in messages]),
        keywords=corpus.read_taxonomy(data_dir),
    )


def train_shipped(
    data_dir: Path,
    extra: Sequence[tuple[str, str]] = (),
    *,
    params: TrainingParams = DEFAULT_PARAMS,
    data: ShippedData | None = None,
) -> TextClassifier:
    """Train exactly as the shipped model was: the train part of labeled.csv, plus ``extra``
    (text, label) examples (e.g. dispatchers' corrections), idf over the unlabelled
    messages, the taxonomy names as keyword documents. The held-out part stays out."""
    data = data or read_shipped_data(data_dir)
    heldout_texts = {corpus.squeeze(m.text) for m in data.heldout}
    leaked = [t for t, _ in extra if corpus.squeeze(t) in heldout_texts]
    if leaked:
        raise ValueError(f"{len(leaked)} extra example(s) repeat held-out messages")
    return train(
        [m.text for m in data.train] + [t for t, _ in extra],
        [m.label for m in data.train] + [label for _, label in extra],
        unlabeled=data.unlabeled,
        keywords=data.keywords,
        params=params,
    )


def cross_validate(
    data: ShippedData,
    *,
    params: TrainingParams = DEFAULT_PARAMS,
    folds: int = 5,
    repeats: int = 2,
) -> list[float]:
    """Macro-F1 of each fold of repeated stratified k-fold cross-validation on the train
    part only (the held-out part is not touched): how the recipe was chosen."""
    from townops.classifier.evaluation import score  # evaluation imports the model only

    texts = [m.text for m in data.train]
    labels = np.array([m.label for m in data.train])
    uncalibrated = replace(params, calibration_folds=1)  # argmax needs no calibration
    results = []
    for repeat in range(repeats):
        splitter = StratifiedKFold(folds, shuffle=True, random_state=repeat)
        for train_rows, test_rows in splitter.split(texts, labels):
            model = train(
                [texts[i] for i in train_rows],
                labels[train_rows].tolist(),
                unlabeled=data.unlabeled,
                keywords=data.keywords,
                params=uncalibrated,
            )
            test_texts = [texts[i] for i in test_rows]
            predicted = [model.labels[i] for i in model.decision_scores(test_texts).argmax(axis=1)]
            confidence = np.ones(len(test_rows))
            results.append(score(labels[test_rows].tolist(), predicted, confidence).macro_f1)
    return results
