.data
L_message:
	.ascii "Hello, world!\n"
	.set L_message_len, . - L_message
.text
	.global _main
_main:
	mov     $0x2000004, %rax
	mov     $1,        %rdi
	lea     L_message(%rip),  %rsi
	mov     $L_message_len,   %rdx
	syscall
	mov     $0x2000001, %rax
	mov     $0,              %rdi
	syscall
