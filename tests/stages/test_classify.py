"""classify and train-classifier: a real fastText model trained on two small labelled sets
(plain prose vs. spam), then used as a filter, through the stage, a whole run and the CLI."""

from __future__ import annotations

import json
import random
import shutil

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.classifiers.train import ClassifierOptions, label_examples, train_classifier
from curate.cli import app
from curate.errors import InputError, StageError, UsageError
from curate.exec.pipe import run_recipe
from curate.recipe import parse_recipe
from curate.records import MESSAGES_DTYPE, REASON
from curate.stages import classify, language
from tests.conftest import write_jsonl

PROSE = [
    "river",
    "mill",
    "garden",
    "children",
    "morning",
    "bridge",
    "baker",
    "market",
    "winter",
    "harbour",
    "lantern",
    "orchard",
]
SPAM = ["buy", "cheap", "pills", "now", "click", "here", "free", "winner", "casino", "bonus", "offer", "deal"]


def sentences(words: list[str], n: int, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 20))) + "." for _ in range(n)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model of labels hq (prose) and lq (spam), with the files it was trained from."""
    root = tmp_path_factory.mktemp("classifier")
    write_jsonl(root / "good/a.jsonl", [{"text": t} for t in sentences(PROSE, 80, seed=1)])
    write_jsonl(
        root / "raw/b.jsonl", [{"text": t} for t in sentences(SPAM, 120, seed=2)], raw_lines=[b"{bad"]
    )
    examples = label_examples([f"hq={root}/good/*.jsonl", f"lq={root}/raw/*.jsonl"])
    report = train_classifier(examples, root / "quality.bin", options=ClassifierOptions(epochs=10, seed=0))
    return root, report


def test_training_balances_the_labels_holds_some_out_and_reports_them(trained):
    root, report = trained
    assert report.labels == {"hq": 72, "lq": 72} and report.held_out == {"hq": 8, "lq": 8}
    assert report.accuracy == 1.0 and report.per_label["lq"]["recall"] == 1.0
    assert report.bad_input == 1  # the broken line is counted, not trained on
    assert json.loads((root / "quality.bin.json").read_text())["labels"] == {"hq": 72, "lq": 72}
    model = classify.load_classifier(str(root / "quality.bin"))
    assert sorted(model.labels) == ["hq", "lq"]


def test_training_is_deterministic(trained, tmp_path):
    root, _ = trained
    examples = label_examples([f"hq={root}/good/*.jsonl", f"lq={root}/raw/*.jsonl"])
    options = ClassifierOptions(epochs=10, seed=0)
    train_classifier(examples, tmp_path / "again.bin", options=options)
    assert (tmp_path / "again.bin").read_bytes() == (root / "quality.bin").read_bytes()


def test_an_ftz_model_is_quantized_and_scored_as_written(trained, tmp_path):
    root, _ = trained
    examples = label_examples([f"hq={root}/good/*.jsonl", f"lq={root}/raw/*.jsonl"])
    options = ClassifierOptions(epochs=10, seed=0, quantize_cutoff=500)
    report = train_classifier(examples, tmp_path / "q.ftz", options=options)
    assert (tmp_path / "q.ftz").stat().st_size < (root / "quality.bin").stat().st_size / 20
    assert report.accuracy is not None and report.accuracy >= 0.75
    assert sorted(classify.load_classifier(str(tmp_path / "q.ftz")).labels) == ["hq", "lq"]


def test_probabilities_of_each_label_sum_to_one_and_match_the_top_prediction(trained):
    root, _ = trained
    model = classify.load_classifier(str(root / "quality.bin"))
    lines = [
        "the baker walks to the market over the bridge\n",
        "click here for cheap pills and a casino bonus\n",
    ]
    probs = model.probabilities(lines, ("hq", "lq"))
    assert probs.sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-4)
    top, score = model.predict(lines)
    assert top == ["hq", "lq"] and score == pytest.approx(probs.max(axis=1), abs=1e-6)


def batch(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"id": [f"w:{i}" for i in range(len(texts))], "source": "web", "text": texts})


def test_keep_drops_what_the_classifier_does_not_call_hq(trained):
    root, _ = trained
    cfg = classify.ClassifyConfig(model=str(root / "quality.bin"), keep={"hq": 0.5})
    texts = [*sentences(PROSE, 5, seed=7), *sentences(SPAM, 5, seed=8), "   "]
    result = classify.apply(batch(texts), cfg)
    assert result.kept["id"].to_list() == [f"w:{i}" for i in range(5)]
    assert (result.kept["quality_hq"] >= 0.5).all()
    reasons = dict(zip(result.dropped["id"], result.dropped[REASON], strict=True))
    assert reasons == {**{f"w:{i}": "quality_not_kept" for i in range(5, 10)}, "w:10": "quality_empty"}
    assert result.dropped.filter(pl.col(REASON) == "quality_empty")["quality_hq"].is_null().all()
    assert sum(v for k, v in result.counters.items() if k.startswith("quality_hq.p")) == 10


def test_remove_names_the_label_and_comes_before_keep(trained):
    root, _ = trained
    cfg = classify.ClassifyConfig(
        model=str(root / "quality.bin"), name="spam", keep={"hq": 0.0}, remove={"lq": 0.6}
    )
    texts = [*sentences(PROSE, 3, seed=9), *sentences(SPAM, 3, seed=10)]
    result = classify.apply(batch(texts), cfg)
    assert result.dropped[REASON].to_list() == ["spam_removed_lq"] * 3
    assert result.kept.columns[-2:] == ["spam_hq", "spam_lq"] and result.kept.height == 3


def test_only_scoring_gives_every_label_a_column(trained):
    root, _ = trained
    result = classify.apply(
        batch(sentences(SPAM, 4, seed=3)), classify.ClassifyConfig(model=str(root / "quality.bin"))
    )
    assert result.dropped.height == 0 and {"quality_hq", "quality_lq"} <= set(result.kept.columns)


def test_chat_records_are_scored_on_their_view(trained):
    root, _ = trained
    spam, prose = sentences(SPAM, 1, seed=4)[0], sentences(PROSE, 1, seed=5)[0]
    messages = [[{"role": "user", "content": spam}, {"role": "assistant", "content": prose}]]
    chats = pl.DataFrame(
        {"id": ["c:0"], "source": ["chat"], "messages": pl.Series(messages, dtype=MESSAGES_DTYPE)}
    )
    on_answers = classify.ClassifyConfig(
        model=str(root / "quality.bin"), keep={"hq": 0.5}, view={"roles": ["assistant"]}
    )
    on_prompts = on_answers.model_copy(update={"view": classify.TextView(roles=("user",))})
    assert classify.apply(chats, on_answers).kept.height == 1
    assert classify.apply(chats, on_prompts).dropped[REASON].to_list() == ["quality_not_kept"]


def test_bad_configs_and_models_are_clear_errors(trained, tmp_path):
    root, _ = trained
    with pytest.raises(
        StageError, match=r"\['good'\] are not labels of the model .*\(its labels: (hq, lq|lq, hq)\)"
    ):
        classify.check(classify.ClassifyConfig(model=str(root / "quality.bin"), keep={"good": 0.5}))
    with pytest.raises(StageError, match=r"model file 'nope\.bin' not found"):
        classify.check(classify.ClassifyConfig(model="nope.bin"))
    (tmp_path / "junk.bin").write_bytes(b"not a model")
    with pytest.raises(StageError, match="is not a fastText model"):
        classify.check(classify.ClassifyConfig(model=str(tmp_path / "junk.bin")))
    with pytest.raises(ValueError, match="in both keep and remove"):
        classify.ClassifyConfig(model="m.bin", keep={"hq": 0.5}, remove={"hq": 0.9})
    with pytest.raises(ValueError, match="between 0 and 1"):
        classify.ClassifyConfig(model="m.bin", keep={"hq": 1.5})
    with pytest.raises(ValueError, match="lower-case letters"):
        classify.ClassifyConfig(model="m.bin", name="Quality Score")


def test_bad_training_requests_are_usage_errors(trained, tmp_path):
    root, _ = trained
    with pytest.raises(UsageError, match="write LABEL=PATH_PATTERN"):
        label_examples(["hq:good/*.jsonl"])
    with pytest.raises(UsageError, match="at least two labels"):
        train_classifier(label_examples([f"hq={root}/good/*.jsonl"]), tmp_path / "m.bin")
    both = label_examples([f"hq={root}/good/*.jsonl", f"lq={root}/raw/*.jsonl"])
    with pytest.raises(UsageError, match=r"must end in \.bin or \.ftz"):
        train_classifier(both, tmp_path / "m.model")
    with pytest.raises(UsageError, match="exists; pass --force"):
        train_classifier(both, root / "quality.bin")
    write_jsonl(tmp_path / "empty/x.jsonl", [{"text": "  "}])
    with pytest.raises(InputError, match="label 'lq' has no usable text"):
        train_classifier(
            label_examples([f"hq={root}/good/*.jsonl", f"lq={tmp_path}/empty/*.jsonl"]), tmp_path / "m.bin"
        )


def test_a_run_filters_with_the_model_and_reruns_when_it_is_retrained(trained, tmp_path):
    root, _ = trained
    write_jsonl(
        tmp_path / "web.jsonl",
        [{"text": t} for t in sentences(PROSE, 6, seed=11) + sentences(SPAM, 4, seed=12)],
    )
    model = tmp_path / "q.bin"
    model.write_bytes((root / "quality.bin").read_bytes())
    text = f"""
