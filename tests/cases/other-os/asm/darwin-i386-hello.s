# Reference 02's Darwin i386 hello world (without .macosx_version_min, which GNU as does not know).
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
		mov %eax, %esi

		# write(STDOUT, message, message_len)
		push $L_message_len
		lea  L_message-_main(%esi), %eax
		push %eax
		push $L_STDOUT
		push $0 # stack padding
		mov  $L_SYSCALL_WRITE, %eax
		int  $0x80
		add  $16, %esp

		# exit(0)
		push $0 # exit code
		push $0 # stack padding
		mov  $L_SYSCALL_EXIT, %eax
		int  $0x80
