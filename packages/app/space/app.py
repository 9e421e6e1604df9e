"""Hugging Face Space entry point (assembled by `nox -s space`): `python app.py`."""

from explorable_jpeg_app import create_app, launch
from explorable_jpeg_app.malloc import limit_arenas

limit_arenas()  # a Space cannot set MALLOC_ARENA_MAX before it starts (see .malloc)
demo = create_app()

if __name__ == "__main__":
    launch(demo)
