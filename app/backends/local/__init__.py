"""The local engine: a supervisor in the app, llama.cpp in its own process."""
