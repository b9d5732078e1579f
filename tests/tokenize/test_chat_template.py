"""``template: model``: the tokenizer's own Jinja chat template, rendered and tokenized as
``transformers`` does, with masks on exactly the assistant texts and their end-of-turn markers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from curate.formats.jinja import ModelTemplate, TemplateRecordError
from curate.tokenize.chat import encode_chats, template_for
from curate.tokenize.load import load_tokenizer
from curate.tokenize.testing import END_OF_TURN

FAMILIES = ("qwen", "llama3", "mistral", "gemma")
SYSTEM_FOLDED = {"qwen": True, "llama3": True, "mistral": True, "gemma": False}
"""Whether the family's template takes a system turn (gemma's refuses it)."""

CHAT = [
    {"role": "system", "content": "Answer in the language of the question."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital of France."},
    {"role": "user", "content": "日本の首都はどこですか？"},
    {"role": "assistant", "content": "日本の首都は東京です。"},
    {"role": "user", "content": "А столица России?"},
    {"role": "assistant", "content": "Москва — столица России. 🙂"},
]


def chat_for(family: str, messages=CHAT):
    return list(messages) if SYSTEM_FOLDED[family] else [m for m in messages if m["role"] != "system"]


def auto_ids(auto, messages) -> list[int]:
    out = auto.apply_chat_template(messages, tokenize=True)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


def masked_text(tokenizer, ids, mask) -> str:
    return tokenizer.decode(np.asarray(ids)[np.asarray(mask, dtype=bool)])


def expected_targets(family: str, messages) -> str:
    """What the mask must decode to: every assistant text, each followed by its end-of-turn marker."""
    return "".join(m["content"] + END_OF_TURN[family] for m in messages if m["role"] == "assistant")


@pytest.mark.parametrize("family", FAMILIES)
def test_text_and_ids_equal_transformers_and_the_mask_is_the_assistant_texts(hf_families, family):
    directory = hf_families[family]
    tokenizer = load_tokenizer(directory)
    template = template_for(tokenizer, "model")
    auto = AutoTokenizer.from_pretrained(str(directory))
    messages = chat_for(family)
    text, spans = template.spans(messages)
    assert text == auto.apply_chat_template(messages, tokenize=False)
    ids, mask, lengths, errors = encode_chats(tokenizer, template, [(messages, 0)])
    assert errors == [None] and lengths.tolist() == [ids.size]
    assert ids.tolist() == auto_ids(auto, messages)
    assert masked_text(tokenizer, ids, mask) == expected_targets(family, messages)
    assert [text[a:b] for a, b in spans] == [
        m["content"] + END_OF_TURN[family] for m in messages if m["role"] == "assistant"
    ]
    # the decoded whole is the rendered text: a lossless byte-level tokenizer round-trips it
    assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("family", FAMILIES)
def test_generation_prompts_equal_transformers(hf_families, family):
    directory = hf_families[family]
    template = template_for(load_tokenizer(directory), "model")
    auto = AutoTokenizer.from_pretrained(str(directory))
    prompt = chat_for(family)[:-1]
    expected = auto.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    assert template.render(prompt, add_generation_prompt=True) == expected


def test_the_system_turn_is_folded_by_mistral_and_refused_by_gemma(hf_families):
    mistral = template_for(load_tokenizer(hf_families["mistral"]), "model")
    text, _ = mistral.spans(CHAT)
    assert text.startswith("<s>[INST] Answer in the language of the question.\n\nWhat is the capital")
    gemma = template_for(load_tokenizer(hf_families["gemma"]), "model")
    with pytest.raises(TemplateRecordError, match="System role not supported"):
        gemma.spans(CHAT)


def test_only_turns_from_first_on_are_targets(hf_families):
    """A prompt/completion record (or a preference side) trains on its completion only."""
    tokenizer = load_tokenizer(hf_families["qwen"])
    template = template_for(tokenizer, "model")
    ids, mask, _, _ = encode_chats(tokenizer, template, [(CHAT, 5)])
    assert masked_text(tokenizer, ids, mask) == CHAT[6]["content"] + "<|im_end|>"


def test_completion_strings_end_with_the_end_of_turn_marker(hf_families):
    """TRL's string form: prompt + generation prompt, completion up to <|im_end|> (not the newline)."""
    directory = hf_families["qwen"]
    template = template_for(load_tokenizer(directory), "model")
    auto = AutoTokenizer.from_pretrained(str(directory))
    prompt, completion = template.completion_texts(CHAT[:-1], CHAT[-1:])
    assert prompt == auto.apply_chat_template(CHAT[:-1], tokenize=False, add_generation_prompt=True)
    assert completion == CHAT[-1]["content"] + "<|im_end|>"
    assert auto.apply_chat_template(CHAT, tokenize=False).startswith(prompt + completion)


