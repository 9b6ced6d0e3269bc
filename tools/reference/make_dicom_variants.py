#!/usr/bin/python3
"""Writes small DICOM files in every encoding ctinfer reads (and some it must
refuse) to tests/fixtures/ct/variants/, with EXPECTED.tsv giving, for each,
the SHA-256 of the float32 little-endian values a decoder must produce (stored
value * slope + intercept, frame 0 and frame 1) and of its padding mask.

The pixels are a 20 x 24 crop (rows 90-109, cols 450-473) of the CT1 slice,
which holds both scan-circle padding and tissue. The DICOM encoder here is
written from PS3.5 independently of the C decoder. Run from the repository
root with /usr/bin/python3:
    tools/reference/make_dicom_variants.py /work/shared/data/ct/ct1_hu_int16le_512x512.raw
"""
import hashlib
import os
import struct
import sys
import zlib

import numpy as np

OUT = "tests/fixtures/ct/variants"
ROW0, COL0, ROWS, COLS = 90, 450, 20, 24
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
TS = {
    "implicit": "1.2.840.10008.1.2",
    "explicit_le": "1.2.840.10008.1.2.1",
    "deflated": "1.2.840.10008.1.2.1.99",
    "explicit_be": "1.2.840.10008.1.2.2",
    "jpeg_baseline": "1.2.840.10008.1.2.4.50",
    "rle": "1.2.840.10008.1.2.5",
}


class Enc:
    """One encoding: implicit or explicit VR, little or big endian."""

    def __init__(self, explicit, big=False):
        self.explicit, self.e = explicit, ">" if big else "<"

    def elem(self, group, element, vr, value):
        if len(value) % 2:
            value += b"\0" if vr in ("UI", "OB", "UN") else b" "
        if not self.explicit:
            return struct.pack(self.e + "HHI", group, element, len(value)) + value
        if vr in LONG_VRS:
            return struct.pack(self.e + "HH2s2xI", group, element, vr.encode(), len(value)) + value
        return struct.pack(self.e + "HH2sH", group, element, vr.encode(), len(value)) + value

    def us(self, group, element, v):
        return self.elem(group, element, "US", struct.pack(self.e + "H", v))

    def ss(self, group, element, v):
        return self.elem(group, element, "SS", struct.pack(self.e + "h", v))

    def text(self, group, element, vr, s):
        return self.elem(group, element, vr, s.encode())

    def item_tag(self, element, length):
        return struct.pack(self.e + "HHI", 0xFFFE, element, length)

    def sequence(self, group, element, items, undefined_items=True, vr="SQ"):
        """Undefined-length sequence of items (encoded datasets)."""
        if self.explicit:
            head = struct.pack(self.e + "HH2s2xI", group, element, vr.encode(), 0xFFFFFFFF)
        else:
            head = struct.pack(self.e + "HHI", group, element, 0xFFFFFFFF)
        body = b""
        for it in items:
            if undefined_items:
                body += self.item_tag(0xE000, 0xFFFFFFFF) + it + self.item_tag(0xE00D, 0)
            else:
                body += self.item_tag(0xE000, len(it)) + it
        return head + body + self.item_tag(0xE0DD, 0)


