"""The chat column: messages, their rendering, and the composer."""
