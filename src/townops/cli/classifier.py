"""``townops classifier …``: evaluate, train and rebuild the message classifier."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from townops.classifier import corpus
from townops.classifier.corpus import CorpusError
from townops.classifier.evaluation import Report, evaluate, render
from townops.classifier.model import (
    PATH_ENV,
    ModelFileError,
    TextClassifier,
    instance_model_path,
    load_default,
    shipped_model_path,
)
from townops.cli.common import DbOpt, engine_for, settings_with, transaction
from townops.dispatch.learning import labelled_examples, mark_used

BAD_INPUT = 2
REPORT_WIDTH = 140  # the confusion matrix has one column per class: never squeeze it

classifier_app = typer.Typer(
    help="The message classifier of automatic dispatch (自动指令).", no_args_is_help=True
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help=f"Model file; default: ${PATH_ENV} if set, else the shipped one."),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="The gov-messages folder; default ../shared/data/gov-messages."),
]


def register(app: typer.Typer) -> None:
    """Add the ``classifier`` sub-app to the main townops app."""
    app.add_typer(classifier_app, name="classifier")


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=BAD_INPUT)


def load_model(path: Path | None) -> TextClassifier:
    try:
        return load_default(path)
    except ModelFileError as exc:
        raise fail(str(exc)) from exc


def print_report(report: Report) -> None:
    render(report, Console(width=max(out.width, REPORT_WIDTH), soft_wrap=True))
    typer.echo(f"macro_f1={report.macro_f1:.4f}")  # the last line, for scripts


@classifier_app.command("evaluate")
def evaluate_file(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) with columns text,label.")],
    model: ModelOpt = None,
) -> None:
    """Score the model on labelled messages; the last line is macro_f1=<value>."""
    try:
        pairs = corpus.read_text_label_csv(file)
    except CorpusError as exc:
        raise fail(str(exc)) from exc
    classifier = load_model(model)
    report = evaluate(classifier, [t for t, _ in pairs], [label for _, label in pairs])
    print_report(report)


@classifier_app.command("heldout")
def heldout(model: ModelOpt = None, data: DataOpt = None) -> None:
    """Score the model on the built-in held-out 20 % of labeled.csv (never trained on)."""
    folder = data_folder(data)
    try:
        messages = corpus.read_labeled(folder)
    except CorpusError as exc:
        raise fail(str(exc)) from exc
    _, held = corpus.heldout_split(messages)
    classifier = load_model(model)
    out.print(f"held-out split of {folder / corpus.LABELED_FILE}: {len(held)} messages")
    print_report(evaluate(classifier, [m.text for m in held], [m.label for m in held]))


@classifier_app.command("train")
def train_file(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) with columns text,label.")],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help=f"Model file to write; default ${PATH_ENV} or var/classifier.npz."
        ),
    ] = None,
    unlabeled: Annotated[
        list[Path] | None,
        typer.Option("--unlabeled", help="CSV of unlabelled messages (text or 留言主题/留言详情)."),
    ] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option("--taxonomy", help="taxonomy.csv: 2nd/3rd-level names as keyword documents."),
    ] = None,
) -> None:
    """Train a model on FILE and write it (not into the package)."""
    from townops.classifier.training import train  # scikit-learn and jieba only when training

    try:
        pairs = corpus.read_text_label_csv(file)
        extra = [t for path in unlabeled or [] for t in corpus.read_texts_csv(path)]
        keywords = corpus.read_taxonomy_file(taxonomy) if taxonomy else None
        classifier = train(
            [t for t, _ in pairs],
            [label for _, label in pairs],
            unlabeled=extra,
            keywords=keywords,
        )
    except (CorpusError, ValueError) as exc:
        raise fail(str(exc)) from exc
    target = out_path or instance_model_path()
    classifier.save(target)
    out.print(
        f"wrote {target} (version {classifier.version}, {len(pairs)} examples, "
        f"{len(classifier.labels)} labels, {target.stat().st_size / 1e6:.2f} MB)",
        highlight=False,
    )
    if os.environ.get(PATH_ENV) != str(target):
        out.print(f"to use it: export {PATH_ENV}={target.resolve()}", highlight=False)


@classifier_app.command("build-shipped")
def build_shipped(
    data: DataOpt = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Default: the model inside the package.")
    ] = None,
) -> None:
    """Rebuild the shipped model from the gov-messages data (same inputs → same version)."""
    from townops.classifier.training import train_shipped

    folder = data_folder(data)
    try:
        classifier = train_shipped(folder)
    except CorpusError as exc:
        raise fail(str(exc)) from exc
    target = classifier.save(out_path or shipped_model_path())
    out.print(
        f"wrote {target} (version {classifier.version}, {target.stat().st_size / 1e6:.2f} MB)",
        highlight=False,
    )


@classifier_app.command("retrain")
def retrain(
    data: DataOpt = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help=f"Model file to write; default ${PATH_ENV} or var/classifier.npz."
        ),
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Fold the dispatchers' corrections and confirmations (labelled examples kept by
    automatic dispatch) into the model; print held-out scores before and after."""
    from townops.classifier.training import read_shipped_data, train_shipped

    folder = data_folder(data)
    current = load_model(None)
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        examples = labelled_examples(session, labels=current.labels)
        try:
            shipped = read_shipped_data(folder)
            held_texts = [m.text for m in shipped.heldout]
            held_labels = [m.label for m in shipped.heldout]
            before = evaluate(current, held_texts, held_labels)
            retrained = train_shipped(
                folder, [(text, label) for _, text, label in examples], data=shipped
            )
        except (CorpusError, ValueError) as exc:
            raise fail(str(exc)) from exc
        after = evaluate(retrained, held_texts, held_labels)
        target = retrained.save(out_path or instance_model_path())
        mark_used(session, [i for i, _, _ in examples], version=retrained.version)
    table = Table(title=f"held-out split: {len(held_texts)} messages never trained on")
    for column in ("model", "version", "labelled examples from people", "macro-F1", "accuracy"):
        table.add_column(column)
    table.add_row(
        "before", current.version, "—", f"{before.macro_f1:.4f}", f"{before.accuracy:.4f}"
    )
    table.add_row(
        "after",
        retrained.version,
        str(len(examples)),
        f"{after.macro_f1:.4f}",
        f"{after.accuracy:.4f}",
    )
    out.print(table)
    out.print(f"wrote {target}", highlight=False)
    if os.environ.get(PATH_ENV) != str(target):
        out.print(f"to use it: export {PATH_ENV}={target.resolve()}", highlight=False)


def data_folder(data: Path | None) -> Path:
    folder = data or corpus.default_data_dir()
    if not (folder / corpus.LABELED_FILE).is_file():
        raise fail(
            f"the gov-messages data is not at {folder} (no {corpus.LABELED_FILE}); "
            "give its folder with --data"
        )
    return folder
