"""Hugging Face Space entry point (assembled by `nox -s space`): `python app.py`."""

from explorable_jpeg_app import create_app, launch

demo = create_app()

if __name__ == "__main__":
    launch(demo)
