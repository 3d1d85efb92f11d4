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
# A case's NAME.args (one line) holds its arguments; $TMP there is a scratch directory per run.
set -euo pipefail
cd "$(dirname "$0")"
out=build
mkdir -p "$out"
jobs=()

newer() { [ ! -e "$2" ] || [ "$1" -nt "$2" ]; }

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
      gcc -O2 -static -o "$out/$base.glibc-static" "$src" -lm
      gcc -O2 -o "$out/$base.glibc-dynamic" "$src" -lm
      musl-gcc -O2 -static -o "$out/$base.musl-static" "$src" -lm
      musl-gcc -O2 -o "$out/$base.musl-dynamic" "$src" -lm
      produced=("$base.glibc-static" "$base.glibc-dynamic" "$base.musl-static" "$base.musl-dynamic") ;;
    *) return 0 ;;
  esac
  for variant in "${produced[@]}"; do
    if [ -f "$dir/$base.args" ]; then cp "$dir/$base.args" "$out/$variant.args"; else rm -f "$out/$variant.args"; fi
  done
  return 0
}

for src in $(find . \( -path ./build -o -path ./limits -o -path ./foreign -o -path ./servers \) -prune -o -type f \( -name '*.asm' -o -name '*.s' -o -name '*.c' -o -name '*.ll' \) -print | sort); do
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
find "$out" -name '*.o' -delete
