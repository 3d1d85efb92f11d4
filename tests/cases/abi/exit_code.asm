; exit_group with a status above 255: only the low byte reaches the parent.
section .text
global _start
_start:
    mov rax, 231
    mov rdi, 0x12a
    syscall