def meta(ts_uid):
    le = Enc(True)
    body = (le.elem(0x0002, 0x0001, "OB", b"\0\1") + le.text(0x0002, 0x0002, "UI", CT_IMAGE_STORAGE)
            + le.text(0x0002, 0x0003, "UI", "1.2.826.0.1.3680043.10.1")
            + le.text(0x0002, 0x0010, "UI", ts_uid) + le.text(0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.10.2"))
    return le.elem(0x0002, 0x0000, "UL", struct.pack("<I", len(body))) + body


def icon_item(enc):
    """An icon-like nested image whose Rows/PixelData must be ignored."""
    return (enc.us(0x0028, 0x0002, 1) + enc.text(0x0028, 0x0004, "CS", "MONOCHROME2")
            + enc.us(0x0028, 0x0010, 2) + enc.us(0x0028, 0x0011, 2) + enc.us(0x0028, 0x0100, 8)
            + enc.us(0x0028, 0x0101, 8) + enc.us(0x0028, 0x0102, 7) + enc.us(0x0028, 0x0103, 0)
            + enc.elem(0x7FE0, 0x0010, "OB", b"\1\2\3\4"))


def dataset(enc, image, bits_alloc=16, bits_stored=16, high_bit=15, signed=1, photometric="MONOCHROME2",
            slope="1", intercept="-1024", padding=-2000, padding_limit=None, frames=None, window=None,
            samples=1, extra_before=b"", extra_after=b"", pixel_bytes=None):
    """The image module around pixel data `image` (raw stored integers, frames
    stacked), with optional sequences before (0008,1140) and after (0088,0200)."""
    d = enc.text(0x0008, 0x0005, "CS", "ISO_IR 100") + enc.text(0x0008, 0x0016, "UI", CT_IMAGE_STORAGE)
    d += enc.text(0x0008, 0x0060, "CS", "CT") + extra_before
    d += enc.us(0x0028, 0x0002, samples) + enc.text(0x0028, 0x0004, "CS", photometric)
    if frames is not None:
        d += enc.text(0x0028, 0x0008, "IS", str(frames))
    d += enc.us(0x0028, 0x0010, image.shape[-2]) + enc.us(0x0028, 0x0011, image.shape[-1])
    d += enc.us(0x0028, 0x0100, bits_alloc) + enc.us(0x0028, 0x0101, bits_stored)
    d += enc.us(0x0028, 0x0102, high_bit) + enc.us(0x0028, 0x0103, signed)
    if padding is not None:
        d += (enc.ss if signed else enc.us)(0x0028, 0x0120, padding)
    if padding_limit is not None:
        d += (enc.ss if signed else enc.us)(0x0028, 0x0121, padding_limit)
    if window is not None:
        d += enc.text(0x0028, 0x1050, "DS", window[0]) + enc.text(0x0028, 0x1051, "DS", window[1])
    d += enc.text(0x0028, 0x1052, "DS", intercept) + enc.text(0x0028, 0x1053, "DS", slope)
    d += extra_after
    if pixel_bytes is None:
        dtype = {8: "u1", 16: ("i2" if signed else "u2")}[bits_alloc]
        pixel_bytes = image.astype(enc.e + dtype if bits_alloc == 16 else dtype).tobytes()
    d += enc.elem(0x7FE0, 0x0010, "OW" if bits_alloc == 16 else "OB", pixel_bytes)
    return d


def part10(ts, body, preamble=True):
    return (b"\0" * 128 + b"DICM" if preamble else b"") + meta(TS[ts]) + body


def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def main():
    hu = np.fromfile(sys.argv[1], "<i2").reshape(512, 512)[ROW0:ROW0 + ROWS, COL0:COL0 + COLS].astype(np.int64)
    stored = hu + 1024                                  # CT1: intercept -1024, padding -2000
    il, el, eb = Enc(False), Enc(True), Enc(True, big=True)
    files, expect = {}, []

    def ok(name, data, values, pad_mask, frames=1, photometric="MONOCHROME2", frame1=None):
        files[name] = data
        expect.append((name, "ok", ROWS, COLS, frames, photometric, digest(values.astype("<f4")),
                       digest(pad_mask.astype(np.uint8)) if pad_mask is not None else "-",
                       digest(frame1.astype("<f4")) if frame1 is not None else "-", "-"))

    def refused(name, data, status, message):
        files[name] = data
        expect.append((name, status, 0, 0, 0, "-", "-", "-", "-", message))

    seq_before_il = il.sequence(0x0008, 0x1140, [il.us(0x0028, 0x0010, 7) + il.elem(0x7FE0, 0x0010, "OB", b"\0" * 4)])
    seq_after_il = il.sequence(0x0088, 0x0200, [icon_item(il)])
    ok("implicit_le.dcm", part10("implicit", dataset(il, stored, extra_before=seq_before_il, extra_after=seq_after_il)),
       hu, stored == -2000)
    ok("implicit_le_no_meta.dcm", dataset(il, stored, extra_before=seq_before_il), hu, stored == -2000)
    ok("explicit_le_no_preamble.dcm", part10("explicit_le", dataset(el, stored), preamble=False), hu, stored == -2000)

    # Big endian, with a nested undefined-length sequence, a defined-length
    # item, and a UN element of undefined length (content in implicit VR LE).
    nested = eb.sequence(0x0008, 0x1115, [eb.sequence(0x0008, 0x1140, [icon_item(eb)])], undefined_items=False)
    # UN of undefined length: only its header is big endian; the value
    # (items, delimiters, elements) is implicit VR little endian (PS3.5 6.2.2).
    un_value = il.sequence(0x0009, 0x1001, [icon_item(il)])[8:]
    un = (eb.text(0x0009, 0x0010, "LO", "CTINFER TEST")
          + struct.pack(">HH2s2xI", 0x0009, 0x1001, b"UN", 0xFFFFFFFF) + un_value)
    ok("explicit_be.dcm", part10("explicit_be", dataset(eb, stored, extra_before=nested + un,
                                                         extra_after=eb.sequence(0x0088, 0x0200, [icon_item(eb)]),
                                                         window=("-600\\40", "1500\\400"))),
       hu, stored == -2000)

    body = dataset(el, stored, extra_after=el.sequence(0x0088, 0x0200, [icon_item(el)]))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    ok("deflated.dcm", part10("deflated", c.compress(body) + c.flush()), hu, stored == -2000)

    # 8-bit unsigned MONOCHROME1 with decimal-string rescale and a padding range.
    u8 = np.clip((hu + 1100) // 8, 0, 255)
    ok("mono1_u8.dcm", part10("explicit_le", dataset(el, u8, bits_alloc=8, bits_stored=8, high_bit=7, signed=0,
                                                     photometric="MONOCHROME1", slope="2.5", intercept="-1.0E+2",
                                                     padding=0, padding_limit=3)),
       u8 * 2.5 - 100, u8 <= 3, photometric="MONOCHROME1")

    # 12 of 16 bits, signed, junk in the unused high bits: sign extension.
    s12 = np.clip(hu // 2, -2048, 2047)
    raw = (s12 & 0xFFF) | 0xA000
    ok("bits12_signed.dcm", part10("explicit_le", dataset(el, s12, bits_stored=12, high_bit=11, slope="2",
                                                          intercept="0", padding=None,
                                                          pixel_bytes=raw.astype("<u2").tobytes())),
       s12 * 2, None)

    # 12 bits stored in the high bits (HighBit 15), junk in the low 4 bits.
    u12 = np.clip(stored, 0, 4095)
    raw = (u12 << 4) | 0x5
    ok("bits12_high.dcm", part10("explicit_le", dataset(el, u12, bits_stored=12, high_bit=15, signed=0,
                                                        padding=None, pixel_bytes=raw.astype("<u2").tobytes())),
       u12 - 1024, None)

    two = np.stack([stored, stored[::-1, ::-1]])
    ok("multiframe.dcm", part10("explicit_le", dataset(el, two, frames=2)), hu, stored == -2000, frames=2,
       frame1=hu[::-1, ::-1])

    encapsulated = el.sequence(0x7FE0, 0x0010, [b"", b"\xff\xd8\xff\xd9"], undefined_items=False, vr="OB")
    jpeg = dataset(el, stored, pixel_bytes=b"")[:-12] + encapsulated
    refused("jpeg_baseline.dcm", part10("jpeg_baseline", jpeg), "unsupported", "1.2.840.10008.1.2.4.50 (JPEG Baseline)")
    refused("rle.dcm", part10("rle", jpeg), "unsupported", "1.2.840.10008.1.2.5 (RLE Lossless)")
    refused("encapsulated_in_explicit.dcm", part10("explicit_le", jpeg), "format", "encapsulated pixel data")
    refused("rgb.dcm", part10("explicit_le", dataset(el, stored, samples=3, photometric="RGB")), "unsupported",
            "color image (RGB, 3 samples per pixel)")

    os.makedirs(OUT, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("# file\tstatus\trows\tcols\tframes\tphotometric\tsha256 f32le frame 0\tsha256 u8 padding mask"
                "\tsha256 f32le frame 1\terror message part\n")
        for row in expect:
            f.write("\t".join(str(x) for x in row) + "\n")


if __name__ == "__main__":
    main()
