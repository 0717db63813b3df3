"""What is kept of an upload: a clean, upright, bounded JPEG and its thumbnail."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from tests.media.images import BLUE, RED, camera_jpeg, encoded, png, png_claiming
from townops.media.service import MAX_UPLOAD_BYTES, PhotoRejected, encode_image


def _open(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


def test_exif_and_gps_are_stripped_and_the_orientation_is_applied() -> None:
    original = camera_jpeg(3000, 2000, orientation=6)
    assert b"Exif\x00\x00" in original and _open(original).getexif().get_ifd(0x8825)

    result = encode_image(original, filename="IMG_0001.jpg")

    stored = _open(result.data)
    assert stored.format == "JPEG"
    assert stored.getexif() == {} and "exif" not in stored.info
    assert "xmp" not in stored.info and b"GPSLatitude" not in result.data
    assert b"Exif\x00\x00" not in result.data and b"TestPhone" not in result.data
    # Orientation 6: the camera's top-left corner is shown top-right; portrait now,
    # scaled so the long side is 2048.
    assert (result.width, result.height) == stored.size == (1365, 2048)
    assert _near(stored.getpixel((1300, 60)), RED)
    assert _near(stored.getpixel((60, 60)), BLUE)
    thumb = _open(result.thumb)
    assert thumb.size == (213, 320) and b"Exif\x00\x00" not in result.thumb


def test_a_small_png_keeps_its_size_and_transparency_becomes_white() -> None:
    result = encode_image(png(800, 600), filename="plan.png")
    stored = _open(result.data)
    assert stored.format == "JPEG" and stored.mode == "RGB"
    assert stored.size == (800, 600) and _open(result.thumb).size == (320, 240)
    assert _near(stored.getpixel((700, 300)), (255, 255, 255))  # was transparent
    assert _near(stored.getpixel((100, 300)), (0, 128, 0))
    assert len(result.thumb) < len(result.data)


@pytest.mark.parametrize("fmt", ["WEBP", "GIF"])
def test_webp_and_gif_are_accepted_and_stored_as_jpeg(fmt: str) -> None:
    result = encode_image(encoded(640, 480, fmt), filename=f"x.{fmt.lower()}")
    assert _open(result.data).format == "JPEG" and (result.width, result.height) == (640, 480)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"this is a text file, not a photo\n" * 3, "unsupported_image"),
        (bytes(range(256)) * 40, "unsupported_image"),
        (encoded(50, 50, "BMP"), "unsupported_image"),  # an image, but not one we take
        (camera_jpeg(400, 300)[:600], "unsupported_image"),  # cut off mid-way
        (b"\xff" * (MAX_UPLOAD_BYTES + 1), "too_large"),
        (png_claiming(9_000, 8_000), "too_many_pixels"),  # past our limit
        (png_claiming(20_000, 20_000), "too_many_pixels"),  # past Pillow's too
    ],
    ids=["empty", "text", "garbage", "bmp", "truncated", "too-large", "bomb", "huge-bomb"],
)
def test_what_is_not_a_usable_image_is_refused_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(PhotoRejected) as caught:
        encode_image(data, filename="photo.jpg")
    assert caught.value.code == code
    assert caught.value.details["field"] == "file"
    assert caught.value.status_code in (413, 422)
