; Reference 00, "Interfacing with C Library": printf and exit from libc.
extern printf
extern exit

section .data
fmt: db "The answer is: %d", 10, 0

section .text
global main
main:
    sub rsp, 8
    lea rdi, [rel fmt]
    mov esi, 42
    xor eax, eax
    call printf
    xor edi, edi
    call exit
