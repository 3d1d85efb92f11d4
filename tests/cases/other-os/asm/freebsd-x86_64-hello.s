.data
	.set L_STDOUT,        1
	.set L_SYSCALL_EXIT,  1
	.set L_SYSCALL_WRITE, 4
	L_message:
		.ascii "Hello, world!\n"
		.set L_message_len, . - L_message

.text
	.global _main
	_main:
		mov     $L_SYSCALL_WRITE, %rax
		mov     $L_STDOUT,        %rdi
		mov     $L_message,       %rsi
		mov     $L_message_len,   %rdx
		syscall
		mov     $L_SYSCALL_EXIT, %rax
		mov     $0,              %rdi
		syscall
