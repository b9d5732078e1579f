"""curate: turn raw text corpora into LLM training sets, and score data recipes."""

__version__ = "0.1.0"
