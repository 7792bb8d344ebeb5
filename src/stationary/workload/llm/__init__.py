"""Transformers and LLM inference as loop nests, from a Hugging Face `config.json` (docs/llm.md)."""

from stationary.workload.llm.config import LLMConfig, config_names, load_config
from stationary.workload.llm.phases import LLMWorkload, build_step

__all__ = ["LLMConfig", "LLMWorkload", "build_step", "config_names", "load_config"]
