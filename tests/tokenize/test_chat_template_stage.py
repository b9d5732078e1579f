"""``format``/``tokenize`` with ``template: model`` and ``{jinja: PATH}``: ids of transformers'
``apply_chat_template``, records a template refuses quarantined, bad templates refused at preflight."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from transformers import AutoTokenizer

from curate.errors import StageError
from curate.records import REASON
from curate.stages import REGISTRY
from curate.stages.base import ShardInfo
from curate.stages.format import FormatConfig
from curate.stages.format import apply as format_apply
from curate.stages.format import check as format_check
from curate.stages.tokenize import TokenizeConfig, apply, check, fit
from curate.tokenize.load import load_tokenizer
from curate.tokenize.testing import CHAT_TEMPLATES, build_hf_tokenizer, set_config
from tests.stages.test_tokenize import CHATS, PAIRS, a, context, frame, run_all, shard, u
from tests.tokenize.hf_fixtures import training_texts
from tests.tokenize.test_chat_template import auto_ids, masked_text

CHAT_SHARD = ShardInfo(index=0, source="chat", kind="chat")
USER_ONLY = "{%- for m in messages -%}{%- if m['role'] == 'user' -%}{{- m['content'] + '\\n' -}}{%- endif -%}{%- endfor -%}"
"""A template that writes no assistant text: no mask could ever be found."""


@pytest.fixture(scope="module")
def no_template(tmp_path_factory):
    """A Qwen-shaped tokenizer directory whose config has no chat_template."""
    return build_hf_tokenizer(tmp_path_factory.mktemp("hf") / "plain", training_texts()[:200], vocab_size=600)


def gemma_chats(rows):
    return frame("chat", "chat", [{"messages": m} for m in rows])


def test_tokenize_ids_are_apply_chat_templates_and_masks_the_assistant_texts(hf_families, tmp_path):
    directory = hf_families["llama3"]
    cfg = TokenizeConfig(hf=str(directory), template="model", seq_len=256)
    result, outputs, stats = run_all([CHATS, PAIRS], cfg, tmp_path)
    assert result.stats["chat_template"] == "model"
    auto = AutoTokenizer.from_pretrained(str(directory))
    tokenizer = load_tokenizer(directory)
    kept = outputs[0].kept
    for messages, ids, mask in zip(kept["messages"], kept["input_ids"], kept["loss_mask"], strict=True):
        assert ids.to_list() == auto_ids(auto, messages.to_list())
        expected = "".join(m["content"].strip() + "<|eot_id|>" for m in messages if m["role"] == "assistant")
        assert masked_text(tokenizer, ids.to_list(), mask.to_list()) == expected
    pairs = outputs[1].kept
    for side in ("chosen", "rejected"):
        for prompt, answer, ids, mask in zip(
            pairs["prompt"], pairs[side], pairs[f"{side}_input_ids"], pairs[f"{side}_loss_mask"], strict=True
        ):
            assert ids.to_list() == auto_ids(auto, [*prompt.to_list(), *answer.to_list()])
            assert (
                masked_text(tokenizer, ids.to_list(), mask.to_list()) == answer[0]["content"] + "<|eot_id|>"
            )
    assert stats["preference"]["pairs"] == PAIRS.height


def test_prompt_completion_records_train_on_the_completion(hf_families, tmp_path):
    directory = hf_families["qwen"]
    cfg = TokenizeConfig(hf=str(directory), template="model")
    batch = frame(
        "chat", "chat", [{"messages": [u("Hi"), a("Hello"), u("Bye?"), a("Good bye.")]}]
    )  # reshaped by format below
    shaped = format_apply(
        batch,
        FormatConfig(kind="sft", sft_schema="prompt_completion", template="model", tokenizer=str(directory)),
    ).kept
    state = fit([], cfg, context(tmp_path)).state
    out = apply(shaped, cfg, state, CHAT_SHARD).kept
    tokenizer = load_tokenizer(directory)
    assert (
        masked_text(tokenizer, out["input_ids"][0].to_list(), out["loss_mask"][0].to_list())
        == "Good bye.<|im_end|>"
    )
    auto = AutoTokenizer.from_pretrained(str(directory))
    whole = [*shaped["prompt"][0].to_list(), *shaped["completion"][0].to_list()]
    assert out["input_ids"][0].to_list() == auto_ids(auto, whole)


def test_string_completions_are_tokenized_whole_with_the_completion_as_target(hf_families, tmp_path):
    directory = hf_families["qwen"]
    shaped = format_apply(
        CHATS.head(3),
        FormatConfig(
            kind="sft",
            sft_schema="prompt_completion",
            strings=True,
            template="model",
            tokenizer=str(directory),
        ),
    ).kept
    assert all(c.endswith("<|im_end|>") for c in shaped["completion"])
    cfg = TokenizeConfig(hf=str(directory), template="model")
    state = fit([], cfg, context(tmp_path)).state
    out = apply(shaped, cfg, state, CHAT_SHARD).kept
    tokenizer = load_tokenizer(directory)
    for completion, ids, mask in zip(shaped["completion"], out["input_ids"], out["loss_mask"], strict=True):
        assert masked_text(tokenizer, ids.to_list(), mask.to_list()) == completion


def test_a_record_the_template_refuses_is_quarantined_with_its_message(hf_families, tmp_path):
    """Gemma's template refuses a system turn: format quarantines it, tokenize too if it gets there."""
    directory = hf_families["gemma"]
    rows = [[u("Hi"), a("Hello")], [{"role": "system", "content": "Be brief."}, u("Hi"), a("Hello")]]
    batch = gemma_chats(rows)
    out = format_apply(batch, FormatConfig(kind="sft", template="model", tokenizer=str(directory)))
    assert out.kept.height == 1 and "error" not in out.kept.columns
    assert out.dropped[REASON].to_list() == ["format_template_error"]
    assert out.dropped["error"].to_list() == ["System role not supported"]
    cfg = TokenizeConfig(hf=str(directory), template="model")
    state = fit([], cfg, context(tmp_path)).state
    tokenized = apply(batch, cfg, state, shard(0, batch))
    assert tokenized.kept["id"].to_list() == [batch["id"][0]] and "error" not in tokenized.kept.columns
    assert tokenized.dropped[REASON].to_list() == ["tokenize_template_error"]
    assert tokenized.dropped["error"].to_list() == ["System role not supported"]


