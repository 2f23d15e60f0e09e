"""Cloud models through any OpenAI-compatible endpoint."""