def test_a_template_that_strips_content_is_masked_on_what_it_wrote(hf_families):
    """Llama 3's template trims every content: the target is the trimmed text."""
    tokenizer = load_tokenizer(hf_families["llama3"])
    template = template_for(tokenizer, "model")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  Hello there.\n"}]
    ids, mask, _, _ = encode_chats(tokenizer, template, [(messages, 0)])
    assert masked_text(tokenizer, ids, mask) == "Hello there.<|eot_id|>"


def test_content_that_also_occurs_in_the_markup_is_found_where_the_assistant_wrote_it(hf_families):
    """An answer "im" (inside <|im_end|>) or "assistant" (inside the header) is located as content."""
    tokenizer = load_tokenizer(hf_families["qwen"])
    template = template_for(tokenizer, "model")
    for answer in ("im", "assistant", "end", "|>"):
        messages = [{"role": "user", "content": "Say it."}, {"role": "assistant", "content": answer}]
        ids, mask, _, _ = encode_chats(tokenizer, template, [(messages, 0)])
        assert masked_text(tokenizer, ids, mask) == answer + "<|im_end|>"


def test_the_generation_tag_renders_its_body(hf_qwen):
    """A template with {% generation %} markers (as some ship) renders as transformers renders it."""
    source = (
        "{%- for m in messages -%}{{- '<|im_start|>' + m['role'] + '\\n' -}}"
        "{%- if m['role'] == 'assistant' -%}{% generation %}{{- m['content'] + '<|im_end|>' -}}{% endgeneration %}"
        "{%- else -%}{{- m['content'] + '<|im_end|>' -}}{%- endif -%}{{- '\\n' -}}{%- endfor -%}"
    )
    tokenizer = load_tokenizer(hf_qwen)
    template = template_for(tokenizer, "model", source=source)
    auto = AutoTokenizer.from_pretrained(str(hf_qwen))
    messages = chat_for("qwen")
    assert template.render(messages) == auto.apply_chat_template(
        messages, tokenize=False, chat_template=source
    )
    ids, mask, _, _ = encode_chats(tokenizer, template, [(messages, 0)])
    assert masked_text(tokenizer, ids, mask) == expected_targets("qwen", messages)


def test_hf_helpers_are_there(hf_qwen):
    """raise_exception, tojson (no HTML escaping) and strftime_now, as transformers provides them."""
    source = "{{ messages | tojson }}{{ strftime_now('%Y') | length }}"
    template = ModelTemplate(source, variables={}, control_tokens=[], name="t")
    messages = [{"role": "user", "content": "<b>é</b>"}]
    auto = AutoTokenizer.from_pretrained(str(hf_qwen))
    assert template.render(messages) == auto.apply_chat_template(
        messages, tokenize=False, chat_template=source
    )


# --- property: random chats ----------------------------------------------------------------

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,;:!?-'\"()/\néüß你好世界東京ёжикمرحباनमस्ते😀🚀"
words = st.text(alphabet=ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)


@st.composite
def chats(draw, family: str):
    turns = draw(st.integers(1, 3))
    messages = []
    if SYSTEM_FOLDED[family] and draw(st.booleans()):
        messages.append({"role": "system", "content": draw(words)})
    for _ in range(turns):
        messages.append({"role": "user", "content": draw(words)})
        messages.append({"role": "assistant", "content": draw(words)})
    return messages


@pytest.mark.parametrize("family", FAMILIES)
def test_property_masks_decode_to_the_assistant_texts(hf_families, family):
    directory = hf_families[family]
    tokenizer = load_tokenizer(directory)
    template = template_for(tokenizer, "model")
    auto = AutoTokenizer.from_pretrained(str(directory))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(chats(family))
    def check(messages):
        ids, mask, _, errors = encode_chats(tokenizer, template, [(messages, 0)])
        assert errors == [None]
        assert masked_text(tokenizer, ids, mask) == expected_targets(family, messages)
        assert ids.tolist() == auto_ids(auto, messages)

    check()