def test_a_template_that_fails_at_run_time_quarantines_the_record(hf_qwen, tmp_path):
    source = CHAT_TEMPLATES["qwen"].replace(
        "{%- for m in messages -%}",
        "{%- for m in messages -%}{%- if 'forbidden' in m['content'] -%}"
        "{{- raise_exception('roles must alternate') -}}{%- endif -%}{{- (1 if m['content'] != 'zero' else 0) // "
        "(0 if m['content'] == 'boom' else 1) -}}",
    )
    path = tmp_path / "t.jinja"
    path.write_text(source, encoding="utf-8")
    batch = frame("chat", "chat", [{"messages": [u(x), a("ok")]} for x in ("fine", "forbidden word", "boom")])
    out = format_apply(batch, FormatConfig(kind="sft", template={"jinja": str(path)}, tokenizer=str(hf_qwen)))
    assert out.kept.height == 1
    assert out.dropped["error"].to_list() == [
        "roles must alternate",
        "ZeroDivisionError: integer division or modulo by zero",
    ]


def test_preflight_refuses_a_tokenizer_without_a_chat_template(no_template):
    with pytest.raises(StageError, match=r"tokenize: template: model, but .* has no chat_template"):
        check(TokenizeConfig(hf=str(no_template), template="model"))
    with pytest.raises(StageError, match=r"format: template: model, but .* has no chat_template"):
        format_check(FormatConfig(kind="sft", template="model", tokenizer=str(no_template)))


def test_preflight_refuses_a_template_with_no_assistant_text(no_template, tmp_path):
    set_config(no_template, chat_template=USER_ONLY)
    with pytest.raises(
        StageError, match=r"tokenize: chat template .*no assistant text|is not in the template"
    ):
        check(TokenizeConfig(hf=str(no_template), template="model"))
    path = tmp_path / "user-only.jinja"
    path.write_text(USER_ONLY, encoding="utf-8")
    with pytest.raises(StageError, match=r"format: chat template \{jinja: .*user-only.jinja\}"):
        format_check(FormatConfig(kind="sft", template={"jinja": str(path)}, tokenizer=str(no_template)))
    set_config(no_template, chat_template=None)


def test_a_template_file_renders_like_the_model_template(hf_families, tmp_path):
    path = tmp_path / "chatml.jinja"
    path.write_text(CHAT_TEMPLATES["qwen"], encoding="utf-8")
    directory = hf_families["qwen"]
    by_file = TokenizeConfig(hf=str(directory), template={"jinja": str(path)})
    check(by_file)
    model = TokenizeConfig(hf=str(directory), template="model")
    ids = [
        apply(CHATS, cfg, fit([], cfg, context(tmp_path / name)).state, shard(0, CHATS)).kept["input_ids"]
        for name, cfg in (("file", by_file), ("model", model))
    ]
    assert ids[0].to_list() == ids[1].to_list()
    assert str(path) in REGISTRY["tokenize"].inputs(by_file)
    with pytest.raises(StageError, match="does not exist"):
        check(TokenizeConfig(model="x.model", template={"jinja": str(tmp_path / "gone.jinja")}))


