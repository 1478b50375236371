"""Reference answers from python-openslide, which OpenSlideReader must match byte for byte.

  slide PATH       prints the library version, the vendor, the levels, the properties and the
                   associated images of PATH, then reads one region per stdin line
                   "x y level width height" and prints the SHA-256 of its RGBA bytes.
  argb2rgba IN OUT converts the premultiplied ARGB words in IN (native byte order) with
                   python-openslide's own converter and writes the RGBA bytes to OUT.

Strings are printed as UTF-8 hex and doubles as their IEEE bits, so nothing is lost in print.
"""
import array
import hashlib
import struct
import sys

import openslide
from openslide import _convert


def utf8_hex(text):
    return text.encode('utf-8').hex()


def double_bits(value):
    return struct.unpack('<q', struct.pack('<d', value))[0]


def sha256(image):
    return hashlib.sha256(image.tobytes()).hexdigest()


def describe_slide(path):
    print('library', openslide.__library_version__)
    print('vendor', openslide.OpenSlide.detect_format(path))
    slide = openslide.OpenSlide(path)
    for level, ((width, height), downsample) in enumerate(
            zip(slide.level_dimensions, slide.level_downsamples)):
        print('level', level, width, height, double_bits(downsample))
    for key, value in slide.properties.items():
        print('property', utf8_hex(key), utf8_hex(value))
    for name, image in slide.associated_images.items():
        print('associated', utf8_hex(name), image.width, image.height, sha256(image))
    for line in sys.stdin:
        x, y, level, width, height = (int(v) for v in line.split())
        print('region', x, y, level, width, height,
              sha256(slide.read_region((x, y), level, (width, height))))


def convert(words_path, out_path):
    words = array.array('I')
    with open(words_path, 'rb') as f:
        words.frombytes(f.read())
    _convert.argb2rgba(words)
    with open(out_path, 'wb') as f:
        f.write(words.tobytes())


if __name__ == '__main__':
    if sys.argv[1] == 'slide':
        describe_slide(sys.argv[2])
    else:
        convert(sys.argv[2], sys.argv[3])
