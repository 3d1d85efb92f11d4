#!/usr/bin/env bash
# Builds the FreeBSD and Darwin test programs into tests/cases/other-os/build/ (not committed):
#   asm/freebsd-*.s  as + ld, branded FreeBSD (EI_OSABI) as reference 02's ld -m elf_*_fbsd does -> NAME
#   asm/darwin-x86_64-*.s  clang -c + ld64.lld -lSystem (LC_MAIN, libSystem named)       -> NAME
#   c/*.c            clang --target=x86_64-unknown-freebsd -ffreestanding + ld.lld         -> freebsd-x86_64-NAME
#                    clang --target=x86_64-apple-macos10.8 + ld64.lld -lSystem             -> darwin-x86_64-NAME
# Neither system's libSystem nor libc is here: libSystem.tbd is a stub that only names the library
# (and dyld_stub_binder, which ld64 always imports). OtherOsTests compares each with expected/NAME.stdout.
set -euo pipefail
cd "$(dirname "$0")"
out=build
mkdir -p "$out"
newer() { [ ! -e "$2" ] || [ "$1" -nt "$2" ] || [ c/sys.h -nt "$2" ]; }
cflags=(-O1 -ffreestanding -fno-builtin -fno-stack-protector -nostdlib -fno-pic -Wall -Werror)
darwin_link=(ld64.lld-14 -arch x86_64 -platform_version macos 10.8 10.8 -L. -lSystem)

for src in asm/*.s; do
  base=$(basename "$src" .s)
  newer "$src" "$out/$base" || continue
  case "$base" in
    freebsd-x86_64-*) as --64 -o "$out/$base.o" "$src" && ld -m elf_x86_64 -o "$out/$base" "$out/$base.o" 2>/dev/null
                      elfedit --output-osabi FreeBSD "$out/$base" ;;
    freebsd-i386-*)   as --32 -o "$out/$base.o" "$src" && ld -m elf_i386 -o "$out/$base" "$out/$base.o"
                      elfedit --output-osabi FreeBSD "$out/$base" ;;
    darwin-x86_64-*)  clang --target=x86_64-apple-macos10.8 -c -o "$out/$base.o" "$src" && "${darwin_link[@]}" -o "$out/$base" "$out/$base.o" ;;
  esac
done

for src in c/*.c; do
  base=$(basename "$src" .c)
  if newer "$src" "$out/freebsd-x86_64-$base"; then
    clang --target=x86_64-unknown-freebsd "${cflags[@]}" -c -o "$out/freebsd-$base.o" "$src"
    ld.lld -static -e _start -o "$out/freebsd-x86_64-$base" "$out/freebsd-$base.o"
  fi
  if newer "$src" "$out/darwin-x86_64-$base"; then
    clang --target=x86_64-apple-macos10.8 "${cflags[@]}" -c -o "$out/darwin-$base.o" "$src"
    "${darwin_link[@]}" -o "$out/darwin-x86_64-$base" "$out/darwin-$base.o"
  fi
done
rm -f "$out"/*.o