def test_model_template_needs_a_hf_tokenizer():
    with pytest.raises(ValidationError, match=r"template: model .* needs hf:"):
        TokenizeConfig(template="model")
    with pytest.raises(ValidationError, match=r"\{jinja: PATH\} needs a tokenizer to load"):
        TokenizeConfig(template={"jinja": "t.jinja"})
    with pytest.raises(StageError, match="format: template model needs a tokenizer"):
        format_check(FormatConfig(kind="sft", template="model"))


def test_a_recipe_gives_format_the_tokenize_stages_tokenizer(hf_families, tmp_path):
    """format: {template: model} + tokenize: {hf: ...}: both render with that tokenizer's template."""
    from curate.exec.pipe import check_recipe
    from curate.recipe import recipe_from_data

    data = {
        "name": "r",
        "sources": [{"name": "chat", "path": str(tmp_path / "*.jsonl"), "format": "messages"}],
        "stages": [
            {"format": {"kind": "sft", "template": "model"}},
            {"tokenize": {"hf": str(hf_families["gemma"])}},
        ],
    }
    recipe = recipe_from_data(data)
    fmt, tok = recipe.stage_config("format"), recipe.stage_config("tokenize")
    assert fmt.tokenizer == str(hf_families["gemma"]) and tok.template == "model"
    check_recipe(recipe)
    data["stages"][1]["tokenize"]["template"] = "chatml"
    with pytest.raises(StageError, match="no single token for <\\|im_start\\|>"):
        check_recipe(recipe_from_data(data))


def test_hf_tokenizer_reads_chat_template_jinja(hf_families, tmp_path):
    """Recent transformers save the template as chat_template.jinja: it is read (and wins)."""
    import shutil

    directory = tmp_path / "tok"
    shutil.copytree(hf_families["qwen"], directory)
    config = json.loads((directory / "tokenizer_config.json").read_text())
    (directory / "chat_template.jinja").write_text(CHAT_TEMPLATES["llama3"].replace("bos_token", "''"))
    assert load_tokenizer(directory).chat_template != config["chat_template"]
    assert "<|start_header_id|>" in load_tokenizer(directory).chat_template
    auto = AutoTokenizer.from_pretrained(str(directory))
    assert auto.chat_template == load_tokenizer(directory).chat_template


def test_the_scorer_encodes_chats_as_the_tokenize_stage_does(hf_families):
    """The bundled trainer's scorer, for a run with template: model: same ids and targets."""
    from curate.train.pipeline import template_chat_encoder

    directory = hf_families["mistral"]
    auto = AutoTokenizer.from_pretrained(str(directory))
    messages = [u("Wie spät ist es?"), a("Es ist drei Uhr."), u("Danke!"), a("Bitte sehr.")]
    encoded = template_chat_encoder(directory, "model", "Sei kurz.", 7)
    result = encoded(messages)
    ids, mask = result.ids, result.target
    system = {"role": "system", "content": "Sei kurz."}
    assert list(ids) == [7, *auto_ids(auto, [system, *messages])]
    tokenizer = load_tokenizer(directory)
    assert masked_text(tokenizer, ids, mask) == "Es ist drei Uhr.</s>Bitte sehr.</s>"


def test_a_template_file_is_found_next_to_the_recipe(tmp_path, monkeypatch):
    from curate.recipe import resolve_paths

    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "chat.jinja").write_text(CHAT_TEMPLATES["qwen"])
    monkeypatch.chdir(tmp_path)
    data = {"stages": [{"format": {"kind": "sft", "template": {"jinja": "chat.jinja"}}}]}
    resolved = resolve_paths(data, base_dir=tmp_path / "recipes")
    assert resolved["stages"][0]["format"]["template"]["jinja"] == str(tmp_path / "recipes" / "chat.jinja")


def test_preference_strings_are_the_models_rendering(hf_families):
    """kind: preference, strings: true: prompt with the generation prompt, each side up to its eot."""
    directory = hf_families["llama3"]
    auto = AutoTokenizer.from_pretrained(str(directory))
    out = format_apply(
        PAIRS.head(3),
        FormatConfig(kind="preference", strings=True, template="model", tokenizer=str(directory)),
    ).kept
    for record, prompt, chosen, rejected in zip(
        PAIRS.head(3).iter_rows(named=True), out["prompt"], out["chosen"], out["rejected"], strict=True
    ):
        assert prompt == auto.apply_chat_template(
            record["prompt"], tokenize=False, add_generation_prompt=True
        )
        assert chosen == record["chosen"][0]["content"] + "<|eot_id|>"
        assert rejected == record["rejected"][0]["content"] + "<|eot_id|>"
        assert (
            auto.apply_chat_template([*record["prompt"], *record["chosen"]], tokenize=False)
            == prompt + chosen
        )
