"""Chat templates: exact renderings, trained segments, completion split, special tokens."""

from __future__ import annotations

import pytest

from curate.errors import RecipeError
from curate.formats.templates import (
    EOD,
    TEMPLATES,
    all_special_tokens,
    get_template,
    join,
    join_documents,
)

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "4"},
]

RENDERED = {
    "chatml": (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\n2+2?<|im_end|>\n"
        "<|im_start|>assistant\n4<|im_end|>\n"
    ),
    "llama3": (
        "<|begin_of_text|>"
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
    ),
    "plain": f"System: Be brief.\n\nUser: Hi\n\nAssistant: Hello!{EOD}User: 2+2?\n\nAssistant: 4{EOD}",
}

TRAINED = {
    "chatml": ["Hello!", "<|im_end|>", "4", "<|im_end|>"],
    "llama3": ["Hello!", "<|eot_id|>", "4", "<|eot_id|>"],
    "plain": ["Hello!", EOD, "4", EOD],
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_render_is_exact(name):
    template = get_template(name)
    assert template.render(CHAT) == RENDERED[name]
    assert join(template.render_segments(CHAT)) == RENDERED[name]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_only_assistant_content_and_end_of_turn_train(name):
    segments = get_template(name).render_segments(CHAT)
    assert [s.text for s in segments if s.train] == TRAINED[name]
    assert all(s.markup for s in segments if s.text in get_template(name).special_tokens)
    assert not any(s.markup for s in segments if s.text in {"Hi", "Hello!", "Be brief.", "2+2?", "4"})


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_system_prompt_is_added_only_when_missing(name):
    template = get_template(name)
    without = CHAT[1:]
    assert template.render(without, system="Be brief.") == RENDERED[name]
    assert template.render(CHAT, system="Something else") == RENDERED[name]
    assert "Be brief." not in template.render(without)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_completion_split_ends_the_prompt_with_the_assistant_header(name):
    template = get_template(name)
    head, tail = template.render_completion(CHAT[:-1], CHAT[-1:])
    assert join(head) + join(tail) == RENDERED[name]
    assert join(head) == template.generation_prompt(CHAT[:-1])
    assert tail[0].text == "4"
    assert tail[0].train


def test_every_special_token_of_every_template_is_listed_once():
    specials = all_special_tokens()
    assert len(specials) == len(set(specials))
    for template in TEMPLATES.values():
        assert set(template.special_tokens) <= set(specials)
        rendered = template.render(CHAT)
        used = [tok for tok in specials if tok in rendered]
        assert set(used) <= set(template.special_tokens)
    assert EOD in specials


def test_pretraining_documents_end_with_the_end_of_document_token():
    assert join_documents(["a", "b c"]) == f"a{EOD}b c{EOD}"
    assert join_documents([]) == ""


def test_unknown_template_is_a_recipe_error():
    with pytest.raises(RecipeError, match="alpaca"):
        get_template("alpaca")
