"""Image processing cost (issue 16): ``python -m bench.media``.

For photos of three sizes (VGA, Full HD, a 12 MP phone photo), the time ``process_image`` takes
(verify, orient, strip, three sizes in WebP + JPEG, blurhash) and the bytes it makes. The baseline
in the same run is the least any pipeline must do: decode the photo and encode one 1920 px JPEG;
the ratio says what our extra renditions and checks cost on top. Also run by
``python -m bench media``.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable

from PIL import Image, ImageDraw

from bench.common import bench_line, say
from cityfed.media.processing import ImageLimits, OutputFormat, process_image

SIZES = ((640, 480), (1920, 1080), (4032, 3024))
ROUNDS = 3


def photo(width: int, height: int) -> bytes:
    """A photo-like JPEG (gradient and shapes: work for the encoders), quality 90."""
    image = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    rnd = random.Random(1)
    for _ in range(300):
        x, y = rnd.randrange(width), rnd.randrange(height)
        w, h = rnd.randrange(width // 8 + 1), rnd.randrange(height // 8 + 1)
        draw.ellipse((x, y, x + w, y + h), fill=tuple(rnd.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def baseline(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()
    image.thumbnail((1920, 1920), Image.Resampling.LANCZOS)
    image.save(io.BytesIO(), "JPEG", quality=85)


def best_of(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> list[str]:
    lines = []
    for formats in (("webp", "jpeg"), ("avif", "jpeg")):
        limits = ImageLimits(formats=tuple(OutputFormat(f) for f in formats))
        for width, height in SIZES:
            data = photo(width, height)
            base = best_of(lambda d=data: baseline(d))
            ours = best_of(lambda d=data, lim=limits: process_image(d, lim))
            result = process_image(data, limits)
            made = ", ".join(
                f"{v.name.value} {v.width}x{v.height} {v.media_type.split('/')[1]} "
                f"{len(v.data) // 1024} KiB"
                for v in result.variants
            )
            say(f"{width}x{height} ({len(data) // 1024} KiB in): {ours * 1000:.0f} ms; {made}")
            name = f"media_process_{'_'.join(formats)}_{width}x{height}"
            lines.append(bench_line(name, ours * 1000, "ms", base * 1000))
    return lines


if __name__ == "__main__":
    main()
