"""Backends: one streaming interface, local (llama.cpp engine process) and cloud."""
