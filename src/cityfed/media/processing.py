"""Verify an uploaded image by decoding it, then re-encode it clean in a few sizes (Pillow).

The type comes from the decoded content, never from a file name or a declared type. Before any
pixel is decoded, the header's size is checked against a pixel limit, so a decompression bomb (a
small file that decodes to gigabytes) is refused at the cost of reading its header. The image is
then decoded whole (a truncated or fake file fails here), turned upright by its EXIF orientation,
converted to sRGB when it carries a colour profile, and re-encoded without any metadata: no EXIF
(and so no GPS position), no XMP, no comments, no profile. Animated GIF/WebP/PNG keep their first
frame. SVG is refused: it is a document that can carry scripts, not a picture.

The work is CPU-bound: ``ImageProcessor`` runs it in a thread, at most a few at a time, so uploads
cannot starve the node's event loop or its cores.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from enum import StrEnum

import blurhash
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError, features

from cityfed.config import Settings
from cityfed.media.errors import (
    InvalidFile,
    InvalidFocalPoint,
    MediaRejected,
    TooLarge,
    UnsupportedType,
)

log = logging.getLogger("cityfed.media")


class SourceFormat(StrEnum):
    """Formats we accept on upload (Pillow's format names)."""

    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"
    GIF = "GIF"
    AVIF = "AVIF"


class OutputFormat(StrEnum):
    """Formats we serve. ``jpeg`` means the universal fallback: PNG for images with transparency."""

    WEBP = "webp"
    JPEG = "jpeg"
    AVIF = "avif"


class VariantName(StrEnum):
    """The stored renditions of one image, largest first."""

    ORIGINAL = "original"
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"


SIZE_NAMES = (VariantName.LARGE, VariantName.MEDIUM, VariantName.SMALL)
MEDIA_TYPES = {
    SourceFormat.JPEG: "image/jpeg",
    SourceFormat.PNG: "image/png",
    SourceFormat.WEBP: "image/webp",
    SourceFormat.GIF: "image/gif",
    SourceFormat.AVIF: "image/avif",
}
# The hash keeps 4x4 low-frequency components: 24 px per side sample them well, and the pure-Python
# encoder's time grows with the pixel count.
BLURHASH_SIDE = 24


def avif_supported() -> bool:
    """Whether this Pillow build can read and write AVIF (wheels since Pillow 11.2 can)."""
    return bool(features.check("avif"))


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What an upload may be; built from ``[media]`` settings by ``from_settings``."""

    max_bytes: int = 16 * 1024 * 1024
    max_pixels: int = 7680 * 4320
    sizes: tuple[int, ...] = (1920, 800, 400)
    formats: tuple[OutputFormat, ...] = (OutputFormat.WEBP, OutputFormat.JPEG)
    keep_original: bool = False
    webp_quality: int = 80
    jpeg_quality: int = 85

    def __post_init__(self) -> None:
        if not 1 <= len(self.sizes) <= len(SIZE_NAMES) or min(self.sizes) < 1:
            raise ValueError("one to three image sizes, each a positive number of pixels")
        if not self.formats:
            raise ValueError("at least one output format")

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLimits:
        return cls(
            max_bytes=settings.media_max_image_bytes,
            max_pixels=settings.media_max_image_pixels,
            sizes=tuple(sorted(settings.media_image_sizes, reverse=True)),
            formats=tuple(OutputFormat(f) for f in settings.media_image_formats),
            keep_original=settings.media_keep_original,
        )


@dataclass(frozen=True, slots=True)
class Variant:
    """One encoded rendition: its bytes and what to say about them."""

    name: VariantName
    media_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """The outcome of ``process_image``: clean renditions and the facts an attachment carries."""

    source_format: SourceFormat
    width: int  # upright, as the largest rendition shows it
    height: int
    blurhash: str
    focal_point: tuple[float, float] | None
    variants: tuple[Variant, ...]
    animated: bool = False
    # Why the original was not kept (None when it was, or when keeping was not asked for).
    original_dropped: str | None = None

    @property
    def total_bytes(self) -> int:
        return sum(len(v.data) for v in self.variants)


def check_focal_point(point: tuple[float, float] | None) -> tuple[float, float] | None:
    """Mastodon's focal point: x from -1 (left) to 1 (right), y from -1 (bottom) to 1 (top)."""
    if point is None:
        return None
    try:
        x, y = (float(v) for v in point)
    except (TypeError, ValueError):
        raise InvalidFocalPoint("the focal point must be two numbers") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):  # also refuses NaN
        raise InvalidFocalPoint("the focal point must lie within [-1, 1] on both axes")
    return (round(x, 3), round(y, 3))


def focal_point_from_text(text: str | None) -> tuple[float, float] | None:
    """A focal point as forms send it, ``"x,y"`` (empty: none); ``InvalidFocalPoint`` if bad."""
    if text is None or not text.strip():
        return None
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidFocalPoint("the focal point is two numbers, x,y, each from -1 to 1") from None
    return check_focal_point((x, y))


