"""Image processing: the type from the content, bombs and oversized files refused, metadata
stripped, orientation applied, sizes and formats, focal points, blurhash, originals."""

from __future__ import annotations

import asyncio
import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from cityfed.media.errors import (
    InvalidFile,
    InvalidFocalPoint,
    MediaRejected,
    TooLarge,
    UnsupportedType,
)
from cityfed.media.processing import (
    ImageLimits,
    ImageProcessor,
    OutputFormat,
    SourceFormat,
    VariantName,
    avif_supported,
    check_focal_point,
    probe_image,
    process_image,
)
from tests.media_support import (
    SVG_WITH_SCRIPT,
    encode,
    fake_png,
    jpeg_with_gps,
    picture,
    png_bomb,
)

LIMITS = ImageLimits()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_photo_loses_its_gps_position_camera_and_comment_in_every_rendition() -> None:
    data = jpeg_with_gps()
    assert b"SecretCam" in data and b"secret comment" in data
    result = process_image(data, LIMITS)
    assert result.source_format == SourceFormat.JPEG
    assert result.variants
    for variant in result.variants:
        assert b"SecretCam" not in variant.data
        assert b"secret comment" not in variant.data
        image = opened(variant.data)
        assert not image.getexif(), variant
        assert image.getexif().get_ifd(0x8825) == {}
        assert "icc_profile" not in image.info and "comment" not in image.info
        assert "xmp" not in image.info and "exif" not in image.info


def test_exif_orientation_is_applied_before_the_tag_is_dropped() -> None:
    # Stored landscape with a red top-left corner, tagged "rotate 90° clockwise to view" (6).
    image = picture(600, 400)
    image.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    result = process_image(encode(image, "JPEG", exif=exif.tobytes(), quality=95), LIMITS)
    assert (result.width, result.height) == (400, 600)  # shown upright: portrait
    large = opened(
        next(
            v
            for v in result.variants
            if v.media_type == "image/png" or v.media_type == "image/jpeg"
        ).data
    ).convert("RGB")
    assert large.size == (400, 600)
    # Rotating 90° clockwise moves the top-left corner to the top-right.
    r, g, b = large.getpixel((large.width - 20, 20))
    assert r > 200 and g < 60 and b < 60
    r, g, b = large.getpixel((20, 20))
    assert not (r > 200 and g < 60 and b < 60)


def test_sizes_keep_the_aspect_ratio_and_never_upscale() -> None:
    result = process_image(encode(picture(3000, 2000), "PNG"), LIMITS)
    sizes = {(v.name, v.width, v.height) for v in result.variants}
    assert sizes == {
        (VariantName.LARGE, 1920, 1280),
        (VariantName.MEDIUM, 800, 533),
        (VariantName.SMALL, 400, 267),
    }
    assert {v.media_type for v in result.variants} == {"image/webp", "image/jpeg"}
    assert (result.width, result.height) == (1920, 1280)

    small = process_image(encode(picture(300, 200), "PNG"), LIMITS)
    assert {(v.width, v.height) for v in small.variants} == {(300, 200)}
    assert len(small.variants) == 2  # one size, two formats


def test_the_type_comes_from_the_content_not_the_name() -> None:
    # A WebP is a WebP whatever it is called; a text file is not an image whatever it claims.
    result = process_image(encode(picture(200, 100), "WEBP"), LIMITS)
    assert result.source_format == SourceFormat.WEBP
    with pytest.raises(UnsupportedType) as refused:
        process_image(b"just some text, saved as holiday.png", LIMITS)
    assert refused.value.status == 415


def test_a_fake_png_is_refused_with_a_clear_4xx() -> None:
    with pytest.raises(MediaRejected) as refused:
        process_image(fake_png(), LIMITS)
    assert refused.value.status == 422
    assert "decoded" in refused.value.reason


