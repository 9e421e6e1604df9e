"""Decoder networks: one model per file, sizes from a config dict."""

from explorable_jpeg.models.chroma import ChromaNet, ChromaNetConfig
from explorable_jpeg.models.luma import LumaNet, LumaNetConfig

__all__ = ["ChromaNet", "ChromaNetConfig", "LumaNet", "LumaNetConfig"]
