"""LLM inference costs per token on an architecture: mapping, bytes by kind, roofline, bandwidth limit."""
