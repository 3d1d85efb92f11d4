# Calls libSystem's write(): its code is in the library, so only dyld could run this program.
.data
L_message:
	.ascii "needs libSystem\n"
.text
	.global _main
_main:
	push    %rbp
	mov     $1, %edi
	lea     L_message(%rip), %rsi
	mov     $16, %edx
	call    _write
	xor     %eax, %eax
	pop     %rbp
	ret
