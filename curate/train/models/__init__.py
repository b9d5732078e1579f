"""The models the trainer drives, behind one interface (:class:`curate.train.models.base.CausalLM`):
logits and the masked loss on a packed batch, parameter groups, the state a checkpoint keeps.

- the bundled GPT (:mod:`curate.train.model`), trained from scratch or from a curate checkpoint;
- a Hugging Face causal LM (:mod:`curate.train.models.hf`, ``init_from: hf:PATH``), fully or
  through a LoRA adapter (``peft``).

:mod:`curate.train.models.hf_dir` is the torch-free part (directories, tokenizer checks) that
recipe validation uses.
"""
