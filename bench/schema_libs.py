"""msgspec or pydantic v2 for ``cityfed.schemas``: the measurement behind the choice (issue 15).

``python -m bench.schema_libs`` measures, for each library, on this machine:

- the cost of importing it and declaring a project-like request schema, in a fresh interpreter
  (every ``cityfed`` process, CLI calls included, pays it once at start-up);
- decoding and validating a typical ``POST /projects`` body from bytes (µs per body, best of 5).

It prints ``BENCH`` lines like ``make bench`` does, msgspec as the value and pydantic as the
baseline (a ratio under 1 favours msgspec). It is not part of ``make bench``: it measures the two
libraries, not cityfed. The figures we saw when choosing are in bench/README.md.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

BODY = (
    b'{"title": "Heat-risk map", "teaser": "Which streets get hot in summer, and who lives there.",'
    b' "description": "' + b"A map of the streets that get hottest. " * 40 + b'",'
    b' "phase": "pilot", "tags": ["climate", "heat", "maps"], "language": "en",'
    b' "sdgs": [3, 11, 13], "location": {"name": "Berlin", "latitude": 52.5, "longitude": 13.4},'
    b' "start_date": "2025-05-01", "license": "EUPL-1.2",'
    b' "repository": "https://code.example/heat", "partners": ["TU Berlin", "DWD"],'
    b' "outcomes": "Shade where it is needed.", "lessons_learned": "Ask the residents first.",'
    b' "translations": {"de": {"title": "Hitzekarte", "teaser": "Welche Strassen heiss werden."}}}'
)

MSGSPEC = """
from typing import Annotated, Literal
import msgspec
Text = Annotated[str, msgspec.Meta(max_length=20000)]
class Location(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    latitude: float | None = None
    longitude: float | None = None
class Project(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(max_length=300)]
    teaser: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=100000)] | None = None
    phase: Literal["idea", "planning", "pilot", "operational", "completed"] | None = None
    tags: list[Annotated[str, msgspec.Meta(pattern=r"^#?\\w{1,100}$")]] | None = None
    language: str | None = None
    sdgs: list[Annotated[int, msgspec.Meta(ge=1, le=17)]] | None = None
    location: Location | str | None = None
    start_date: str | None = None
    end_date: str | None = None
    license: str | None = None
    repository: str | None = None
    publiccode: str | None = None
    contact: str | None = None
    budget: str | None = None
    partners: list[str] | None = None
    outcomes: Text | None = None
    lessons_learned: Text | None = None
    addresses: list[str] | None = None
    translations: dict[str, dict[str, str]] | None = None
decode = msgspec.json.Decoder(Project).decode
"""

PYDANTIC = """
from typing import Annotated, Literal
import pydantic
from pydantic import Field
Text = Annotated[str, Field(max_length=20000)]
class Location(pydantic.BaseModel, extra="forbid"):
    name: str
    latitude: float | None = None
    longitude: float | None = None
class Project(pydantic.BaseModel, extra="forbid", strict=True):
    title: Annotated[str, Field(max_length=300)]
    teaser: Annotated[str, Field(max_length=500)] | None = None
    description: Annotated[str, Field(max_length=100000)] | None = None
    phase: Literal["idea", "planning", "pilot", "operational", "completed"] | None = None
    tags: list[Annotated[str, Field(pattern=r"^#?\\w{1,100}$")]] | None = None
    language: str | None = None
    sdgs: list[Annotated[int, Field(ge=1, le=17)]] | None = None
    location: Location | str | None = None
    start_date: str | None = None
    end_date: str | None = None
    license: str | None = None
    repository: str | None = None
    publiccode: str | None = None
    contact: str | None = None
    budget: str | None = None
    partners: list[str] | None = None
    outcomes: Text | None = None
    lessons_learned: Text | None = None
    addresses: list[str] | None = None
    translations: dict[str, dict[str, str]] | None = None
decode = Project.model_validate_json
"""


def startup_ms(declaration: str, runs: int = 7) -> float:
    """Median wall time of a fresh interpreter that declares the schema, minus a bare one."""

    def once(code: str) -> float:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - began

    bare = statistics.median(once("pass") for _ in range(runs))
    full = statistics.median(once(declaration) for _ in range(runs))
    return (full - bare) * 1000


def decode_us(declaration: str, rounds: int = 5, number: int = 5000) -> float:
    """Best per-body time of decode + validate, over ``rounds`` rounds of ``number`` bodies."""
    scope: dict[str, object] = {}
    # dont_inherit: this module's `from __future__ import annotations` must not leak in.
    exec(compile(declaration, "<schema>", "exec", dont_inherit=True), scope)
    decode = scope["decode"]
    assert callable(decode)
    decode(BODY)  # warm (pydantic builds its validator lazily on first use)
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(number):
            decode(BODY)
        best = min(best, (time.perf_counter() - began) / number)
    return best * 1e6


def main() -> None:
    import msgspec
    import pydantic

    print(f"msgspec {msgspec.__version__}, pydantic {pydantic.VERSION}, body {len(BODY)} bytes")
    lines = []
    m_start, p_start = startup_ms(MSGSPEC), startup_ms(PYDANTIC)
    lines.append(
        f"BENCH name=schema_startup value={m_start:.1f} unit=ms baseline={p_start:.1f} "
        f"ratio={m_start / p_start:.3f}"
    )
    m_dec, p_dec = decode_us(MSGSPEC), decode_us(PYDANTIC)
    lines.append(
        f"BENCH name=schema_decode value={m_dec:.2f} unit=us baseline={p_dec:.2f} "
        f"ratio={m_dec / p_dec:.3f}"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
