"""The model manager: catalog, downloads, installed models."""
