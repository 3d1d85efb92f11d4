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
		# write(STDOUT, message, message_len)
		push $.L_message_len
		push $.L_message
		push $.L_STDOUT
		push $0 # stack padding
		mov  $.L_SYSCALL_WRITE, %eax
		int  $0x80
		add  $16, %esp

		# exit(0)
		push $0 # exit code
		push $0 # stack padding
		mov  $.L_SYSCALL_EXIT, %eax
		int  $0x80