# The first bytes of the picture formats we decode (AVIF and WebP are checked below).
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def looks_like_image(data: bytes) -> bool:
    """Whether an upload claims, by its content, to be a picture (SVG included, which the
    processing then refuses): it goes through Pillow; anything else is checked as a document."""
    head = data[:32]
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"mif1"):
        return True
    start = data[:1024].lstrip().lower()
    return start.startswith((b"<?xml", b"<svg")) and b"<svg" in start


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html", b"<!--"))


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    """Identify the content and check its size from the header, decoding no pixel yet."""
    if len(data) > limits.max_bytes:
        raise TooLarge(f"the image is larger than {limits.max_bytes // (1024 * 1024)} MiB")
    if _looks_like_markup(data):
        raise UnsupportedType(
            "SVG and other markup are not accepted as images (they can carry "
            "scripts); upload a PNG, JPEG, WebP or GIF"
        )
    allowed = [f.value for f in SourceFormat if f != SourceFormat.AVIF or avif_supported()]
    try:
        # ``formats`` limits which decoders may even look at the bytes.
        image = Image.open(io.BytesIO(data), formats=allowed)
    except Image.DecompressionBombError:
        raise TooLarge("the image has too many pixels") from None
    except UnidentifiedImageError:
        raise UnsupportedType(
            "not an image we accept (JPEG, PNG, WebP, GIF"
            + (", AVIF)" if avif_supported() else ")")
        ) from None
    except Exception as exc:  # any parser failure on hostile bytes is the file's fault
        raise InvalidFile(f"the image cannot be read: {type(exc).__name__}: {exc}") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidFile("the image has no pixels")
    if width * height > limits.max_pixels:
        raise TooLarge(
            f"the image has {width}x{height} pixels, more than the {limits.max_pixels:,} allowed"
        )
    return image


def _decode(image: Image.Image) -> Image.Image:
    """Decode the (first frame's) pixels; a fake or truncated file fails here."""
    try:
        image.load()
    except Image.DecompressionBombError:
        raise TooLarge("the image has too many pixels") from None
    except Exception as exc:  # decoders raise many types on hostile bytes (RuntimeError: AVIF)
        raise InvalidFile(f"the image cannot be decoded: {exc}") from None
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels in a colour profile (Display P3 photos from phones) to sRGB, so that
    dropping the profile does not change colours; a broken profile is just dropped."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(image, source, target, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        log.info("dropped an unreadable colour profile")
        return image
    return converted if converted is not None else image


def _normalise(image: Image.Image) -> Image.Image:
    """Upright, sRGB, RGB or RGBA, and with no metadata left on the object."""
    try:
        upright = ImageOps.exif_transpose(image)  # a copy: the source keeps its EXIF for checks
    except (OSError, ValueError, SyntaxError):  # a broken EXIF block: keep the pixels as they are
        upright = image.copy()
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    icc = upright.info.get("icc_profile")
    mode = "RGBA" if has_alpha else "RGB"
    converted = upright if upright.mode == mode else upright.convert(mode)
    if icc:
        converted.info["icc_profile"] = icc
        converted = _to_srgb(converted)
    if has_alpha and converted.getchannel("A").getextrema() == (255, 255):
        converted = converted.convert("RGB")  # a fully opaque alpha channel: no transparency
    # Nothing of the source's metadata (EXIF, XMP, comments, profile) may reach an encoder.
    converted.info = {}
    converted._exif = None  # Pillow's cached EXIF of the source
    return converted


def _encode(image: Image.Image, fmt: OutputFormat, limits: ImageLimits) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    if fmt == OutputFormat.WEBP:
        image.save(buffer, "WEBP", quality=limits.webp_quality, method=4)
        return "image/webp", buffer.getvalue()
    if fmt == OutputFormat.AVIF:
        image.save(buffer, "AVIF", quality=60, speed=8)
        return "image/avif", buffer.getvalue()
    if image.mode == "RGBA":  # JPEG has no transparency: logos keep theirs as PNG
        image.save(buffer, "PNG", optimize=False, compress_level=6)
        return "image/png", buffer.getvalue()
    image.save(buffer, "JPEG", quality=limits.jpeg_quality, optimize=True, progressive=True)
    return "image/jpeg", buffer.getvalue()


def _blurhash(image: Image.Image) -> str:
    small = image.copy()
    small.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE), Image.Resampling.BOX)
    small = small.convert("RGB")
    width, height = small.size
    raw = small.tobytes()
    rows = [
        [raw[i : i + 3] for i in range(y * width * 3, (y + 1) * width * 3, 3)]
        for y in range(height)
    ]
    # 4x4 components, as Mastodon computes them (MediaAttachment::BLURHASH_OPTIONS).
    return str(blurhash.encode(rows, components_x=4, components_y=4))


