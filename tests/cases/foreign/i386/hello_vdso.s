.extern __kernel_vsyscall
.data
	.set .L_STDOUT,        1
	.set .L_SYSCALL_WRITE, 4
	.set .L_SYSCALL_EXIT,  1
	.L_message:
		.ascii "Hello, world!\n"
		.set .L_message_len, . - .L_message
.text
	.global _start
	_start:
		call .L_get_pc_thunk.esi
		add  $_GLOBAL_OFFSET_TABLE_, %esi
		mov  $.L_SYSCALL_WRITE, %eax
		mov  $.L_STDOUT,        %ebx
		mov  $.L_message,       %ecx
		mov  $.L_message_len,   %edx
		call *__kernel_vsyscall@GOT(%esi)
		mov  $.L_SYSCALL_EXIT, %eax
		mov  $0,               %ebx
		call *__kernel_vsyscall@GOT(%esi)
	.L_get_pc_thunk.esi:
		mov (%esp), %esi
		ret