MARKUP = ["<|", "|>", "im_end", "assistant", "[/INST]", "<end_of_turn>", "eot_id", "\n", "  ", "model"]
odd_words = st.lists(st.one_of(st.sampled_from(MARKUP), words), min_size=1, max_size=4).map("".join)


@pytest.mark.parametrize("family", FAMILIES)
def test_property_spans_without_the_second_rendering_equal_the_rendered_ones(hf_families, family):
    """The common-case search (content closes its turn) finds exactly the spans the prefix
    renderings find, also for answers made of template markup and padded with whitespace."""
    template = template_for(load_tokenizer(hf_families[family]), "model")
    rendered = template_for(load_tokenizer(hf_families[family]), "model")
    rendered._closing = lambda full, content, end: None  # only the prefix-rendering path

    @st.composite
    def odd_chats(draw):
        messages = []
        for _ in range(draw(st.integers(1, 3))):
            messages.append({"role": "user", "content": draw(odd_words)})
            messages.append({"role": "assistant", "content": draw(odd_words)})
        return messages

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(odd_chats())
    def check(messages):
        try:
            expected = rendered.spans(messages)
        except TemplateRecordError:
            return
        assert template.spans(messages) == expected

    check()


def test_the_sample_tokenizer_has_a_chatml_template_and_regenerates_byte_for_byte(tmp_path):
    """sample_data/hf-tokenizer (recipes/sft-hf.yaml): ChatML specials as single ids, the qwen-shaped
    template in its config, and make_hf_tokenizer.py rewrites it identically."""
    import subprocess
    import sys

    from curate.tokenize.testing import CHAT_TEMPLATES
    from tests.tokenize.hf_fixtures import SAMPLE, SAMPLE_TOKENIZER

    tokenizer = load_tokenizer(SAMPLE_TOKENIZER)
    assert tokenizer.chat_template == CHAT_TEMPLATES["qwen"]
    assert {"<|im_start|>", "<|im_end|>", "<|endoftext|>"} <= set(tokenizer.special_ids)
    template_for(tokenizer, "model").probe()
    out = tmp_path / "tok"
    subprocess.run([sys.executable, str(SAMPLE / "make_hf_tokenizer.py"), "--out", str(out)], check=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (out / name).read_bytes() == (SAMPLE_TOKENIZER / name).read_bytes()


class OffsetsOnly:
    """A tokenizer seen only through the interface's encode_with_offsets (no encode_spanned)."""

    def __init__(self, tokenizer):
        self.encode_with_offsets = tokenizer.encode_with_offsets


@pytest.mark.parametrize("family", FAMILIES)
def test_the_hf_fast_path_equals_the_offsets_rule(hf_families, family):
    """HFTokenizer.encode_spanned (char_to_token) marks exactly the tokens overlapping each span, as
    the generic offsets rule does, also for spans that cut through tokens and multi-byte characters."""
    from curate.tokenize.base import encode_spanned

    tokenizer = load_tokenizer(hf_families[family])
    texts = ["Hello wonderful world 😀 日本語", "ab", "x" * 30 + " 東京です。"]
    spans = [[(3, 9), (21, 23), (24, 27)], [(0, 2)], [(5, 7), (31, 33), (32, 34)]]
    fast = encode_spanned(tokenizer, texts, spans)
    slow = encode_spanned(OffsetsOnly(tokenizer), texts, spans)
    for got, want in zip(fast, slow, strict=True):
        assert got.tolist() == want.tolist()
    assert fast[1].any()


def test_a_sentencepiece_model_with_a_template_file_masks_the_assistant_texts():
    """template: {jinja: PATH} with a sentencepiece model: the offsets path of the interface."""
    from curate.tokenize.encoder import SentencePieceTokenizer
    from curate.tokenize.testing import CHAT_TEMPLATES
    from tests.tokenize.corpus import model_bytes

    tokenizer = SentencePieceTokenizer(model_bytes())
    template = template_for(tokenizer, "model", source=CHAT_TEMPLATES["qwen"])
    ids, mask, _, errors = encode_chats(tokenizer, template, [(chat_for("qwen"), 0)])
    assert errors == [None]
    expected = [m["content"] + "<|im_end|>" for m in chat_for("qwen") if m["role"] == "assistant"]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask, [0]])))
    pieces = [tokenizer.decode(ids[a:b]) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    assert pieces == expected
