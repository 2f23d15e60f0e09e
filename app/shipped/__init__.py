"""The data that ships with the code: `app.shipped.models` is the top-level `models/` folder
(the catalog) and `app.shipped.resources` is `resources/` (icons, prices, the desktop entry).

pyproject.toml maps both folders into the package, so `importlib.resources` finds them the
same way in a checkout, in an installed wheel and in the frozen app (`app.core.shipped`).
"""
