"""Decoders of a :class:`~explorable_jpeg.JpegCode`: the network ψ(code, z)
(:mod:`.decoder`), the exact libjpeg decoding (:mod:`.plain`) and z files (:mod:`.zfile`)."""

from explorable_jpeg.decoding.decoder import VARIANTS, Decoder, WeightsError
from explorable_jpeg.decoding.plain import decode_plain
from explorable_jpeg.decoding.zfile import ZFileError, load_z, save_z

__all__ = ["VARIANTS", "Decoder", "WeightsError", "ZFileError", "decode_plain", "load_z", "save_z"]
