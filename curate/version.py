"""The package version, on the lowest floor: run keys, manifests and checkpoints record it, and
importing it must not import the package root (``curate/__init__.py``) from below."""

__version__ = "0.1.0"
