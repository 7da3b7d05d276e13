"""Fuzz targets for ``bench/fuzz.py`` (issue 33): every parser that takes outside input."""
