"""The bulk paths must be invisible: the Ultra chunk parser gives exactly what the line parser gives (or
declines), and the line framer splits any byte stream, however it is cut, exactly as line by line."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import LineFramer
from drivers.records import TagRead, decode
from drivers.ultra import Ultra, format_read, parse_read

N = int(os.environ.get("HYP_N", "150"))

field_text = st.sampled_from(["0", "1", "7", "12", "-3", " 5", "05", "x", "", "1_0", "٣", "99999"])


@st.composite
def ultra_line(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 3)):
        return format_read(draw(st.sampled_from(["1000001", "ABCD12", "77"])),
                           1_700_000_000_000 + draw(st.integers(0, 10**9)),
                           ant=draw(st.integers(0, 4)), rssi=draw(st.integers(-90, -30)),
                           rewind=draw(st.booleans()), reader=draw(st.integers(1, 2)), box=draw(st.integers(1, 2)),
                           log_id=draw(st.integers(0, 10**6)))
    # a read-like line with odd fields: the chunk path must decline or agree
    fields = ["0", draw(st.sampled_from(["C1", "c 1", "", "١٢", "77"]))] + [draw(field_text) for _ in range(10)]
    fields = fields[: draw(st.integers(10, 13))]
    return ",".join(fields)


@settings(max_examples=N, deadline=None)
@given(st.lists(ultra_line(), min_size=1, max_size=30))
def test_chunk_parse_equals_line_parse(lines: list[str]) -> None:
    chunk = Ultra().parse_chunk(lines)
    if chunk is None:
        return
    for i, line in enumerate(lines):
        r = parse_read(line)
        assert isinstance(r, TagRead)
        assert (chunk.chip[i], chunk.wall_ms[i], chunk.raw[i], chunk.key[i], chunk.ant[i], chunk.rssi[i],
                chunk.rewind[i], chunk.log_index[i]) == (r.chip, r.wall_ms, r.raw, r.key, r.ant, r.rssi,
                                                         r.rewind, r.log_index)
        if chunk.key_head is not None:
            assert r.key == f"{chunk.key_head}/{r.log_index}"


def test_chunk_parse_takes_a_clean_capture_and_declines_anything_else() -> None:
    good = [format_read(str(100 + i), 1_700_000_000_000 + i, log_id=i) for i in range(50)]
    chunk = Ultra().parse_chunk(good)
    assert chunk is not None and chunk.key_head == "1/1" and chunk.log_index == list(range(50))
    for bad in ("V=12.5", "garbage", good[3] + ",extra", good[3].replace(",-60,", ",n/a,"),
                good[3].replace(",0,3", ",0,03")):
        assert Ultra().parse_chunk([*good[:10], bad, *good[10:]]) is None


def reference_frames(chunks: list[bytes]) -> list[str]:
    """Line by line, as the framer did before it decoded whole chunks."""
    buf = b"".join(chunks).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return [decode(p) for p in buf.split(b"\n") if p]


@settings(max_examples=N, deadline=None)
@given(st.lists(st.sampled_from([b"0,1,2", b"\r\n", b"\n", b"\r", "王".encode(), b"\xe7\x8e", b"\xff", b"abc"]),
                max_size=40),
       st.lists(st.integers(1, 7), max_size=20))
def test_framer_splits_any_cut_stream_like_line_by_line(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts) + b"\n"
    chunks, i = [], 0
    for c in cuts:
        chunks.append(data[i : i + c])
        i += c
    chunks.append(data[i:])
    fr = LineFramer()
    got = []
    for ch in chunks:
        got += fr.feed(ch)
    got += fr.flush()
    assert got == reference_frames(chunks)
