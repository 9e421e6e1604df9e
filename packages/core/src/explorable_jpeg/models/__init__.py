"""Decoder networks: one model per file, sizes from a config dict."""

from .chroma import ChromaNet, ChromaNetConfig
from .luma import LumaNet, LumaNetConfig

__all__ = ["ChromaNet", "ChromaNetConfig", "LumaNet", "LumaNetConfig"]
