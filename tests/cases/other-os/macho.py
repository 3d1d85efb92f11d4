#!/usr/bin/env python3
"""Writes a Mach-O MH_EXECUTE around a flat binary, for what ld64.lld cannot link (i386, LC_UNIXTHREAD).

usage: macho.py ARCH START FLAT BASE ENTRY OUT
  ARCH   i386 | x86_64
  START  main (LC_MAIN + LC_LOAD_DYLINKER, as ld -macosx_version_min 10.8 writes) | unixthread
  FLAT   the code and data (objcopy -O binary of a link at BASE + 0x1000)
  BASE   __TEXT's address (0x1000 on i386, 0x100000000 on x86_64); the file maps from offset 0
  ENTRY  _main's address
Both kinds name /usr/lib/libSystem.B.dylib (LC_LOAD_DYLIB) and import nothing from it. The layout
follows <mach-o/loader.h>: mach_header(_64), then the load commands, the code at file offset 0x1000.
"""
import struct
import sys

arch, start, flat_path, base, entry, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 0), int(sys.argv[5], 0), sys.argv[6]
wide = arch == "x86_64"
flat = open(flat_path, "rb").read()
code_offset = 0x1000
total = code_offset + len(flat)
size = (total + 0xfff) & ~0xfff
address = "Q" if wide else "I"


def segment(name, vmaddr, vmsize, fileoff, filesize, protection):
    body = struct.pack("<16s" + address * 4 + "iiII", name.encode(), vmaddr, vmsize, fileoff, filesize, protection, protection, 0, 0)
    return struct.pack("<II", 0x19 if wide else 0x1, 8 + len(body)) + body


def padded(command, body):
    length = (8 + len(body) + 7) & ~7
    return struct.pack("<II", command, length) + body + b"\0" * (length - 8 - len(body))


commands = [
    segment("__PAGEZERO", 0, base, 0, 0, 0),
    segment("__TEXT", base, size, 0, total, 7),
    padded(0xc, struct.pack("<IIII", 24, 2, 0x04d63c02, 0x10000) + b"/usr/lib/libSystem.B.dylib\0"),
]
if start == "main":
    commands.append(padded(0xe, struct.pack("<I", 12) + b"/usr/lib/dyld\0"))
    commands.append(struct.pack("<IIQQ", 0x80000028, 24, entry - base, 0))
elif wide:
    # x86_THREAD_STATE64 (flavor 4, 42 words): rax..r15, rip, rflags, cs, fs, gs.
    state = [0] * 21
    state[16] = entry
    commands.append(struct.pack("<IIII", 0x5, 16 + 168, 4, 42) + struct.pack("<21Q", *state))
else:
    # x86_THREAD_STATE32 (flavor 1, 16 words): eax ebx ecx edx edi esi ebp esp ss eflags eip cs ds es fs gs.
    # EAX holds _main, as dyld leaves it: reference 02's i386 program finds its data from there.
    state = [0] * 16
    state[0] = entry
    state[10] = entry
    commands.append(struct.pack("<IIII", 0x5, 16 + 64, 1, 16) + struct.pack("<16I", *state))
load = b"".join(commands)
header = struct.pack("<IiiIIII", 0xfeedfacf if wide else 0xfeedface, 0x01000007 if wide else 7, 3, 2, len(commands), len(load), 0x1 | 0x4 | 0x80)
if wide:
    header += b"\0\0\0\0"
image = header + load
assert len(image) <= code_offset
open(out, "wb").write(image + b"\0" * (code_offset - len(image)) + flat)
