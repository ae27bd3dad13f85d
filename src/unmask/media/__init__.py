"""Media loading: content sniffing, limits, and typed containers per modality."""

from .audio import AudioMedia
from .base import Media
from .image import ImageMedia, JpegInfo
from .loader import load
from .text import PostMedia, TextMedia
from .video import VideoMedia

__all__ = ["AudioMedia", "ImageMedia", "JpegInfo", "Media", "PostMedia", "TextMedia", "VideoMedia", "load"]
