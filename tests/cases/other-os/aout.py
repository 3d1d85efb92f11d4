#!/usr/bin/env python3
"""Writes a SunOS 4 SPARC a.out executable around the memory image of an ELF32 SPARC link.

Debian's binutils have no a.out SPARC output, so build.sh links an ELF with sunos4.ld (text at
0x2000, data at the next 8 KiB boundary, or right after the text for OMAGIC), takes its image with
`objcopy -O binary`, and this script writes what SunOS 4's ld would: the 32-byte big-endian exec
header (sun4 <a.out.h>: a_dynamic/a_toolversion, a_machtype M_SPARC = 3, a_magic; a_text a_data
a_bss a_syms a_entry a_trsize a_drsize), text and data, and a symbol table of struct nlist
(n_strx, n_type, n_other, n_desc, n_value) with its string table, so file(1) says "not stripped".

usage: aout.py zmagic|nmagic|omagic IMAGE NM-OUTPUT OUT
"""
import struct
import sys

TEXT_ADDRESS, SEGMENT, HEADER = 0x2000, 0x2000, 32
MAGIC = {"omagic": 0o407, "nmagic": 0o410, "zmagic": 0o413}
N_TYPE = {"a": 0x2, "t": 0x4, "d": 0x6, "b": 0x8, "r": 0x4}  # N_ABS N_TEXT N_DATA N_BSS; rodata is text
N_EXT = 0x1


def round_up(value, unit):
    return (value + unit - 1) // unit * unit


def main():
    kind, image_path, nm_path, out_path = sys.argv[1:5]
    image = open(image_path, "rb").read()
    symbols = {}
    for line in open(nm_path):
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = (int(parts[0], 16), parts[1])
    value = lambda name: symbols[name][0]
    start = TEXT_ADDRESS + (HEADER if kind == "zmagic" else 0)
    etext, data_start, edata, end = value("_etext"), value("_data_start"), value("_edata"), value("_end")
    # OMAGIC's data follows the text directly: the text runs to it (sunos4.ld aligns it to 8).
    text = image[: (data_start if kind == "omagic" else etext) - start]
    data = image[data_start - start : edata - start]
    if kind == "zmagic":
        # The header is the first 32 bytes of the text segment, which is whole pages.
        text = text.ljust(round_up(HEADER + len(text), SEGMENT) - HEADER, b"\0")
        a_text = HEADER + len(text)
        data = data.ljust(round_up(len(data), SEGMENT), b"\0")
    else:
        a_text = len(text)
    assert data_start == (TEXT_ADDRESS + a_text if kind == "omagic" else round_up(TEXT_ADDRESS + a_text, SEGMENT)), "sunos4.ld placed data elsewhere"
    a_bss = max(0, end - (data_start + len(data)))

    names, table = bytearray(), bytearray()
    for name, (address, letter) in sorted(symbols.items(), key=lambda item: item[1][0]):
        kind_bits = N_TYPE.get(letter.lower())
        if kind_bits is None:
            continue
        table += struct.pack(">IBbhI", 4 + len(names), kind_bits | (N_EXT if letter.isupper() else 0), 0, 0, address)
        names += name.encode() + b"\0"
    strings = struct.pack(">I", 4 + len(names)) + names

    header = struct.pack(">BBHIIIIIII", 0, 3, MAGIC[kind], a_text, len(data), a_bss, len(table), value("_start"), 0, 0)
    with open(out_path, "wb") as out:
        out.write(header + text + data + table + strings)


main()
