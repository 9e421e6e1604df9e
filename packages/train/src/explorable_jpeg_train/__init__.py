"""Training of the Explorable JPEG decoder networks (imports explorable_jpeg, never the app)."""
