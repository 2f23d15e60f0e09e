"""Small widgets the window is built from."""
