"""Decoder networks: one model per file, sizes from a config dict; weights through :mod:`.hub`."""

from explorable_jpeg.models.blocks import Z_CHANNELS
from explorable_jpeg.models.chroma import ChromaNet, ChromaNetConfig
from explorable_jpeg.models.luma import LumaNet, LumaNetConfig

__all__ = ["Z_CHANNELS", "ChromaNet", "ChromaNetConfig", "LumaNet", "LumaNetConfig"]
