"""Region re-indentation, found by regex scans, against its line-by-line definition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codemodkit.codemods.telemetry.js.layout import _Layout
from codemodkit.codemods.telemetry.js.sites import JsFacts, Region
from codemodkit.parsers.javascript import ByteLines

_PIECES = st.sampled_from([b" ", b"  ", b"\t", b"\n", b"\r", b"\r\n", b"x", b"}"])
_PREFIXES = st.sampled_from([b"", b" ", b"  ", b"\t", b"    "])


def _reference(
    data: bytes, regions: list[Region], protected: frozenset[int]
) -> list[tuple[int, int, bytes]]:
    """Each region's unit after its prefix on every line of the region that starts
    with the prefix, is not blank and is not protected; outer regions first."""
    lines = ByteLines(data)
    found = []
    for order, region in enumerate(regions):
        for row in range(region.first, region.last + 1):
            content = lines.text(row)
            if row in protected or not content.startswith(region.prefix):
                continue
            if content.strip(b" \t"):
                found.append((lines.start(row) + len(region.prefix), order, region.unit))
    return sorted(found)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[bytes, list[Region], frozenset[int]]:
    data = b"".join(draw(st.lists(_PIECES, max_size=60)))
    count = len(ByteLines(data))
    regions = []
    for _ in range(draw(st.integers(0, 4))):
        first = draw(st.integers(0, count - 1))
        last = draw(st.integers(first, count - 1))
        unit = draw(st.sampled_from([b"  ", b"\t"]))
        regions.append(Region(first, last, draw(_PREFIXES), unit))
    protected = frozenset(draw(st.sets(st.integers(0, count - 1), max_size=3)))
    return data, regions, protected


@given(_cases())
def test_regions_indent_the_lines_their_definition_names(
    case: tuple[bytes, list[Region], frozenset[int]],
) -> None:
    data, regions, protected = case
    plan = _Layout(JsFacts(data, b"\n", b"  ", protected), [])
    plan.regions = {f"r{i}": region for i, region in enumerate(regions)}
    plan.indent_regions()
    order = {seq: i for i, seq in enumerate(sorted({e[3] for e in plan.edits}))}
    # Regions that add nothing take no sequence number of their own.
    by_region = sorted((e[0], order[e[3]], e[4]) for e in plan.edits)
    expected = _reference(data, regions, protected)
    assert [(at, unit) for at, _, unit in by_region] == [(at, unit) for at, _, unit in expected]
    assert all(e[1:3] == (2, 0) for e in plan.edits)
