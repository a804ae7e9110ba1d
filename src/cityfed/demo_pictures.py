"""Pictures for the demo, drawn by code with Pillow (no third-party pictures, no files to ship).

Each demo project gets a cover: a sky-to-ground gradient in a colour derived from its title, a
skyline of simple buildings, a sun or rain, and the title on a band. Each city gets a logo: its
initial in a circle of its colour. Deterministic (seeded by the text), so a re-seeded demo draws
the same pictures and the storage keeps one copy of each.
"""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageFont

COVER_SIZE = (1200, 675)  # 16:9, what timelines crop previews to


def _rng(text: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def _hue(rnd: random.Random) -> tuple[int, int, int]:
    palette = [(36, 99, 166), (22, 128, 96), (180, 83, 9), (126, 58, 158), (190, 40, 60)]
    return palette[rnd.randrange(len(palette))]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def cover(title: str) -> tuple[bytes, str]:
    """A cover picture for a project or challenge, and its alt text."""
    rnd = _rng(title)
    width, height = COVER_SIZE
    base = _hue(rnd)
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB",
        [sky.point(lambda v, c=c: int(c * 0.4 + (255 - v) * 0.6)) for c in base],
    )
    draw = ImageDraw.Draw(image)
    rainy = rnd.random() < 0.5
    if rainy:
        for _ in range(260):
            x, y = rnd.randrange(width), rnd.randrange(height * 2 // 3)
            draw.line((x, y, x - 6, y + 18), fill=(220, 230, 245), width=2)
    else:
        draw.ellipse((width - 260, 60, width - 120, 200), fill=(255, 214, 102))
    x = 0
    ground = height * 3 // 4
    while x < width:
        w = rnd.randrange(60, 140)
        h = rnd.randrange(120, 330)
        shade = tuple(max(0, int(c * 0.55)) for c in base)
        draw.rectangle((x, ground - h, x + w - 6, ground), fill=shade)
        for wy in range(ground - h + 16, ground - 16, 28):
            for wx in range(x + 10, x + w - 20, 22):
                if rnd.random() < 0.6:
                    draw.rectangle((wx, wy, wx + 10, wy + 14), fill=(255, 236, 170))
        x += w
    draw.rectangle((0, ground, width, height), fill=tuple(int(c * 0.3) for c in base))
    draw.rectangle((0, height - 120, width, height - 40), fill=(255, 255, 255))
    draw.text((40, height - 80), title, fill=(20, 20, 20), font=_font(48), anchor="lm")
    weather = "rain falling" if rainy else "a yellow sun"
    alt = (
        f"Illustration for \u201c{title}\u201d: a city skyline with lit windows under a sky "
        f"with {weather}, and the title written on a white band."
    )
    return _png(image), alt


def logo(name: str, initial: str) -> tuple[bytes, str]:
    """A square logo: the city's initial in a circle of its colour, and its alt text."""
    rnd = _rng(name)
    colour = _hue(rnd)
    image = Image.new("RGB", (400, 400), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 380, 380), fill=colour)
    draw.text((200, 205), initial[:1].upper(), fill=(255, 255, 255), font=_font(220), anchor="mm")
    return _png(image), f"Logo of {name}: a white letter {initial[:1].upper()} in a circle."
