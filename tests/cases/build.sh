#!/usr/bin/env bash
# Builds every guest program under tests/cases into tests/cases/build/ (not committed).
#   *.asm            nasm -f elf64 + ld                      -> NAME
#   *.libc.asm       nasm + gcc -static, and gcc -no-pie     -> NAME.static, NAME.dynamic
#   *.s              as --64 + ld                            -> NAME
#   *.start.c        gcc -c + ld, no libc (defines _start)   -> NAME
#   *.ll             llc + ld                                -> NAME
#   *.c              gcc -static, gcc (PIE, dynamic), musl-gcc -static, musl-gcc (PIE, ld-musl)
#                                                            -> NAME.glibc-static, NAME.glibc-dynamic, NAME.musl-static, NAME.musl-dynamic
#   limits/*.c       gcc -static -> limits/NAME (never run natively: fork bombs and the like)
#   servers/*.asm    nasm + ld -> servers/NAME (servers that wait for clients: the network tests drive them)
#   go/NAME/         CGO_ENABLED=0 go build -> go/NAME (static; Go's cache in build/go/cache); also NAME when go/NAME/differential exists
# A case's NAME.args (one line) holds its arguments; $TMP there is a scratch directory per run.
set -euo pipefail
cd "$(dirname "$0")"
out=build
mkdir -p "$out"
jobs=()

newer() { [ ! -e "$2" ] || [ "$1" -nt "$2" ]; }

# musl's include path has no kernel headers: a directory of links to the uapi ones (and liburing's).
musl_kernel_headers() {
  local dir=$out/musl-include
  mkdir -p "$dir"
  ln -sfn /usr/include/linux "$dir/linux"
  ln -sfn /usr/include/asm-generic "$dir/asm-generic"
  ln -sfn /usr/include/x86_64-linux-gnu/asm "$dir/asm"
  ln -sf /usr/include/liburing.h "$dir/liburing.h"
  ln -sfn /usr/include/liburing "$dir/liburing"
  realpath "$dir"
}

build_one() {
  local src=$1 dir name base
  local -a produced=()
  dir=$(dirname "$src"); name=$(basename "$src")
  case "$name" in
    *.libc.asm)
      base=${name%.libc.asm}
      newer "$src" "$out/$base.dynamic" || return 0 # the last variant built
      nasm -f elf64 "$src" -o "$out/$base.o"
      gcc -static "$out/$base.o" -o "$out/$base.static"
      gcc -no-pie "$out/$base.o" -o "$out/$base.dynamic"
      produced=("$base.static" "$base.dynamic") ;;
    *.asm)
      base=${name%.asm}
      newer "$src" "$out/$base" || return 0
      nasm -f elf64 "$src" -o "$out/$base.o"
      ld "$out/$base.o" -o "$out/$base"
      produced=("$base") ;;
    *.s)
      base=${name%.s}
      newer "$src" "$out/$base" || return 0
      as --64 -o "$out/$base.o" "$src"
      ld -m elf_x86_64 -o "$out/$base" "$out/$base.o"
      produced=("$base") ;;
    *.start.c)
      base=${name%.start.c}
      newer "$src" "$out/$base" || return 0
      gcc -m64 -O1 -fno-stack-protector -c -o "$out/$base.o" "$src"
      ld -m elf_x86_64 -o "$out/$base" "$out/$base.o"
      produced=("$base") ;;
    *.ll)
      base=${name%.ll}
      newer "$src" "$out/$base" || return 0
      llc -o "$out/$base.o" "$src" -filetype=obj
      ld -m elf_x86_64 -o "$out/$base" "$out/$base.o"
      produced=("$base") ;;
    *.c)
      base=${name%.c}
      newer "$src" "$out/$base.musl-dynamic" || return 0 # the last variant built
      local -a glibc_libs=() musl_libs=()
      # NAME.libs names libraries a case links: liburing is Debian's glibc build, but it calls the
      # kernel itself, so musl links its archive statically, with the kernel's uapi headers.
      if [ -f "$dir/$base.libs" ] && grep -qw liburing "$dir/$base.libs"; then
        glibc_libs=(-luring)
        musl_libs=(-I"$(musl_kernel_headers)" /usr/lib/x86_64-linux-gnu/liburing.a)
      fi
      gcc -O2 -static -o "$out/$base.glibc-static" "$src" "${glibc_libs[@]}" -lm
      gcc -O2 -o "$out/$base.glibc-dynamic" "$src" "${glibc_libs[@]}" -lm
      musl-gcc -O2 -static -o "$out/$base.musl-static" "$src" "${musl_libs[@]}" -lm
      musl-gcc -O2 -o "$out/$base.musl-dynamic" "$src" "${musl_libs[@]}" -lm
      produced=("$base.glibc-static" "$base.glibc-dynamic" "$base.musl-static" "$base.musl-dynamic") ;;
    *) return 0 ;;
  esac
  for variant in "${produced[@]}"; do
    if [ -f "$dir/$base.args" ]; then cp "$dir/$base.args" "$out/$variant.args"; else rm -f "$out/$variant.args"; fi
  done
  return 0
}

