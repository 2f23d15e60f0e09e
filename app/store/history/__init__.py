"""The conversation history in SQLite: schema, writer, queries, import and export."""
