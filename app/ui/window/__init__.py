"""The main window and what it is wired from."""
