"""Test images made with Pillow: camera-like JPEGs with EXIF and GPS, PNGs, a fake bomb."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from PIL import Image

RED = (220, 20, 20)
BLUE = (20, 40, 220)

# EXIF tags
ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825


def camera_jpeg(width: int = 3000, height: int = 2000, *, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: sensor-wise pixels plus an Orientation tag, GPS and
    XMP. The top-left quarter (as stored) is red, the rest blue."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height // 2))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "TestPhone"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 16.0, 30.5), 3: "E", 4: (121.0, 35.0, 10.25)})
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="rdf"><rdf:Description '
        b'exif:GPSLatitude="31,16.5N" xmlns:exif="exif"/></rdf:RDF></x:xmpmeta>'
    )
    out = BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp)
    return out.getvalue()


def plain_jpeg(
    width: int, height: int, colour: tuple[int, int, int], *, quality: int = 75
) -> bytes:
    """A small real JPEG of one colour, no metadata (the server re-encodes photos, so what is
    uploaded must decode)."""
    out = BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def png(width: int = 800, height: int = 600, *, transparent: bool = True) -> bytes:
    image = Image.new("RGBA" if transparent else "RGB", (width, height), (0, 128, 0, 0))
    image.paste((0, 128, 0, 255) if transparent else (0, 128, 0), (0, 0, width // 2, height))
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def encoded(width: int, height: int, fmt: str) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 200, 0)).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb's shape)."""
    data = png(1, 1, transparent=False)
    # IHDR follows the 8-byte signature: length (4), type (4), then width and height.
    start = 8 + 4
    ihdr = bytearray(data[start : start + 4 + 13])
    ihdr[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return data[:start] + bytes(ihdr) + crc + data[start + 4 + 13 + 4 :]
