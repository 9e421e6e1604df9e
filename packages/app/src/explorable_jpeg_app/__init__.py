"""Explorable JPEG in the browser: a Gradio app over :mod:`explorable_jpeg`.

Example:
    >>> from explorable_jpeg_app import create_app
    >>> create_app().launch()  # doctest: +SKIP
"""

from .ui import create_app, launch

__version__ = "0.1.0"

__all__ = ["create_app", "launch"]
