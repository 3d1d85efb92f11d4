/* A SIGSEGV handler (sigaction(2) with SA_SIGINFO): a load from an unmapped page gives si_code
 * SEGV_MAPERR (1) and si_addr the address, a store to a read-only page SEGV_ACCERR (2); mc_trapno
 * is T_PAGEFLT (12, machine/trap.h). The handler skips the faulting two-byte instruction by moving the
 * program counter in its ucontext_t and sets the counter register there, which sigreturn(2) loads. */
#include "signals.h"

static volatile long faults, code, trapno, address_ok;
static volatile unsigned long expected;

static void handler(int signal, siginfo_t *info, ucontext_t *context)
{
  faults++;
  code = info->si_code;
  trapno = context->uc_mcontext.mc_trapno;
  address_ok = (unsigned long)info->si_addr == expected;
  context->uc_mcontext.mc_pc += 2;
  context->uc_mcontext.mc_counter = 42;
}

/* mov (%eax),%ecx and mov %ecx,(%eax) are two bytes each (8b 08, 89 08), in both modes. */
static long load(unsigned long address)
{
  long value = 0;
  __asm__ volatile(".byte 0x8b, 0x08" : "+c"(value) : "a"(address) : "memory");
  return value;
}

static long store(unsigned long address)
{
  long value = 7;
  __asm__ volatile(".byte 0x89, 0x08" : "+c"(value) : "a"(address) : "memory");
  return value;
}

void ENTRY(void)
{
  line("sigaction", action(SIGSEGV, handler, SA_SIGINFO, 0));
  expected = 0x1000;
  line("load after the skipped fault", load(expected));
  line("faults", faults);
  line("SEGV_MAPERR", code);
  line("T_PAGEFLT", trapno);
  line("si_addr", address_ok);
  long page = call6(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANON, -1, 0);
  expected = page;
  line("store to a read-only page", store(page));
  line("faults", faults);
  line("SEGV_ACCERR", code);
  line("si_addr", address_ok);
  line("the process goes on", 1);
  leave(0);
}
