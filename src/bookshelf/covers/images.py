"""Checking and re-encoding an uploaded cover with Pillow.

Nothing a reader sends is stored as sent: the image is decoded (JPEG, PNG or WebP only),
turned upright by its EXIF orientation, and written again as two WebP files, one for the
book's page and a thumbnail for lists. The new files carry pixels only: no EXIF (camera, GPS
position, dates), no XMP, no ICC profile, no comments.

A small file can decode into an enormous bitmap (a "decompression bomb"): the pixel count is
read from the header and refused before any pixel is decoded.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    from PIL import Image

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
ACCEPTED_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
# Shown at up to 240x360 CSS pixels on the book page and 56x84 in lists: twice that for
# high-density screens, never upscaled.
PAGE_BOX = (480, 720)
THUMBNAIL_BOX = (160, 240)
WEBP_QUALITY = 82


@cache
def pillow() -> ModuleType:
    """Pillow's Image module, imported at the first upload: it adds about 5 MB to a process,
    and a worker that only shows pages never needs it."""
    from PIL import Image

    # Pillow's own guard, for any code in the process that opens images: above this it warns,
    # above twice this it refuses. process_cover refuses at the limit itself.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image


class CoverRejected(ValueError):
    """The upload cannot be a cover; `message` says why (translated on pages, English in the
    API, whose locale is always English)."""

    def __init__(self, message: LazyString, *, too_large: bool = False) -> None:
        super().__init__(str(message))
        self.message = message
        self.too_large = too_large


NOT_AN_IMAGE = _l("This file is not a JPEG, PNG or WebP image.")
DAMAGED = _l("This image is damaged or incomplete; save it again and upload the new file.")
TOO_MANY_PIXELS = _l(
    "This image has more than 40 megapixels; make it smaller (for example 2000 × 3000) and "
    "upload it again."
)
TOO_LARGE = _l("This file is larger than 5 MB; choose a smaller image.")
EMPTY = _l("This file is empty.")


@dataclass(frozen=True)
class ProcessedCover:
    page: bytes  # WebP within PAGE_BOX
    thumbnail: bytes  # WebP within THUMBNAIL_BOX

    @property
    def digest(self) -> str:
        """SHA-256 of the page image: the same picture always gets the same name."""
        return hashlib.sha256(self.page).hexdigest()


def process_cover(data: bytes) -> ProcessedCover:
    """Decode, check and re-encode an upload; raises CoverRejected with the reason."""
    if not data:
        raise CoverRejected(EMPTY)
    if len(data) > MAX_BYTES:
        raise CoverRejected(TOO_LARGE, too_large=True)
    image = decode(data)
    return ProcessedCover(
        page=encode_within(image, PAGE_BOX), thumbnail=encode_within(image, THUMBNAIL_BOX)
    )


def decode(data: bytes) -> Image.Image:
    """The upright, fully decoded first frame, in RGB or RGBA."""
    from PIL import ImageOps, UnidentifiedImageError

    Image = pillow()  # the module, under the name Pillow's documentation gives it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise CoverRejected(TOO_MANY_PIXELS)
                opened.load()  # a truncated file fails here: Pillow never pads missing data
                upright = ImageOps.exif_transpose(opened)
                has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
                return upright.convert("RGBA" if has_alpha else "RGB")
    except CoverRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise CoverRejected(TOO_MANY_PIXELS) from error
    except UnidentifiedImageError as error:
        raise CoverRejected(NOT_AN_IMAGE) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise CoverRejected(DAMAGED) from error


def encode_within(image: Image.Image, box: tuple[int, int]) -> bytes:
    """WebP no larger than `box`, aspect kept; written without any metadata."""
    copy = image.copy()
    copy.thumbnail(box, pillow().Resampling.LANCZOS)
    copy.info = {}  # nothing read from the upload (EXIF, ICC, XMP, comments) goes further
    out = io.BytesIO()
    # No exif=, icc_profile= or xmp= arguments: the file holds the pixels only.
    copy.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()
