"""Local GGUF files, the model catalog, and fetching the default model."""