def test_a_truncated_jpeg_is_refused() -> None:
    data = encode(picture(800, 600), "JPEG")
    with pytest.raises(InvalidFile):
        process_image(data[: len(data) // 2], LIMITS)


@pytest.mark.parametrize("side", [20_000, 65_535])
def test_decompression_bombs_are_refused_from_the_header(side: int) -> None:
    bomb = png_bomb(side, side)
    assert len(bomb) < 10_000
    # Refused as too large (413), not as undecodable: no pixel was decoded.
    with pytest.raises(TooLarge) as refused:
        process_image(bomb, LIMITS)
    assert refused.value.status == 413
    with pytest.raises(TooLarge):
        probe_image(bomb, LIMITS)


def test_the_pixel_limit_is_a_setting() -> None:
    data = encode(picture(400, 300), "PNG")
    process_image(data, ImageLimits(max_pixels=400 * 300))
    with pytest.raises(TooLarge):
        process_image(data, ImageLimits(max_pixels=400 * 300 - 1))


async def test_an_oversized_file_is_refused_before_any_work() -> None:
    processor = ImageProcessor(ImageLimits(max_bytes=1024 * 1024), concurrency=1)
    with pytest.raises(TooLarge) as refused:
        await processor.process(b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024))
    assert refused.value.status == 413
    assert "1 MiB" in refused.value.reason


def test_svg_is_refused_because_it_can_carry_scripts() -> None:
    with pytest.raises(UnsupportedType) as refused:
        process_image(SVG_WITH_SCRIPT, LIMITS)
    assert "SVG" in refused.value.reason
    with pytest.raises(UnsupportedType):
        process_image(b"\xef\xbb\xbf  <svg onload='alert(1)'/>", LIMITS)


def test_an_animated_gif_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (120, 80), color) for color in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = process_image(buffer.getvalue(), LIMITS)
    assert result.animated and result.source_format == SourceFormat.GIF
    for variant in result.variants:
        image = opened(variant.data)
        assert getattr(image, "n_frames", 1) == 1
        r, _g, b = image.convert("RGB").getpixel((60, 40))
        assert r > 200 and b < 60  # the first (red) frame


def test_transparency_survives_and_the_fallback_is_png_not_jpeg() -> None:
    logo = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    logo.paste((20, 120, 200, 255), (50, 50, 250, 250))
    result = process_image(encode(logo, "PNG"), LIMITS)
    assert {v.media_type for v in result.variants} == {"image/webp", "image/png"}
    for variant in result.variants:
        image = opened(variant.data)
        assert image.mode in ("RGBA", "LA", "PA", "P")
        assert image.convert("RGBA").getpixel((5, 5))[3] == 0
    # An alpha channel that is opaque everywhere is no transparency: JPEG is fine.
    opaque = process_image(encode(picture(300, 300, mode="RGBA"), "PNG"), LIMITS)
    assert "image/jpeg" in {v.media_type for v in opaque.variants}


def test_a_colour_profile_is_applied_then_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(picture(200, 200), "PNG", icc_profile=srgb)
    assert opened(data).info.get("icc_profile")
    for variant in process_image(data, LIMITS).variants:
        assert "icc_profile" not in opened(variant.data).info


def test_png_text_chunks_do_not_survive() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Location", "Rathausplatz 1, secret")
    data = encode(picture(200, 200), "PNG", pnginfo=info)
    assert b"secret" in data
    for variant in process_image(data, LIMITS).variants:
        assert b"secret" not in variant.data


@pytest.mark.skipif(not avif_supported(), reason="this Pillow build has no AVIF codec")
def test_avif_is_read_and_may_be_written() -> None:
    data = encode(picture(640, 480), "AVIF")
    result = process_image(
        data, ImageLimits(formats=(OutputFormat.AVIF, OutputFormat.JPEG), sizes=(400,))
    )
    assert result.source_format == SourceFormat.AVIF
    assert {v.media_type for v in result.variants} == {"image/avif", "image/jpeg"}


def test_blurhash_is_computed_like_mastodons() -> None:
    red = process_image(encode(Image.new("RGB", (200, 100), (220, 20, 20)), "PNG"), LIMITS)
    blue = process_image(encode(Image.new("RGB", (200, 100), (20, 20, 220)), "PNG"), LIMITS)
    # 4x4 components: 1 size flag + 1 max AC + 4 DC + 15 AC x 2 base-83 digits = 36 characters.
    assert len(red.blurhash) == len(blue.blurhash) == 36
    assert red.blurhash != blue.blurhash
    again = process_image(encode(Image.new("RGB", (200, 100), (220, 20, 20)), "PNG"), LIMITS)
    assert again.blurhash == red.blurhash


