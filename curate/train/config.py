"""Configs of the trainer, free of torch so that recipes validate without importing it.

``TrainConfig`` is the ``train:`` block of a recipe, ``EvalConfig`` its ``eval:`` block, and
``PRESETS`` the model shapes a recipe can name.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MLPKind = Literal["swiglu", "gelu"]
DeviceName = str  # "auto", "cpu", "cuda", "cuda:N", "mps"
DTypeName = Literal["auto", "float32", "bfloat16"]

# Shapes only; vocab_size and seq_len are filled in from the tokens. Parameter counts at vocab 8000:
# tiny 1.8M (1.0M of it the embedding), small 21M, gpt2-124m 91M (124M at GPT-2's vocab of 50257).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(n_layer=4, n_head=4, n_embd=128, mlp="swiglu"),
    "small": dict(n_layer=10, n_head=6, n_embd=384, mlp="swiglu"),
    "gpt2-124m": dict(n_layer=12, n_head=12, n_embd=768, mlp="gelu"),
}


# Names that cannot be those of an eval set: metric namespaces of score.json (avg.bpb, tasks.x.acc).
RESERVED_SET_NAMES = frozenset({"avg", "tasks"})
SINGLE_SET_NAME = "eval"
_SET_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_names(value: dict[str, Any], what: str) -> None:
    for name in value:
        if not _SET_NAME.match(name):
            raise ValueError(
                f"{what} name {name!r} must be letters, digits, '_' or '-' (it becomes a metric name)"
            )
        if what == "eval set" and name in RESERVED_SET_NAMES:
            raise ValueError(f"{what} name {name!r} is reserved for {name}.* metrics: name the set otherwise")


class TaskSpec(BaseModel):
    """One multiple-choice task of ``eval.tasks`` (or just its path)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | list[str] = Field(
        description="JSONL or Parquet files (globs allowed) of {context, choices, answer} items (answer: the "
        "index of the correct choice)."
    )
    delimiter: str = Field(
        " ",
        description="Put between the context and each choice (lm-eval's target_delimiter): the model scores "
        "context + delimiter + choice. Use '' for languages written without spaces.",
    )

    @property
    def patterns(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class EvalConfig(BaseModel):
    """The held-out eval sets and multiple-choice tasks that score a recipe (the ``eval:`` block inside ``train:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | list[str] | None = Field(
        None,
        description="JSONL or Parquet files (glob patterns allowed) with text, messages or prompt/chosen/rejected records. "
        "Relative paths are looked up in the working directory, then in the recipe file's directory. "
        "One eval set, named `eval`; use `sets` for several.",
    )
    sets: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="Named eval sets, e.g. {web: eval/web.jsonl, code: eval/code.jsonl}: each is scored on its own "
        "(score.json sets.<name>: nll, ppl, bpb), with `avg` the mean over the sets, which is then the run's score "
        "(metrics). Names become metric names (web.bpb, avg.bpb). Excludes `path`.",
    )
    tasks: dict[str, str | TaskSpec] = Field(
        default_factory=dict,
        description="Named multiple-choice tasks, e.g. {arith: eval/arith.jsonl}: JSONL of {context, choices, answer} "
        "items scored by the log-likelihood of each choice given the context, as lm-eval does: acc (highest "
        "log-likelihood), acc_norm (log-likelihood / characters of the choice), acc_bytes (/ UTF-8 bytes), and bpb "
        "of the correct choice (a continuous metric). Metric names: tasks.<name>.acc ...",
    )
    on_overlap: Literal["error", "drop"] = Field(
        "error",
        description="What the pipeline does when eval records also appear in the training data (same id or text hash): fail, or drop them from the training data.",
    )
    max_records: int | None = Field(
        None, ge=1, description="Score only the first N records (all when unset)."
    )
    batch_size: int = Field(16, ge=1, description="Windows scored per forward pass.")
    stride: int | None = Field(
        None,
        ge=1,
        description="Window advance for sequences longer than the context; unset = the context (no overlap).",
    )
    periodic_records: int = Field(
        64,
        ge=1,
        description="Records of each eval set scored by the evals during training (every eval_every steps).",
    )

    @field_validator("sets")
    @classmethod
    def _set_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_names(value, "eval set")
        return value

    @field_validator("tasks")
    @classmethod
    def _task_specs(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_names(value, "task")
        return {k: v if isinstance(v, TaskSpec) else TaskSpec(path=v) for k, v in value.items()}

    @model_validator(mode="after")
    def _one_way(self) -> EvalConfig:
        if self.path is not None and self.sets:
            raise ValueError(
                "eval: give either path (one eval set) or sets (named ones), not both; "
                f"write the path as sets: {{{SINGLE_SET_NAME}: PATH, ...}}"
            )
        return self

    @property
    def named_sets(self) -> dict[str, str | list[str]]:
        """The eval sets by name: ``sets``, or ``{"eval": path}`` for a single ``path``."""
        if self.path is not None:
            return {SINGLE_SET_NAME: self.path}
        return dict(self.sets)

    @property
    def task_specs(self) -> dict[str, TaskSpec]:
        return self.tasks  # type: ignore[return-value]  # normalised by the validator

    @property
    def scored(self) -> bool:
        """Whether anything is scored (an eval set or a task)."""
        return bool(self.named_sets or self.tasks)

    def all_patterns(self) -> list[str]:
        """Every file pattern of the eval sets and the tasks (what decontamination checks)."""
        out: list[str] = []
        for value in [*self.named_sets.values(), *(t.path for t in self.task_specs.values())]:
            out += [value] if isinstance(value, str) else list(value)
        return list(dict.fromkeys(out))


# -- config --------------------------------------------------------------------------------------


class DPOConfig(BaseModel):
    """The ``dpo:`` block: preference tuning after (or instead of) a training run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    beta: float = Field(
        0.1,
        gt=0,
        description="Strength of the KL penalty toward the reference model (DPO paper: 0.1 to 0.5).",
    )
    steps: int = Field(100, ge=1, description="Optimizer steps.")
    batch_size: int = Field(8, ge=1, description="Pairs per step.")
    lr: float = Field(
        1.0e-5, gt=0, description="Learning rate (constant after warmup; DPO uses small rates)."
    )
    warmup: int = Field(10, ge=0, description="Linear warmup steps.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay on matrices and embeddings.")
    betas: tuple[float, float] = Field((0.9, 0.95), description="AdamW betas.")
    clip: float = Field(
        1.0, ge=0, description="Clip the global gradient norm to this value; 0 disables clipping."
    )
    device: str = Field("auto", description="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.")
    dtype: DTypeName = Field("auto", description="Autocast dtype: auto = bfloat16 on CUDA, else float32.")
    seed: int = Field(0, description="Seed of the pair order.")
    log_every: int = Field(10, ge=1, description="Steps between lines of metrics.jsonl.")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelOverrides(_Frozen):
    """Fields of the preset's architecture to change; unset fields keep the preset's value."""

    n_layer: int | None = Field(None, ge=1, description="Number of transformer blocks.")
    n_head: int | None = Field(
        None, ge=1, description="Attention heads per block (n_embd must be a multiple)."
    )
    n_embd: int | None = Field(None, ge=8, description="Width of the residual stream.")
    mlp: MLPKind | None = Field(None, description="MLP kind: swiglu (Llama) or gelu (GPT-2).")
    mlp_ratio: float | None = Field(
        None, gt=0, description="MLP hidden width / n_embd (SwiGLU uses 2/3 of it)."
    )
    dropout: float | None = Field(
        None, ge=0, lt=1, description="Dropout on embeddings, residual branches and attention."
    )
    rope_theta: float | None = Field(None, gt=0, description="Base of the rotary embedding frequencies.")
    tie_embeddings: bool | None = Field(
        None, description="Share the input embedding and output projection weights."
    )

    def set_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class LoraConfig(_Frozen):
    """The ``lora:`` block: train a LoRA adapter (through ``peft``) instead of every weight of a
    Hugging Face model (``init_from: hf:PATH``). ``lora: {}`` takes the defaults."""

    r: int = Field(16, ge=1, description="Rank of the adapter matrices.")
    alpha: float = Field(32.0, gt=0, description="Scaling numerator: updates are scaled by alpha / r.")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter's input.")
    target_modules: list[str] | None = Field(
        None,
        description="Names of the modules that get an adapter; unset = the attention and MLP projections "
        "of the model's architecture (llama, qwen2, mistral, gemma, gpt2, ...: see curate.train.models.hf).",
    )


class TrainConfig(_Frozen):
    """The ``train:`` block of a recipe."""

    preset: str = Field(
        "tiny", description=f"Model shape: one of {sorted(PRESETS)} (tiny ~1.8M parameters at vocab 8000)."
    )
    model: ModelOverrides = Field(
        default_factory=ModelOverrides, description="Overrides of the preset's architecture."
    )
    steps: int = Field(300, ge=1, description="Optimizer steps.")
    batch_size: int = Field(16, ge=1, description="Packed rows per micro-batch.")
    grad_accum: int = Field(
        1, ge=1, description="Micro-batches per optimizer step (rows per step = batch_size x grad_accum)."
    )
    order: Literal["documents", "rows"] = Field(
        "documents",
        description="Data order of an epoch. documents: each row is read at a time set by its document "
        "(a seeded phase) and its place in it, so datasets that share most documents read them at the same "
        "steps for one seed and paired comparisons (sweeps, calibrate) see the data difference, not two "
        "unrelated orders; neighbouring rows still come from unrelated documents. rows: a seeded "
        "permutation of the packed rows (nanoGPT's independent windows), unrelated as soon as the row "
        "count differs.",
    )
    lr: float = Field(3.0e-4, gt=0, description="Peak learning rate.")
    min_lr: float | None = Field(
        None, ge=0, description="Learning rate at the end of the cosine decay; unset = lr / 10."
    )
    warmup: int | None = Field(None, ge=0, description="Linear warmup steps; unset = 10% of steps.")
    weight_decay: float = Field(
        0.1, ge=0, description="AdamW weight decay on matrices and embeddings (not on norms)."
    )
    betas: tuple[float, float] = Field((0.9, 0.95), description="AdamW betas (nanoGPT / GPT-3 values).")
    clip: float = Field(
        1.0, ge=0, description="Clip the global gradient norm to this value; 0 disables clipping."
    )
    device: DeviceName = Field("auto", description="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.")
    dtype: DTypeName = Field(
        "auto", description="Autocast dtype: auto = bfloat16 on CUDA GPUs that support it, else float32."
    )
    compile: bool = Field(
        False, description="Compile the model with torch.compile (worth it on GPUs for long runs)."
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for torch during the run; unset = torch's default (one per core).",
    )
    seed: int = Field(0, description="Seed of the initialisation, data order and dropout.")
    init_from: str = Field(
        "scratch",
        description="scratch, the path of a curate checkpoint to fine-tune, base:<name> for the cached base model <name>, "
        "or hf:PATH for a Hugging Face causal LM (a local directory as save_pretrained writes it, a snapshot of the "
        "local HF cache, or org/name when that model is in the cache; never downloaded; needs pip install "
        "'curate[hf]'), whose tokenizer the tokenize stage must use (tokenize: {hf: PATH}). "
        "A relative path is looked up in the working directory, then in the recipe file's directory.",
    )
    lora: LoraConfig | None = Field(
        None,
        description="With init_from hf:PATH: train a LoRA adapter instead of every weight (lora: {} for the "
        "defaults). Unset: full fine-tuning.",
    )
    gradient_checkpointing: bool = Field(
        False,
        description="With init_from hf:PATH: recompute activations in the backward pass (less memory, ~30% slower).",
    )
    base_steps: int = Field(1000, ge=1, description="Steps of the base model when init_from is base:<name>.")
    base_lr: float = Field(
        1.0e-3, gt=0, description="Peak learning rate of the base model when init_from is base:<name>."
    )
    eval: EvalConfig = Field(default_factory=EvalConfig, description="The held-out eval set.")
    dpo: DPOConfig | None = Field(
        None,
        description="After training, tune the model with DPO on the run's own preference pairs (format kind "
        "preference: training is then SFT on the chosen answers), and report preference accuracy on the eval "
        "pairs before and after. Unset: no DPO.",
    )
    eval_every: int = Field(
        100, ge=0, description="Steps between evals during training (0: only at the end)."
    )
    log_every: int = Field(10, ge=1, description="Steps between lines of metrics.jsonl.")
    checkpoint_every: int = Field(
        1000,
        ge=0,
        description="Steps between resumable checkpoints: a killed run resumes from the last one. "
        "0: only at the end (a killed run trains again from step 0).",
    )
    save_optimizer: bool = Field(
        True, description="Keep the optimizer state in checkpoints (needed to resume a run)."
    )

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown preset {v!r}: choose one of {sorted(PRESETS)}")
        return v

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        if v in ("auto", "cpu", "cuda", "mps") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError(f"unknown device {v!r}: use auto, cpu, cuda, cuda:N or mps")

    @field_validator("init_from")
    @classmethod
    def _valid_init(cls, v: str) -> str:
        if v.startswith("base:") and not v[5:].strip():
            raise ValueError("init_from 'base:' needs a base model name, e.g. base:web")
        if v.startswith("hf:") and not v[3:].strip():
            raise ValueError("init_from 'hf:' needs a model directory, e.g. hf:models/Qwen2.5-0.5B")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.min_lr is not None and self.min_lr > self.lr:
            raise ValueError(f"min_lr ({self.min_lr}) is above lr ({self.lr})")
        if self.warmup is not None and self.warmup > self.steps:
            raise ValueError(f"warmup ({self.warmup}) is longer than the run ({self.steps} steps)")
        if not self.init_from.startswith("hf:") and (self.lora is not None or self.gradient_checkpointing):
            used = "lora" if self.lora is not None else "gradient_checkpointing"
            raise ValueError(
                f"{used} applies to a Hugging Face model: set init_from: hf:PATH, or remove {used}"
            )
        return self

    @property
    def hf_model(self) -> str | None:
        """The model that ``init_from: hf:PATH`` names, else None."""
        return self.init_from[3:].strip() if self.init_from.startswith("hf:") else None

    @property
    def warmup_steps(self) -> int:
        return self.warmup if self.warmup is not None else round(0.1 * self.steps)

    @property
    def final_lr(self) -> float:
        return self.min_lr if self.min_lr is not None else self.lr / 10


# Fields that do not change the trained weights: ignored by fingerprints (resume, base cache).
_NOT_TRAINING = {
    "eval",
    "eval_every",
    "log_every",
    "checkpoint_every",
    "save_optimizer",
    "device",
    "compile",
    "threads",
}


def config_fingerprint(cfg: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _NOT_TRAINING}
