"""Exception types raised by explorable_jpeg, all in this one module.

Every failure a user can cause (bad file, unsupported coding, absurd size, bad z file,
wrong weights, an exploration that cannot run) raises a subclass of
:class:`ExplorableJpegError` with a message that says what is wrong, so the CLI and the app
can show one clear line instead of a traceback. The modules that raise them re-export them
(``explorable_jpeg.decoding.zfile.ZFileError`` is this module's ``ZFileError``), so older
imports keep working.
"""

from __future__ import annotations


class ExplorableJpegError(Exception):
    """Base class of all errors raised on purpose by explorable_jpeg."""


class NotAJpegError(ExplorableJpegError, ValueError):
    """The data does not start with a JPEG SOI marker."""


class TruncatedJpegError(ExplorableJpegError, ValueError):
    """The JPEG data ends before the image data is complete."""


class CorruptJpegError(ExplorableJpegError, ValueError):
    """The JPEG data is malformed (bad marker segment, libjpeg error)."""


class CorruptJpegDataError(CorruptJpegError):
    """libjpeg reported damaged entropy-coded data ("Corrupt JPEG data: …"): the coefficients
    it recovered are partly guessed. ``read_jpeg(..., allow_corrupt=True)`` (CLI:
    ``--allow-corrupt``) accepts them."""


class UnsupportedJpegError(ExplorableJpegError, ValueError):
    """A valid JPEG that this decoder does not handle (arithmetic, 12-bit, lossless, CMYK...)."""


class ImageTooLargeError(ExplorableJpegError, ValueError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class InvalidImageError(ExplorableJpegError, ValueError):
    """An image argument has the wrong shape, dtype or size for the code it is used with."""


class ZFileError(ExplorableJpegError, ValueError):
    """A z file that cannot be read, is corrupt, or belongs to another JPEG."""


class WeightsError(ExplorableJpegError, ValueError):
    """Weights or config that do not match the networks (wrong shapes, missing keys)."""


class DigitWeightsError(ExplorableJpegError, ValueError):
    """The digit classifier's weights are missing or do not fit its config."""


class ExplorationError(ExplorableJpegError, ValueError):
    """An exploration request that cannot be carried out (bad tool, parameters or region)."""


class RegionError(ExplorationError):
    """The selection is empty, lies outside the image, or has the wrong size."""


class ExplorationFileError(ExplorationError):
    """An exploration file that cannot be read, is corrupt, or belongs to another JPEG."""


class UnknownToolError(ExplorationError):
    """``apply`` was asked for a tool that does not exist."""


class CliError(Exception):
    """A user error of the command line (bad argument, unwritable output), reported as
    ``error: <message>`` with exit code 2. Not an :class:`ExplorableJpegError`: the library
    never raises it."""
