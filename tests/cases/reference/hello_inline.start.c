/* Reference 02, "Linux: x86-64 (GNU C)": inline assembly, linked with ld and no libc. */
static const int STDOUT = 1;
static const int SYSCALL_EXIT = 60;
static const int SYSCALL_WRITE = 1;
static const char message[] = "Hello, world!\n";
static const int message_len = sizeof(message);

void _start() {
	{   /* write(STDOUT, message, message_len) */
		register int         rax __asm__ ("rax") = SYSCALL_WRITE;
		register int         rdi __asm__ ("rdi") = STDOUT;
		register const char *rsi __asm__ ("rsi") = message;
		register int         rdx __asm__ ("rdx") = message_len;
		__asm__ __volatile__ ("syscall"
			: "+r" (rax)
			: "r" (rax), "r" (rdi), "r" (rsi), "r" (rdx)
			: "rcx", "r11");
	}

	{   /* exit(0) */
		register int rax __asm__ ("rax") = SYSCALL_EXIT;
		register int rdi __asm__ ("rdi") = 0;
		__asm__ __volatile__ ("syscall"
			:
			: "r" (rax), "r" (rdi)
			: "rcx", "r11");
	}
}
