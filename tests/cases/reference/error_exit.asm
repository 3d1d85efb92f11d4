; Reference 00, "Error Handling Pattern": open a missing file, exit with the positive errno (2).
section .data
filename: db "/nonexistent/trapeze-test-file", 0

section .text
global _start
_start:
    mov rax, 2
    lea rdi, [rel filename]
    mov rsi, 0
    syscall
    test rax, rax
    js .error
    mov rax, 60
    xor rdi, rdi
    syscall
.error:
    neg rax
    mov rdi, rax
    mov rax, 60
    syscall
