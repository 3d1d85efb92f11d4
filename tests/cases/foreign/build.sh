#!/usr/bin/env bash
# Builds the i386 and ARM guest programs into tests/cases/foreign/build/ (not committed).
#   i386/*.s         as --32 + ld -m elf_i386                       -> i386-NAME
#                    (hello_vdso.s links through /lib/ld-linux.so.2 against a stub linux-gate.so.1)
#   i386/*_from_64.s as --64 + ld (x86-64 code using the i386 entry)  -> x86_64-NAME
#   arm/*.s          arm-linux-gnueabihf-as + ld                    -> arm-NAME
#   c/*.c            gcc -m32 -static / gcc -m32; clang ARM -static / dynamic
#                    -> NAME.i386-static, NAME.i386-dynamic, NAME.arm-static, NAME.arm-dynamic
#                    (the dynamic ARM ones find ld-linux-armhf.so.3 and libc in the sysroot: trapeze run --sysroot, qemu-arm -L)
# TestForeign in tests/Trapeze.Tests/ForeignArchTests.cs runs them against qemu-i386 / qemu-arm.
set -euo pipefail
cd "$(dirname "$0")"
out=build
mkdir -p "$out"
newer() { [ ! -e "$2" ] || [ "$1" -nt "$2" ]; }
arm_cc=(clang --target=arm-linux-gnueabihf --sysroot=/usr/arm-linux-gnueabihf
        -B/usr/lib/gcc-cross/arm-linux-gnueabihf/12 -L/usr/lib/gcc-cross/arm-linux-gnueabihf/12 -fuse-ld=lld)

# The stub linux-gate.so.1 of reference 02: the vDSO's soname, so ld.so takes __kernel_vsyscall from
# the vDSO. A real function definition, not --defsym __kernel_vsyscall=0: with that, Debian 12's ld
# copies the absolute symbol into the program, and ld.so binds the call to address 0.
if newer "$0" "$out/linux-gate.so.1"; then
  printf '.globl __kernel_vsyscall\n.type __kernel_vsyscall, @function\n__kernel_vsyscall:\n\tret\n' | as --32 -o "$out/stub.o"
  ld -m elf_i386 -shared -soname=linux-gate.so.1 -o "$out/linux-gate.so.1" "$out/stub.o"
fi

for src in i386/*.s; do
  base=$(basename "$src" .s)
  case "$base" in
    *_from_64)
      newer "$src" "$out/x86_64-$base" || continue
      as --64 -o "$out/$base.o" "$src" && ld -m elf_x86_64 -o "$out/x86_64-$base" "$out/$base.o" ;;
    hello_vdso)
      # Reference 02's dynamic build; glibc 2.36's ld.so also needs libc.so.6 loaded (calloc), natively too.
      newer "$src" "$out/i386-$base" || continue
      as --32 -o "$out/$base.o" "$src"
      ld -m elf_i386 -o "$out/i386-$base" "$out/$base.o" --dynamic-linker /lib/ld-linux.so.2 -L/usr/lib32 \
        -l:ld-linux.so.2 -l:libc.so.6 "$out/linux-gate.so.1" ;;
    *)
      newer "$src" "$out/i386-$base" || continue
      as --32 -o "$out/$base.o" "$src" && ld -m elf_i386 -o "$out/i386-$base" "$out/$base.o"
      if [ "$base" = hello ]; then
        ld -m elf_i386 -o "$out/i386-hello-dynamic" "$out/$base.o" --dynamic-linker /lib/ld-linux.so.2 -L/usr/lib32 -l:ld-linux.so.2 -l:libc.so.6
      fi ;;
  esac
done
for src in arm/*.s; do
  base=$(basename "$src" .s)
  newer "$src" "$out/arm-$base" || continue
  arm-linux-gnueabihf-as -EL -o "$out/$base.o" "$src" && arm-linux-gnueabihf-ld -m armelf_linux_eabi -o "$out/arm-$base" "$out/$base.o"
done
for src in c/*.c; do
  base=$(basename "$src" .c)
  newer "$src" "$out/$base.arm-dynamic" || continue
  # asm/*.h: x86's serve both word sizes; gcc -m32 looks for them under the absent i386-linux-gnu.
  gcc -m32 -O2 -static -pthread -idirafter /usr/include/x86_64-linux-gnu -o "$out/$base.i386-static" "$src" -lm -lrt
  gcc -m32 -O2 -pthread -idirafter /usr/include/x86_64-linux-gnu -o "$out/$base.i386-dynamic" "$src" -lm -lrt
  "${arm_cc[@]}" -O2 -static -pthread -o "$out/$base.arm-static" "$src" -lm -lrt
  # libc.so's linker script names absolute paths that lld would otherwise look for inside the sysroot again.
  "${arm_cc[@]}" -O2 -pthread -o "$out/$base.arm-dynamic" "$src" -lm -lrt -Wl,--sysroot=/
done
rm -f "$out"/*.o

# Debian's own busybox-static for i386 and armhf, unpacked, never installed (the packages' file
# lists need the foreign architectures in dpkg; apt-get download fetches only the .deb).
for arch in i386 armhf; do
  [ -x "$out/busybox-$arch/bin/busybox" ] && continue
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
    apt-get update -qq
  fi
  work=$(mktemp -d)
  (cd "$work" && apt-get download -qq "busybox-static:$arch")
  dpkg-deb -x "$work"/busybox-static_*.deb "$out/busybox-$arch"
  rm -rf "$work"
done
