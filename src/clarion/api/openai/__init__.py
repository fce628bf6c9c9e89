"""The OpenAI-compatible API (``/v1``) on the REST port, over the same services and keys."""
