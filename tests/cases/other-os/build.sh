#!/usr/bin/env bash
# Builds the FreeBSD and Darwin test programs into tests/cases/other-os/build/ (not committed):
#   asm/freebsd-*.s  as + ld, branded FreeBSD (EI_OSABI) as reference 02's ld -m elf_*_fbsd does -> NAME
#   asm/darwin-x86_64-*.s  clang -c + ld64.lld -lSystem (LC_MAIN, libSystem named)       -> NAME
#                    and as + ld + objcopy -O binary wrapped by macho.py with LC_UNIXTHREAD -> NAME-unixthread
#   asm/darwin-i386-*.s    ld64.lld has no i386: as --32 + ld + macho.py, LC_MAIN and LC_UNIXTHREAD -> NAME, NAME-unixthread
#   c/*.c            clang --target=x86_64-unknown-freebsd -ffreestanding + ld.lld         -> freebsd-x86_64-NAME
#                    and --target=i386-unknown-freebsd (sys.h's int $0x80 stubs)            -> freebsd-i386-NAME
#   freebsd/*.c      FreeBSD-only programs (signal handlers, signals.h), both targets       -> freebsd-{x86_64,i386}-NAME
#                    clang --target=x86_64-apple-macos10.8 + ld64.lld -lSystem             -> darwin-x86_64-NAME
#   asm/sunos4-sparc-*.s  as -Av7 + ld -T sunos4.ld + objcopy -O binary, wrapped by aout.py in the
#                    a.out header SunOS 4's ld writes: ZMAGIC -> NAME (hello also NMAGIC, OMAGIC -> NAME-nmagic, -omagic)
#   sunos4/*.c       clang --target=sparc -S, as -Av7 (refuses V8's multiply and divide), the same link -> sunos4-sparc-NAME
# Neither system's libSystem nor libc is here: libSystem.tbd is a stub that only names the library
# (and dyld_stub_binder, which ld64 always imports). OtherOsTests compares each with expected/NAME.stdout.
set -euo pipefail
cd "$(dirname "$0")"
out=build
mkdir -p "$out"
newer() { [ ! -e "$2" ] || [ "$1" -nt "$2" ] || [ c/sys.h -nt "$2" ]; }
cflags=(-O1 -ffreestanding -fno-builtin -fno-stack-protector -nostdlib -fno-pic -Wall -Werror)
darwin_link=(ld64.lld-14 -arch x86_64 -platform_version macos 10.8 10.8 -L. -lSystem)

# flat SOURCE AS-FLAG EMULATION BASE ARCH OUT START: a Mach-O around the code linked at BASE + 0x1000.
flat() {
  grep -v macosx_version_min "$1" | as "$2" -o "$out/flat.o"
  ld -m "$3" --no-warn-rwx-segments -N -Ttext=$(printf '0x%x' $(( $4 + 0x1000 ))) -e _main -o "$out/flat.elf" "$out/flat.o"
  objcopy -O binary "$out/flat.elf" "$out/flat.bin"
  python3 macho.py "$5" "$7" "$out/flat.bin" "$4" "0x$(nm "$out/flat.elf" | awk '$3 == "_main" { print $1 }')" "$6"
  chmod +x "$6"
  rm -f "$out/flat.o" "$out/flat.elf" "$out/flat.bin"
}

