"""Small Hugging Face tokenizers built offline, for tests, benchmarks and the sample recipe.

Each is trained with the ``tokenizers`` library on the texts given and saved with
``transformers.PreTrainedTokenizerFast(...).save_pretrained``, so that its directory holds the
files a real model's tokenizer has (``tokenizer.json``, ``tokenizer_config.json``):

- ``qwen``: byte-level BPE with ChatML's special tokens, ``eos_token`` and ``pad_token``
  ``<|endoftext|>``, no BOS (as Qwen 2.5);
- ``llama3``: byte-level BPE with Llama 3's special tokens; its post-processor puts
  ``<|begin_of_text|>`` in front of every sequence, and the end of text is ``<|end_of_text|>``;
- ``mistral``: byte-level BPE with ``<s>``/``</s>`` and ``[INST]``/``[/INST]``, BOS added by its
  post-processor (as Mistral-instruct's);
- ``gemma``: byte-level BPE with ``<bos>``/``<eos>``/``<pad>`` and ``<start_of_turn>``/``<end_of_turn>``;
- :func:`build_wide_tokenizer`: a byte-level tokenizer whose every id is above 65,535 (vocabulary
  over 65,535, so token files are uint32), built without training.

Each family has a chat template in :data:`CHAT_TEMPLATES`, short Jinja written for curate in the
shape of the family's own (``chat_template=True`` saves it into ``tokenizer_config.json``):

- ``qwen`` (ChatML, as Qwen 2.5): ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per turn, a default
  system turn where the conversation has none;
- ``llama3``: ``<|begin_of_text|>`` then ``<|start_header_id|>{role}<|end_header_id|>\\n\\n`` +
  trimmed content + ``<|eot_id|>``;
- ``mistral`` (instruct): ``<s>[INST] {user} [/INST]{assistant}</s>``, a system prompt folded into
  the first user turn, roles that do not alternate refused with ``raise_exception``;
- ``gemma``: ``<bos><start_of_turn>user\\n...<end_of_turn>\\n<start_of_turn>model\\n...``, a
  system turn refused, roles that do not alternate refused.

``transformers`` is imported only here, to save the directories.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

Family = Literal["qwen", "llama3", "mistral", "gemma"]

QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
LLAMA3_SPECIALS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
)

MISTRAL_SPECIALS = ("<unk>", "<s>", "</s>", "[INST]", "[/INST]")
GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>")
SPECIALS: dict[str, tuple[str, ...]] = {
    "qwen": QWEN_SPECIALS,
    "llama3": LLAMA3_SPECIALS,
    "mistral": MISTRAL_SPECIALS,
    "gemma": GEMMA_SPECIALS,
}
_ALTERNATE = (
    "{%- if (m['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') -}}"
    "{%- endif -%}"
)
CHAT_TEMPLATES: dict[str, str] = {
    "qwen": (
        "{%- if messages[0]['role'] != 'system' -%}"
        "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' -}}"
        "{%- endif -%}"
        "{%- for m in messages -%}"
        "{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
    ),
    "llama3": (
        "{{- bos_token -}}"
        "{%- for m in messages -%}"
        "{{- '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}"
    ),
    "mistral": (
        "{%- if messages[0]['role'] == 'system' -%}"
        "{%- set folded = messages[0]['content'] + '\\n\\n' -%}{%- set turns = messages[1:] -%}"
        "{%- else -%}{%- set folded = '' -%}{%- set turns = messages -%}{%- endif -%}"
        "{{- bos_token -}}"
        "{%- for m in turns -%}" + _ALTERNATE + "{%- if m['role'] == 'user' -%}"
        "{{- '[INST] ' + (folded if loop.first else '') + m['content'] + ' [/INST]' -}}"
        "{%- else -%}{{- m['content'] + eos_token -}}{%- endif -%}"
        "{%- endfor -%}"
    ),
    "gemma": (
        "{%- if messages[0]['role'] == 'system' -%}{{- raise_exception('System role not supported') -}}{%- endif -%}"
        "{{- bos_token -}}"
        "{%- for m in messages -%}"
        + _ALTERNATE
        + "{%- set role = 'model' if m['role'] == 'assistant' else m['role'] -%}"
        "{{- '<start_of_turn>' + role + '\\n' + m['content'] | trim + '<end_of_turn>\\n' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}"
    ),
}
"""A chat template per family, in the shape of the family's own (see the module docstring)."""
END_OF_TURN = {"qwen": "<|im_end|>", "llama3": "<|eot_id|>", "mistral": "</s>", "gemma": "<end_of_turn>"}
"""The end-of-turn marker each family's template writes after an assistant's content."""


