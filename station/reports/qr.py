"""QR codes drawn as vector squares on a PDF canvas.

Why vectors: a QR printed from a bitmap blurs at ticket-printer resolutions and bloats a 2,000-ticket
PDF; as filled rectangles (one per run of dark modules, written as integer module coordinates under
one transform) it is sharp at any size and costs a few hundred bytes.

Encoders: `qrcode` (pure Python, the reference) or zxing-cpp's writer (C++, several times faster:
what keeps a 2,000-ticket sheet well inside its time budget). `"auto"` takes zxing-cpp when its
writer is present. The qrcode path fixes the mask pattern: choosing the "best" of eight masks is most
of that library's time and buys nothing a phone camera or desk scanner needs.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reportlab.lib.colors import black, white
from reportlab.pdfgen.canvas import Canvas

QUIET = 4  # modules of white border (ISO/IEC 18004)
_EC = {"L": 1, "M": 0, "Q": 3, "H": 2}  # qrcode's constants


@lru_cache(maxsize=1)
def _zxing_writer() -> bool:
    try:
        import zxingcpp

        return hasattr(zxingcpp, "create_barcode")
    except ImportError:
        return False


_DARK_RUN = re.compile(rb"\x01+")


def _rows(data: str, ec: str, encoder: str) -> list[bytes]:
    """Module rows as bytes, 1 = dark (bytes so runs are found by a C-speed regex)."""
    if encoder == "zxing" or (encoder == "auto" and _zxing_writer()):
        import zxingcpp

        img = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=ec).to_image(
            scale=1, add_quiet_zones=False)
        h, w = memoryview(img).shape
        px = bytes(memoryview(img)).translate(_DARK_TABLE)  # 0 (black) → 1, 255 (white) → 0
        return [px[r * w:(r + 1) * w] for r in range(h)]
    import qrcode

    q = qrcode.QRCode(error_correction=_EC[ec], border=0, mask_pattern=2)
    q.add_data(data)
    q.make(fit=True)
    return [bytes(row) for row in q.get_matrix()]


_DARK_TABLE = bytes(1 if i < 128 else 0 for i in range(256))


def matrix(data: str, ec: str = "M", encoder: str = "auto") -> list[list[bool]]:
    """The module matrix without quiet zone: True = dark."""
    return [[b == 1 for b in row] for row in _rows(data, ec, encoder)]


def draw_qr(c: Canvas, data: str, x: float, y: float, size: float, *, ec: str = "M",
            encoder: str = "auto") -> None:
    """A square QR code of side `size` points (quiet zone included), lower-left corner at (x, y)."""
    rows = _rows(data, ec, encoder)
    n = len(rows) + 2 * QUIET
    cell = size / n
    c.saveState()
    c.setFillColor(white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColor(black)
    ops = [f"{m.start()} {r} {m.end() - m.start()} 1 re" for r, row in enumerate(rows)
           for m in _DARK_RUN.finditer(row)]
    # module (col, row) → page: x + (QUIET+col)·cell, top-down rows
    c.addLiteral(f"{cell:.4f} 0 0 {-cell:.4f} {x + QUIET * cell:.3f} {y + size - QUIET * cell:.3f} cm\n"
                 + "\n".join(ops) + "\nf")
    c.restoreState()