def test_focal_points_are_checked() -> None:
    assert check_focal_point(None) is None
    assert check_focal_point((0.5, -0.25)) == (0.5, -0.25)
    assert check_focal_point((-1, 1)) == (-1.0, 1.0)
    for bad in ((1.5, 0), (0, -1.01), (math.nan, 0), (0, math.inf)):
        with pytest.raises(InvalidFocalPoint):
            check_focal_point(bad)
    result = process_image(encode(picture(100, 100), "PNG"), LIMITS, focal_point=(0.1, 0.2))
    assert result.focal_point == (0.1, 0.2)


@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True))
def test_any_focal_point_is_either_in_range_or_refused(x: float, y: float) -> None:
    try:
        point = check_focal_point((x, y))
    except InvalidFocalPoint as exc:
        assert exc.status == 422
        assert not (-1 <= x <= 1 and -1 <= y <= 1)
    else:
        assert point is not None and all(-1 <= v <= 1 for v in point)


def test_the_original_is_kept_only_when_wanted_and_clean() -> None:
    clean = encode(picture(500, 400), "PNG")
    keep = ImageLimits(keep_original=True)
    result = process_image(clean, keep)
    originals = [v for v in result.variants if v.name == VariantName.ORIGINAL]
    assert len(originals) == 1 and originals[0].data == clean
    assert (originals[0].width, originals[0].height) == (500, 400)
    assert not any(v.name == VariantName.ORIGINAL for v in process_image(clean, LIMITS).variants)

    with_gps = process_image(jpeg_with_gps(), keep)
    assert not any(v.name == VariantName.ORIGINAL for v in with_gps.variants)
    assert with_gps.original_dropped is not None and "EXIF" in with_gps.original_dropped


async def test_the_processor_runs_in_threads_and_keeps_errors_typed() -> None:
    processor = ImageProcessor(ImageLimits(sizes=(200,)), concurrency=1)
    images = [encode(picture(400, 300, seed=i), "PNG") for i in range(3)]
    results = await asyncio.gather(*(processor.process(data) for data in images))
    assert [r.width for r in results] == [200, 200, 200]
    with pytest.raises(InvalidFile):
        await processor.process(fake_png())
    with pytest.raises(InvalidFocalPoint):
        await processor.process(images[0], focal_point=(2.0, 0.0))


def test_a_thin_strip_of_a_jpeg_is_processed() -> None:
    # The reduced-scale JPEG decode once asked libjpeg for a height of 0 here (ZeroDivisionError).
    result = process_image(encode(picture(4000, 1), "JPEG"), LIMITS)
    assert (result.width, result.height) == (1920, 1)


SEEDS = [
    encode(picture(64, 48), "PNG"),
    encode(picture(64, 48), "GIF"),
    encode(picture(64, 48), "WEBP"),
    jpeg_with_gps(64, 48, orientation=6),
    *([encode(picture(64, 48), "AVIF")] if avif_supported() else []),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the corrupt EXIF it skips
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_damaged_images_are_refused_cleanly(
    seed: bytes, changes: list[tuple[int, int]], cut: int | None
) -> None:
    """Whatever a decoder meets, the caller gets a MediaRejected (a 4xx), never another error
    (a fuzz run found RuntimeError from the AVIF decoder, ZeroDivisionError from a JPEG draft)."""
    data = bytearray(seed)
    for position, value in changes:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    try:
        result = process_image(bytes(data), ImageLimits(sizes=(32,)))
    except MediaRejected as exc:
        assert 400 <= exc.status < 500 and exc.reason
    else:
        assert result.variants


def test_a_form_focal_point_and_what_counts_as_a_picture() -> None:
    from cityfed.media.errors import InvalidFocalPoint
    from cityfed.media.processing import focal_point_from_text, looks_like_image

    assert focal_point_from_text("0.25,-1") == (0.25, -1.0)
    assert focal_point_from_text("  ") is None and focal_point_from_text(None) is None
    for bad in ("1", "a,b", "2,0", "nan,0", "0,0,0"):
        with pytest.raises(InvalidFocalPoint):
            focal_point_from_text(bad)
    assert looks_like_image(fake_png()) and looks_like_image(SVG_WITH_SCRIPT)
    assert looks_like_image(encode(picture(10, 10), "WEBP"))
    assert not looks_like_image(b"%PDF-1.7\n") and not looks_like_image(b"a,b\n1,2\n")
