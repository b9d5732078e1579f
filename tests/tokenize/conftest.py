from tests.tokenize.hf_fixtures import hf_families, hf_llama3, hf_qwen, hf_wide

__all__ = ["hf_families", "hf_llama3", "hf_qwen", "hf_wide"]
