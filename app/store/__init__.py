"""What Tandem keeps on disk: history, settings, secrets, logs."""
