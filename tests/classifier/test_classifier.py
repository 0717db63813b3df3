"""The message classifier: features, training, the model file, the shipped model, the CLI."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import typer
from sklearn.feature_extraction.text import TfidfVectorizer
from typer.testing import CliRunner

from townops.classifier import corpus, segment
from townops.classifier.evaluation import evaluate
from townops.classifier.features import Alphabet, BlockSpec, fit_block, normalize
from townops.classifier.model import (
    PATH_ENV,
    ModelFileError,
    TextClassifier,
    load_default,
    shipped_model_path,
)
from townops.classifier.training import train
from townops.cli.classifier import register

GOV_MESSAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "gov-messages"
HELDOUT_FLOOR = 0.88  # measured 0.9099 (accuracy 0.9136) for model 1ec8273c34e3

# Written for these tests (not from any data set): one plain complaint per class.
OBVIOUS = {
    "交通运输": "小区门口的公交站取消了，公交线路什么时候恢复？出租车也经常拒载。",
    "劳动和社会保障": "公司拖欠我们三个月工资，也不给缴纳社保和养老保险，请劳动监察部门处理。",
    "教育文体": "孩子今年上小学，学区划分不合理，学校离家太远，希望教育局调整招生范围。",
    "卫生计生": "医院看病挂号难，医生态度差，乱收检查费，希望卫健委整顿医疗服务。",
    "环境保护": "工厂夜间偷排废气，空气中有刺鼻气味，河水被污染发黑，请环保局查处。",
    "城乡建设": "开发商交房两年了还不给办房产证，小区物业服务也很差，请住建局督促解决。",
    "商贸旅游": "商场办的预付卡无法退款，商家已经跑路，请市场监管部门帮忙维权。",
}

SYNTHETIC_WORDS = {
    "noise": ["噪音", "吵闹", "施工", "夜间", "广场舞", "音响"],
    "water": ["停水", "水管", "漏水", "水压", "自来水", "水费"],
    "road": ["路灯", "坑洼", "井盖", "人行道", "红绿灯", "路面"],
}


def synthetic(per_class: int, seed: int) -> tuple[list[str], list[str]]:
    """Short made-up messages: three words of one topic among neutral filler."""
    rng = random.Random(seed)
    filler = ["您好", "请问", "我们小区", "最近", "希望尽快解决", "谢谢", "已经很久了"]
    texts, labels = [], []
    for label, words in SYNTHETIC_WORDS.items():
        for _ in range(per_class):
            parts = rng.sample(words, 3) + rng.sample(filler, 3)
            rng.shuffle(parts)
            texts.append(parts[0] + "。" + "，".join(parts[1:]))
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def small_model() -> TextClassifier:
    texts, labels = synthetic(per_class=10, seed=1)
    return train(texts, labels, unlabeled=synthetic(per_class=5, seed=9)[0])


@pytest.fixture(scope="module")
def shipped() -> TextClassifier:
    return TextClassifier.load(shipped_model_path())


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """townops (only the classifier commands)."""

    register(app)
    return app


runner = CliRunner()


def test_features_equal_scikit_learn_tfidf() -> None:
    texts = ["小区噪音扰民。夜间施工", "路灯不亮，井盖缺失", "小区停水三天", "夜间施工噪音"]
    normalized = [normalize(t) for t in texts]
    alphabet = Alphabet.fit(normalized)
    block = fit_block(BlockSpec("chars", "text", (1, 2), min_df=1), alphabet, normalized)
    ours = block.transform(alphabet, normalized).toarray()
    reference = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    theirs = reference.fit_transform(texts).toarray()
    columns = [alphabet.decode(int(k)) for k in block.keys]
    order = [list(reference.get_feature_names_out()).index(c) for c in columns]
    assert np.allclose(ours, theirs[:, order], atol=1e-6)


def test_a_trained_model_predicts_its_classes_with_probabilities(
    small_model: TextClassifier,
) -> None:
    texts, labels = synthetic(per_class=6, seed=2)
    assert small_model.labels == ["noise", "road", "water"]
    assert small_model.predict(texts) == labels
    for row in small_model.predict_proba([*texts, "", "完全无关的一句话"]):
        assert set(row) == set(small_model.labels)
        assert sum(row.values()) == pytest.approx(1.0, abs=1e-5)
        assert all(0.0 <= p <= 1.0 for p in row.values())


def test_the_version_changes_with_the_training_data() -> None:
    texts, labels = synthetic(per_class=4, seed=3)
    first = train(texts, labels)
    assert train(texts, labels).version == first.version
    assert train(texts[1:], labels[1:]).version != first.version


def test_save_and_load_give_identical_predictions(
    small_model: TextClassifier, tmp_path: Path
) -> None:
    path = small_model.save(tmp_path / "sub" / "model.npz")
    loaded = TextClassifier.load(path)
    texts, _ = synthetic(per_class=3, seed=4)
    assert loaded.version == small_model.version and loaded.labels == small_model.labels
    assert np.array_equal(loaded.probabilities(texts), small_model.probabilities(texts))


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.npz"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        TextClassifier.load(bogus)
    with pytest.raises(ModelFileError):
        TextClassifier.load(tmp_path / "absent.npz")


def test_the_instance_model_path_is_honoured(
    small_model: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_model.save(tmp_path / "instance.npz")
    monkeypatch.setenv(PATH_ENV, str(path))
    assert load_default().version == small_model.version
    monkeypatch.setenv(PATH_ENV, str(tmp_path / "not-there.npz"))
    assert load_default().labels == sorted(OBVIOUS)


def test_the_shipped_model_classifies_obvious_messages(shipped: TextClassifier) -> None:
    assert shipped.labels == sorted(OBVIOUS)
    predicted = shipped.predict(list(OBVIOUS.values()))
    assert dict(zip(OBVIOUS, predicted, strict=True)) == {k: k for k in OBVIOUS}
    size_mb = shipped_model_path().stat().st_size / 1e6
    assert size_mb < 5


def test_added_words_are_kept_whole() -> None:
    assert "蔷薇里东苑" not in segment.cut("蔷薇里东苑门口积水")
    segment.add_words(["蔷薇里东苑"])
    assert "蔷薇里东苑" in segment.cut("蔷薇里东苑门口积水")


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    lines = [header] + [f'"{text}",{label}' for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")  # with a BOM
    return path


def test_cli_evaluate_prints_macro_f1_last(tmp_path: Path) -> None:
    rows = [*((text, label) for label, text in OBVIOUS.items()), ("楼下饭店油烟很大", "餐饮")]
    result = runner.invoke(
        cli(), ["classifier", "evaluate", str(write_csv(tmp_path / "a.csv", rows))]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "餐饮" in result.output and "unknown" in result.output
    # 7 right and the unknown label wrong: 餐饮 scores F1 0, and the class the model chose
    # for it precision 1/2 (F1 2/3); the other six score 1, all eight count in the mean
    assert lines[-1] == f"macro_f1={(6 + 2 / 3) / 8:.4f}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("text,category\n小区停水,城乡建设\n", "text,label"),
        ("text,label\n", "no rows"),
    ],
)
def test_cli_evaluate_refuses_a_bad_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(cli(), ["classifier", "evaluate", str(path)])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_train_writes_a_model_that_evaluate_uses(tmp_path: Path) -> None:
    texts, labels = synthetic(per_class=6, seed=5)
    data = write_csv(tmp_path / "train.csv", list(zip(texts, labels, strict=True)))
    model = tmp_path / "model.npz"
    result = runner.invoke(cli(), ["classifier", "train", str(data), "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert TextClassifier.load(model).labels == ["noise", "road", "water"]
    result = runner.invoke(cli(), ["classifier", "evaluate", str(data), "--model", str(model)])
    assert result.output.strip().splitlines()[-1] == "macro_f1=1.0000"


requires_data = pytest.mark.skipif(
    not (GOV_MESSAGES / corpus.LABELED_FILE).is_file(),
    reason=f"shared data not available: {GOV_MESSAGES}",
)
once = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)


@requires_data
@once
def test_the_heldout_split_is_stratified_and_independent_of_row_order() -> None:
    messages = corpus.read_labeled(GOV_MESSAGES)
    train_part, heldout = corpus.heldout_split(messages)
    shuffled = list(messages)
    random.Random(7).shuffle(shuffled)
    assert {m.id for m in corpus.heldout_split(shuffled)[1]} == {m.id for m in heldout}
    assert not {m.id for m in train_part} & {m.id for m in heldout}
    assert len(train_part) + len(heldout) == len(messages)
    for label in {m.label for m in messages}:
        total = sum(m.label == label for m in messages)
        assert sum(m.label == label for m in heldout) == round(0.2 * total)


@requires_data
@once
def test_the_shipped_model_on_the_heldout_split(shipped: TextClassifier) -> None:
    _, heldout = corpus.heldout_split(corpus.read_labeled(GOV_MESSAGES))
    report = evaluate(shipped, [m.text for m in heldout], [m.label for m in heldout])
    assert report.macro_f1 >= HELDOUT_FLOOR
    assert report.accuracy >= HELDOUT_FLOOR
    assert sum(b.count for b in report.reliability) == len(heldout)
    confident = [b for b in report.reliability if b.low >= 0.9]
    assert confident[0].accuracy is not None and confident[0].accuracy >= 0.9


@requires_data
@once
def test_cli_heldout_reports_on_the_shared_data() -> None:
    result = runner.invoke(cli(), ["classifier", "heldout", "--data", str(GOV_MESSAGES)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("macro_f1=0.")


def test_cli_heldout_without_data_says_where_it_looked(tmp_path: Path) -> None:
    result = runner.invoke(cli(), ["classifier", "heldout", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "--data" in result.output