def _original_if_safe(source: Image.Image, fmt: SourceFormat) -> str | None:
    """None if the uploaded bytes may be served as they are, else why not: only a web format
    that carries nothing to strip (no EXIF, XMP, comment, text or profile) and needs no turning."""
    if fmt == SourceFormat.AVIF and not avif_supported():
        return "format not served"
    if source.getexif():
        return "it carries EXIF metadata (possibly a GPS position)"
    metadata = {"xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "exif", "photoshop"}
    if metadata & set(source.info) or any(isinstance(v, str) for v in source.info.values()):
        return "it carries metadata"
    return None


def process_image(
    data: bytes, limits: ImageLimits, focal_point: tuple[float, float] | None = None
) -> ProcessedImage:
    """Check ``data`` and make its renditions. Raises a ``MediaRejected`` subclass on bad input.

    Synchronous and CPU-bound: call it through ``ImageProcessor`` from async code.
    """
    focal = check_focal_point(focal_point)
    image = _open(data, limits)
    fmt = SourceFormat(image.format or "")
    source_size = image.size
    try:
        animated = bool(getattr(image, "is_animated", False))
        if animated:
            image.seek(0)
        if fmt == SourceFormat.JPEG:
            # libjpeg can decode at 1/2, 1/4 or 1/8 scale: still the whole stream (so still a
            # full check of the file), at a fraction of the time and memory. Ask for the size the
            # largest rendition needs; the decoder never goes below it.
            scale = min(1.0, max(limits.sizes) / max(image.size))
            width, height = image.size
            image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        upright = _normalise(_decode(image))
    except MediaRejected:
        raise
    except Exception as exc:  # decoders meet hostile bytes here: any failure is the file's
        raise InvalidFile(f"the image cannot be decoded: {type(exc).__name__}: {exc}") from None
    variants: list[Variant] = []
    why = _original_if_safe(image, fmt) if limits.keep_original else None
    if limits.keep_original and why is None:
        # Safe means nothing to strip, so no EXIF orientation either: the header's size holds.
        variants.append(Variant(VariantName.ORIGINAL, MEDIA_TYPES[fmt], data, *source_size))
    produced: list[tuple[int, int]] = []
    scaled = upright
    for name, side in zip(SIZE_NAMES, sorted(limits.sizes, reverse=True), strict=False):
        if max(scaled.size) > side:
            # Each size from the one before: the same result for a fraction of the work.
            scaled = scaled.copy()
            scaled.thumbnail((side, side), Image.Resampling.LANCZOS)  # keeps the aspect ratio
        if scaled.size in produced:
            continue  # never upscale: a small picture gets fewer renditions, not blurrier ones
        produced.append(scaled.size)
        for fmt_out in limits.formats:
            if fmt_out == OutputFormat.AVIF and not avif_supported():
                continue
            try:
                media_type, encoded = _encode(scaled, fmt_out, limits)
            except (OSError, ValueError) as exc:  # e.g. WebP's 16383 px limit on a thin strip
                log.warning("could not encode a %s rendition %s: %s", fmt_out, scaled.size, exc)
                raise InvalidFile(f"the image cannot be re-encoded as {fmt_out}: {exc}") from None
            variants.append(Variant(name, media_type, encoded, *scaled.size))
    return ProcessedImage(
        source_format=fmt,
        width=produced[0][0],
        height=produced[0][1],
        blurhash=_blurhash(scaled),  # from the smallest rendition: cheaper, the same hash
        focal_point=focal,
        variants=tuple(variants),
        animated=animated,
        original_dropped=why,
    )


def probe_image(data: bytes, limits: ImageLimits) -> tuple[SourceFormat, int, int]:
    """Identify an image and check its limits without decoding it (cheap; for early refusals)."""
    image = _open(data, limits)
    return SourceFormat(image.format or ""), image.size[0], image.size[1]


class ImageProcessor:
    """Runs ``process_image`` in worker threads, at most ``concurrency`` at once.

    Pillow releases the GIL while it decodes, resizes and encodes, so a thread really takes the
    work off the event loop; the semaphore keeps a burst of uploads from taking every core.
    """

    def __init__(self, limits: ImageLimits, concurrency: int = 2) -> None:
        self.limits = limits
        self._slots = asyncio.Semaphore(max(1, concurrency))

    async def process(
        self,
        data: bytes,
        focal_point: tuple[float, float] | None = None,
        limits: ImageLimits | None = None,
    ) -> ProcessedImage:
        # The cheap checks first, outside the queue: a 50 MB upload never waits for a slot.
        use = limits or self.limits
        if len(data) > use.max_bytes:
            raise TooLarge(f"the image is larger than {use.max_bytes // (1024 * 1024)} MiB")
        check_focal_point(focal_point)
        async with self._slots:
            return await asyncio.to_thread(process_image, data, use, focal_point)
