"""`townops classifier retrain`: people's corrections go into the model, scored before and
after on the held-out split (needs the public gov-messages data; skipped without it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from townops.classifier import corpus
from townops.classifier.model import TextClassifier, load_default
from townops.cli.main import app
from townops.dispatch.models import TrainingExample

DATA = corpus.default_data_dir()
pytestmark = pytest.mark.skipif(
    not (DATA / corpus.LABELED_FILE).is_file(), reason=f"shared data not available: {DATA}"
)
EXAMPLES = [
    ("高行家园5号楼电梯又坏了，困了人，物业说在等配件", "商贸旅游", "correction"),
    ("楼下新开的烧烤店油烟直冲楼上窗户，晚上还很吵", "环境保护", "return"),
    ("小区南门口天天有人占道摆摊卖菜，垃圾扔一地", "城乡建设", "confirmation"),
    ("a label the model does not know", "not_a_label", "correction"),
]


@pytest.fixture
def examples(engine: Engine) -> Iterator[list[int]]:
    with Session(engine) as session:
        rows = [
            TrainingExample(
                text=text, label=label, category_code="x", source=source, created_by="dispatcher"
            )
            for text, label, source in EXAMPLES
        ]
        session.add_all(rows)
        session.commit()
        ids = [row.id for row in rows]
    yield ids
    with Session(engine) as session:
        session.execute(delete(TrainingExample).where(TrainingExample.id.in_(ids)))
        session.commit()


def test_retrain_folds_in_the_known_examples_and_reports_before_and_after(
    engine: Engine, examples: list[int], tmp_path: Path
) -> None:
    out = tmp_path / "retrained.npz"
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        app,
        ["classifier", "retrain", "--database-url", url, "--out", str(out), "--data", str(DATA)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    shipped = load_default()
    retrained = TextClassifier.load(out)
    assert retrained.version != shipped.version
    assert "before" in result.output and "after" in result.output
    assert shipped.version in result.output and retrained.version in result.output
    with Session(engine) as session:
        used = dict(
            session.execute(
                select(TrainingExample.label, TrainingExample.used_in_model).where(
                    TrainingExample.id.in_(examples)
                )
            ).all()
        )
    assert used == {
        "商贸旅游": retrained.version,
        "环境保护": retrained.version,
        "城乡建设": retrained.version,
        "not_a_label": None,  # not a label of the model: kept, not trained on
    }