def _byte_level(model):
    from tokenizers import Tokenizer, decoders, pre_tokenizers

    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def _save(tok, directory: Path, **special: str | None) -> Path:
    from transformers import PreTrainedTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **{k: v for k, v in special.items() if v})
    fast.save_pretrained(str(directory))
    return directory


def build_hf_tokenizer(
    directory: str | os.PathLike,
    texts: Iterable[str],
    *,
    family: Family = "qwen",
    vocab_size: int = 2000,
    add_bos_token: bool | None = None,
    chat_template: bool | str = False,
) -> Path:
    """Train a byte-level BPE tokenizer of ``family`` on ``texts`` and save it into ``directory``.

    ``add_bos_token`` is written into ``tokenizer_config.json`` when given (a llama3 tokenizer's
    post-processor adds BOS either way, as in Llama 3's own files; the config's setting is what
    curate follows). ``chat_template``: True saves the family's :data:`CHAT_TEMPLATES` entry into
    ``tokenizer_config.json``, a string saves that template.
    """
    from tokenizers import models, pre_tokenizers, processors, trainers

    tok = _byte_level(models.BPE())
    specials = SPECIALS[family]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    if family == "qwen":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        out = _save(tok, Path(directory), eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    else:
        bos, eos = {"llama3": ("<|begin_of_text|>", "<|end_of_text|>"), "mistral": ("<s>", "</s>")}.get(
            family, ("<bos>", "<eos>")
        )
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )
        extra = {"pad_token": "<pad>", "unk_token": "<unk>"} if family == "gemma" else {}
        if family == "mistral":
            extra = {"unk_token": "<unk>"}
        out = _save(tok, Path(directory), bos_token=bos, eos_token=eos, **extra)
    if add_bos_token is not None:
        set_config(out, add_bos_token=add_bos_token)
    if chat_template:
        template = CHAT_TEMPLATES[family] if chat_template is True else chat_template
        set_config(out, chat_template=template)
    return out


def build_wide_tokenizer(directory: str | os.PathLike, *, filler: int = 65_600) -> Path:
    """A byte-level tokenizer with ``filler`` unused tokens first, so that the 256 byte tokens and
    the ChatML specials all have ids above 65,535 (no training: a few MB, built in a second)."""
    from tokenizers import AddedToken, models, pre_tokenizers

    vocab = {f"<unused{i}>": i for i in range(filler)}
    for i, char in enumerate(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = filler + i
    tok = _byte_level(models.BPE(vocab=vocab, merges=[]))
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIALS])
    return _save(tok, Path(directory), eos_token="<|endoftext|>")


def set_config(directory: str | os.PathLike, **values: object) -> None:
    """Change entries of a saved tokenizer's ``tokenizer_config.json``."""
    path = Path(directory) / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(values)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def sample_texts(sample_dir: str | os.PathLike, *, limit: int | None = None) -> list[str]:
    """The web page texts and chat contents of ``sample_data/`` (what the sample tokenizer learns)."""
    root = Path(sample_dir)
    texts: list[str] = []
    for path in sorted(root.glob("web/*.jsonl")) + sorted(root.glob("sft/*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:  # the sample data holds a few broken lines on purpose
                texts.extend(_strings(json.loads(line.decode("utf-8"))))
            except ValueError:
                continue
    return texts[:limit] if limit is not None else texts


def _strings(value: object) -> Sequence[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
