.arch armv6
.data
	.set .L_STDOUT,        1
	.set .L_SYSCALL_EXIT,  1
	.set .L_SYSCALL_WRITE, 4
	.L_message:
		.ascii "Hello, world!\n"
	.set .L_message_len, . - .L_message

.text
	.global _start
	_start:
		@ write(STDOUT, message, message_len)
		mov %r7, #.L_SYSCALL_WRITE
		mov %r0, #.L_STDOUT
		ldr %r1, =.L_message
		mov %r2, #.L_message_len
		swi #0

		@ exit(0)
		mov %r7, #.L_SYSCALL_EXIT
		mov %r0, #0
		swi #0
