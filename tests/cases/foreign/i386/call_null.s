.text
.global _start
_start:
	xor %eax,%eax
	call *%eax
