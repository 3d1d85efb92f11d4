.macosx_version_min 10, 8

.data
	.set L_STDOUT,        1
	.set L_SYSCALL_EXIT,  0x2000001
	.set L_SYSCALL_WRITE, 0x2000004
	L_message:
		.ascii "Hello, world!\n"
		.set L_message_len, . - L_message

.text
	.global _main
	_main:
		# write(STDOUT, message, message_len)
		mov     $L_SYSCALL_WRITE, %rax
		mov     $L_STDOUT,        %rdi
		lea     L_message(%rip),  %rsi
		mov     $L_message_len,   %rdx
		syscall

		# exit(0)
		mov     $L_SYSCALL_EXIT, %rax
		mov     $0,              %rdi
		syscall
