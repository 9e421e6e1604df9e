"""Seeded mutation fuzzing of the JPEG reader and the CLI (issue 22)."""
