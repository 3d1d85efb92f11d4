; Reference 00, "File Operations Example": ./copy source dest
section .data
O_RDONLY: equ 0
O_WRONLY: equ 1
O_CREAT: equ 64
O_TRUNC: equ 512

section .bss
buf: resb 4096
src_fd: resq 1
dst_fd: resq 1

section .text
global _start
_start:
    mov rdi, [rsp]
    cmp rdi, 3
    jne usage_error
    mov rax, 2
    mov rdi, [rsp + 16]
    mov rsi, O_RDONLY
    syscall
    test rax, rax
    js open_error
    mov [src_fd], rax
    mov rax, 2
    mov rdi, [rsp + 24]
    mov rsi, O_WRONLY | O_CREAT | O_TRUNC
    mov rdx, 0644o
    syscall
    test rax, rax
    js open_error
    mov [dst_fd], rax
.copy_loop:
    mov rax, 0
    mov rdi, [src_fd]
    lea rsi, [rel buf]
    mov rdx, 4096
    syscall
    test rax, rax
    js read_error
    jz .done
    mov rdx, rax
    mov rax, 1
    mov rdi, [dst_fd]
    lea rsi, [rel buf]
    syscall
    test rax, rax
    js write_error
    jmp .copy_loop
.done:
    mov rax, 3
    mov rdi, [src_fd]
    syscall
    mov rax, 3
    mov rdi, [dst_fd]
    syscall
    mov rax, 60
    xor rdi, rdi
    syscall
open_error:
read_error:
write_error:
usage_error:
    mov rax, 60
    mov rdi, 1
    syscall
