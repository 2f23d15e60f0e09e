"""Plain values shared by every part of Tandem: no I/O, no Qt."""
