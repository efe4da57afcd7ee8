"""a2sb: Audio-to-Audio Schrödinger Bridges for music restoration (arXiv 2501.11311)."""

from importlib.metadata import PackageNotFoundError, version

from a2sb.errors import A2SBInputError, A2SBOutputExistsError, A2SBWriteError

try:
    __version__ = version("a2sb")
except PackageNotFoundError:
    __version__ = "0.0.0+unknown"

__all__ = ["A2SBInputError", "A2SBOutputExistsError", "A2SBWriteError", "__version__"]
