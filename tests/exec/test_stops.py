"""A step that leaves nothing stops the run right there, naming itself and its reasons; steps that
remove an unusual share of their input are warned about."""

from __future__ import annotations

import pytest

from curate.errors import InputError, StageError
from curate.exec.pipe import UNUSUAL_REMOVAL_SHARE, run_recipe, step_warnings
from curate.recipe import parse_recipe
from tests.conftest import write_jsonl
from tests.exec.toy_stages import REGISTRY


def corpus(tmp_path, name="web", rows=30, **fields):
    docs = [{"text": f"document number {i} " + "word " * (i % 5), **fields} for i in range(rows)]
    return write_jsonl(tmp_path / f"{name}.jsonl", docs)


def run(tmp_path, text):
    recipe = parse_recipe(text, registry=REGISTRY)
    return run_recipe(recipe, run_dir=tmp_path / "run", registry=REGISTRY, workers=1, report=False)


def test_a_stage_that_removes_every_record_stops_the_run_and_says_why(tmp_path):
    corpus(tmp_path)
    text = f"""
name: t
sources: [{{name: web, path: "{tmp_path}/web.jsonl"}}]
stages:
  - short: {{min_chars: 100000000}}
  - exact: {{}}
"""
    with pytest.raises(StageError) as error:
        run(tmp_path, text)
    message = str(error.value)
    assert message.startswith("01-short removed every record (30 in, 0 out: too_short 30)")
    assert "--stage short --rejected" in message
    # it stopped there: the next step never ran, and the failed step's counts are kept
    assert not (tmp_path / "run/stages/02-exact").exists()
    assert (tmp_path / "run/stats/01-short.json").exists()


def test_a_wrong_text_field_is_named_at_the_read_step_not_at_a_later_one(tmp_path):
    corpus(tmp_path, "web")
    write_jsonl(tmp_path / "chat.jsonl", [{"body": f"text {i}"} for i in range(7)])
    text = f"""
name: t
sources:
  - {{name: web, path: "{tmp_path}/web.jsonl"}}
  - {{name: notes, path: "{tmp_path}/chat.jsonl", text_field: content}}
stages:
  - short: {{min_chars: 1}}
"""
    with pytest.raises(InputError) as error:
        run(tmp_path, text)
    message = str(error.value)
    assert "00-read: source 'notes' has no usable record: 7 read, all quarantined as bad input" in message
    assert "bad_input:missing_text 7" in message
    assert "text_field ('content')" in message


def test_a_step_removing_most_of_its_input_by_one_rule_is_warned_about(tmp_path):
    docs = [{"text": f"short {i}"} for i in range(38)] + [{"text": "a long enough document"}] * 2
    write_jsonl(tmp_path / "web.jsonl", docs)
    text = f"""
name: t
sources: [{{name: web, path: "{tmp_path}/web.jsonl"}}]
stages:
  - short: {{min_chars: 20}}
"""
    result = run(tmp_path, text)
    short = result.steps[1]
    removed = short["reasons"]["too_short"] / short["records"]["in"]
    assert removed >= UNUSUAL_REMOVAL_SHARE and short["records"]["out"] > 0
    (warning,) = result.manifest["warnings"]
    assert warning.startswith(f"01-short: one rule, too_short, removed {removed:.0%} of the step's input")


def test_step_warnings_threshold_and_sampling():
    def stats(dropped: int, reason: str = "too_short") -> dict:
        return {
            "dir": "01-short",
            "records": {"in": 100, "out": 100 - dropped},
            "reasons": {reason: dropped} if dropped else {},
        }

    just_under = round(100 * UNUSUAL_REMOVAL_SHARE) - 1
    assert step_warnings(stats(just_under)) == []
    assert len(step_warnings(stats(just_under + 1))) == 1
    assert step_warnings(stats(99, "mix_not_sampled")) == []  # the recipe's own choice of size
