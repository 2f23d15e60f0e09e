"""Documents: reading files (parse) and cutting them into passages (chunk)."""
