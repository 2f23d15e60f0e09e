"""Icons, prices and the desktop entry, shipped as `app.shipped.resources`."""
