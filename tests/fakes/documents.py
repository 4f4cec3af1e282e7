"""Documents made on the spot for tests and benchmarks: text PDFs (pypdf) and diagrams (Pillow).

Nothing is downloaded or shipped: every file is generated from its arguments, so a test shows what
it feeds the bot.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def _pdf_string(text: str) -> str:
    """A PDF literal string body (Latin-1 text, parentheses and backslashes escaped)."""
    safe = text.encode("latin-1", errors="replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose page ``i`` shows the lines ``pages[i]`` in Helvetica (text a reader can extract)."""
    writer = PdfWriter()
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        shown = " T* ".join(f"({_pdf_string(line)}) Tj" for line in lines)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 10 Tf 50 750 Td 12 TL {shown} ET".encode("latin-1"))
        page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf(pages: int = 2) -> bytes:
    """A PDF with pages but no text layer (what a scan looks like to a text extractor)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def diagram(width: int = 1200, height: int = 800, *, fmt: str = "PNG", label: str = "API -> Queue") -> bytes:
    """A box-and-arrow diagram image of the given size and format (PNG, JPEG, GIF, WEBP)."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    box_w, box_h = width // 4, height // 5
    left = (width // 8, height // 2 - box_h // 2)
    right = (width - width // 8 - box_w, height // 2 - box_h // 2)
    for x, y in (left, right):
        draw.rectangle((x, y, x + box_w, y + box_h), outline="black", width=3)
    draw.line((left[0] + box_w, height // 2, right[0], height // 2), fill="black", width=3)
    draw.text((left[0] + 10, left[1] + 10), label, fill="black")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def animated_gif(width: int = 64, height: int = 48, frames: int = 3) -> bytes:
    """A small animated GIF (OpenAI takes still images only)."""
    images = [Image.new("RGB", (width, height), (40 * i, 80, 120)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()