for src in $(find . \( -path ./build -o -path ./limits -o -path ./foreign -o -path ./other-os -o -path ./servers -o -path ./go -o -path ./debug -o -path ./deterministic \) -prune -o -type f \( -name '*.asm' -o -name '*.s' -o -name '*.c' -o -name '*.ll' \) -print | sort); do
  build_one "$src"
done

# limits/*.c: guests that must not run natively (a fork bomb), glibc static, into build/limits/.
mkdir -p "$out/limits"
for src in limits/*.c; do
  target="$out/limits/$(basename "${src%.c}")"
  if newer "$src" "$target"; then gcc -O2 -static -o "$target" "$src"; fi
done
# servers/*.asm: programs that wait for clients (never run by DifferentialTests), into build/servers/.
mkdir -p "$out/servers"
for src in servers/*.asm; do
  target="$out/servers/$(basename "${src%.asm}")"
  if newer "$src" "$target"; then nasm -f elf64 "$src" -o "$target.o" && ld "$target.o" -o "$target"; fi
done
# debug/*.c: programs the gdb tests debug, built -g -O0 (glibc static and dynamic PIE) into build/debug/.
mkdir -p "$out/debug"
for src in debug/*.c; do
  target="$out/debug/$(basename "${src%.c}")"
  if newer "$src" "$target.dynamic"; then
    gcc -g -O0 -static -pthread -o "$target.static" "$src"
    gcc -g -O0 -pthread -o "$target.dynamic" "$src"
  fi
done
# deterministic/*.c: programs run twice with --deterministic (glibc static and dynamic) into build/deterministic/.
mkdir -p "$out/deterministic"
for src in deterministic/*.c; do
  target="$out/deterministic/$(basename "${src%.c}")"
  if newer "$src" "$target.dynamic"; then
    gcc -O2 -static -pthread -o "$target.static" "$src"
    gcc -O2 -pthread -o "$target.dynamic" "$src"
  fi
done
# go/NAME/: static Go programs (CGO_ENABLED=0) -> build/go/NAME, with the Go build cache under build/go/cache.
mkdir -p "$out/go"
for dir in go/*/; do
  name=$(basename "$dir")
  if [ -n "$(find "$dir" -newer "$out/go/$name" 2>/dev/null)" ] || [ ! -e "$out/go/$name" ]; then
    (cd "$dir" && CGO_ENABLED=0 GOCACHE="$OLDPWD/$out/go/cache" GOFLAGS=-mod=mod go build -trimpath -o "$OLDPWD/$out/go/$name" .)
  fi
  # A program that runs to completion on its own (go/NAME/differential says so) is also a differential case.
  if [ -e "$dir/differential" ] && newer "$out/go/$name" "$out/$name"; then cp "$out/go/$name" "$out/$name"; fi
done
find "$out" -name '*.o' -delete