name: cls
sources: [{{name: web, path: "{tmp_path}/web.jsonl"}}]
stages:
  - classify: {{model: "{model}", keep: {{hq: 0.5}}}}
"""
    first = run_recipe(
        parse_recipe(text), run_dir=tmp_path / "runs/a", workers=1, progress=False, report=False
    )
    step = first.manifest["steps"][1]
    assert step["records"]["out"] == 6 and step["reasons"] == {"quality_not_kept": 4}
    examples = label_examples([f"hq={root}/good/*.jsonl", f"lq={root}/raw/*.jsonl"])
    train_classifier(examples, model, options=ClassifierOptions(epochs=3, seed=1), overwrite=True)
    again = run_recipe(
        parse_recipe(text),
        run_dir=tmp_path / "runs/a",
        mode="resume",
        workers=1,
        progress=False,
        report=False,
    )
    assert again.manifest["steps"][1]["key"] != step["key"] and not again.manifest["steps"][1]["cached"]


def test_a_classifier_learns_from_the_chosen_turns_of_chats(tmp_path):
    """Prompts are spam in both labels, answers differ: trained on the assistant turns the model
    separates the labels, trained on the user turns it cannot; the stage scores with the same view."""

    def chats(answers: list[str], seed: int) -> list[dict]:
        prompts = sentences(SPAM, len(answers), seed=seed)
        return [
            {"conversations": [{"from": "human", "value": p}, {"from": "gpt", "value": a}]}
            for p, a in zip(prompts, answers, strict=True)
        ]

    write_jsonl(tmp_path / "good.jsonl", chats(sentences(PROSE, 60, seed=20), seed=21))
    write_jsonl(tmp_path / "bad.jsonl", chats(sentences(SPAM, 60, seed=22), seed=23))
    args = ["train-classifier", str(tmp_path / "m.bin"), "--format", "sharegpt", "--role", "assistant"]
    args += [
        "--label",
        f"good={tmp_path}/good.jsonl",
        "--label",
        f"bad={tmp_path}/bad.jsonl",
        "--epochs",
        "10",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == 1.0
    messages = [
        [{"role": "user", "content": sentences(SPAM, 1, seed=24)[0]}, {"role": "assistant", "content": a}]
        for a in sentences(PROSE, 3, seed=25)
    ]
    batch = pl.DataFrame(
        {"id": ["c0", "c1", "c2"], "source": "chat", "messages": pl.Series(messages, dtype=MESSAGES_DTYPE)}
    )
    cfg = classify.ClassifyConfig(
        model=str(tmp_path / "m.bin"), keep={"good": 0.5}, view={"roles": ["assistant"]}
    )
    assert classify.apply(batch, cfg).kept.height == 3
    prompts_only = [*args[:4], "--role", "user", *args[6:], "--force"]
    assert json.loads(CliRunner().invoke(app, prompts_only).stdout)["accuracy"] < 0.9
    bad_role = CliRunner().invoke(app, [*args[:4], "--role", "bot", *args[6:]])
    assert bad_role.exit_code == 2 and "'bot' is not a chat role" in bad_role.output


def test_a_model_file_replaced_on_disk_is_loaded_again(trained, tmp_path):
    """Models are cached per process, by path and file version: a retrained classifier (or a
    replaced language model) at the same path must not be served from the cache."""
    root, _ = trained
    path = tmp_path / "model.bin"
    shutil.copy(language.load_model().path, path)
    assert "en" in language.load_model(str(path)).labels
    assert "en" in classify.load_classifier(str(path)).labels
    shutil.copy(root / "quality.bin", path)
    assert sorted(language.load_model(str(path)).labels) == ["hq", "lq"]
    assert sorted(classify.load_classifier(str(path)).labels) == ["hq", "lq"]


def test_cli_trains_a_model_and_refuses_to_overwrite_it(trained, tmp_path):
    root, _ = trained
    args = [
        "train-classifier",
        str(tmp_path / "m.bin"),
        "--label",
        f"hq={root}/good/*.jsonl",
        "--label",
        f"lq={root}/raw/*.jsonl",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["labels"] == {"hq": 72, "lq": 72}
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "pass --force" in again.output
    missing = CliRunner().invoke(
        app,
        [
            "train-classifier",
            str(tmp_path / "n.bin"),
            "--label",
            "hq=nowhere/*.jsonl",
            "--label",
            f"lq={root}/raw/*.jsonl",
        ],
    )
    assert missing.exit_code == 2 and "matched no file" in missing.output
