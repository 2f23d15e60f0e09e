"""The model catalog, shipped as `app.shipped.models` (see `app/shipped/__init__.py`)."""
