# bench: title=CPU: threads_cpu, 400M hash rounds on 1 thread(s) (tests/cases/c/threads_cpu.c)
# bench: kind=cpu
# bench: args=1 400000000
# bench: quick-args=1 4000000
# bench: setup=[ -x "$SCRATCH/threads_cpu" ] || gcc -O2 -static -pthread -o "$SCRATCH/threads_cpu" "$ROOT/tests/cases/c/threads_cpu.c"
$SCRATCH/threads_cpu