for src in asm/*.s; do
  base=$(basename "$src" .s)
  newer "$src" "$out/$base" || continue
  case "$base" in
    freebsd-x86_64-*) as --64 -o "$out/$base.o" "$src" && ld -m elf_x86_64 -o "$out/$base" "$out/$base.o" 2>/dev/null
                      elfedit --output-osabi FreeBSD "$out/$base" ;;
    freebsd-i386-*)   as --32 -o "$out/$base.o" "$src" && ld -m elf_i386 -o "$out/$base" "$out/$base.o"
                      elfedit --output-osabi FreeBSD "$out/$base" ;;
    darwin-x86_64-*)  clang --target=x86_64-apple-macos10.8 -c -o "$out/$base.o" "$src" && "${darwin_link[@]}" -o "$out/$base" "$out/$base.o"
                      [ "$base" = darwin-x86_64-needs-dyld ] || flat "$src" --64 elf_x86_64 0x100000000 x86_64 "$out/$base-unixthread" unixthread ;;
    darwin-i386-*)    flat "$src" --32 elf_i386 0x1000 i386 "$out/$base" main
                      flat "$src" --32 elf_i386 0x1000 i386 "$out/$base-unixthread" unixthread ;;
  esac
done

for src in c/*.c; do
  base=$(basename "$src" .c)
  for arch in x86_64 i386; do
    if newer "$src" "$out/freebsd-$arch-$base"; then
      clang --target=$arch-unknown-freebsd "${cflags[@]}" -c -o "$out/freebsd-$base.o" "$src"
      ld.lld -static -e _start -o "$out/freebsd-$arch-$base" "$out/freebsd-$base.o"
    fi
  done
  # FreeBSD's thr(2), umtx and kqueue have no Darwin counterpart among the BSD calls.
  if [ "$base" != threads ] && [ "$base" != kqueue ] && newer "$src" "$out/darwin-x86_64-$base"; then
    clang --target=x86_64-apple-macos10.8 "${cflags[@]}" -c -o "$out/darwin-$base.o" "$src"
    "${darwin_link[@]}" -o "$out/darwin-x86_64-$base" "$out/darwin-$base.o"
  fi
done

for src in freebsd/*.c; do
  base=$(basename "$src" .c)
  for arch in x86_64 i386; do
    newer "$src" "$out/freebsd-$arch-$base" || [ freebsd/signals.h -nt "$out/freebsd-$arch-$base" ] || continue
    clang --target=$arch-unknown-freebsd "${cflags[@]}" -c -o "$out/freebsd-$base.o" "$src"
    ld.lld -static -e _start -o "$out/freebsd-$arch-$base" "$out/freebsd-$base.o"
  done
done

# aout SOURCE.o KIND OUT: link at SunOS 4's addresses, then the a.out around the memory image.
aout() {
  case "$2" in zmagic) start=0x2020 align=0x2000 ;; nmagic) start=0x2000 align=0x2000 ;; omagic) start=0x2000 align=8 ;; esac
  sparc64-linux-gnu-ld -m elf32_sparc -T sunos4.ld --defsym TEXT_START=$start --defsym DATA_ALIGN=$align -o "$out/aout.elf" "$1"
  sparc64-linux-gnu-objcopy -O binary "$out/aout.elf" "$out/aout.bin"
  sparc64-linux-gnu-nm "$out/aout.elf" > "$out/aout.nm"
  python3 aout.py "$2" "$out/aout.bin" "$out/aout.nm" "$3"
  chmod +x "$3"
  rm -f "$out/aout.elf" "$out/aout.bin" "$out/aout.nm"
}
for src in asm/sunos4-sparc-*.s; do
  base=$(basename "$src" .s)
  newer "$src" "$out/$base" || newer aout.py "$out/$base" || continue
  sparc64-linux-gnu-as -32 -Av7 -o "$out/$base.o" "$src"
  aout "$out/$base.o" zmagic "$out/$base"
  if [ "$base" = sunos4-sparc-hello ]; then
    aout "$out/$base.o" nmagic "$out/$base-nmagic"
    aout "$out/$base.o" omagic "$out/$base-omagic"
  fi
done
for src in sunos4/*.c; do
  base=sunos4-sparc-$(basename "$src" .c)
  newer "$src" "$out/$base" || [ sunos4/sys.h -nt "$out/$base" ] || newer aout.py "$out/$base" || continue
  clang --target=sparc-unknown-none-elf "${cflags[@]}" -S -o "$out/$base.s" "$src"
  sparc64-linux-gnu-as -32 -Av7 -o "$out/$base.o" "$out/$base.s"
  aout "$out/$base.o" zmagic "$out/$base"
  rm -f "$out/$base.s"
done
rm -f "$out"/*.o
