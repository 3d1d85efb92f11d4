; Reference 00, "Memory Mapping (mmap)": allocate_page, free_page and map_file, in a program that
; maps argv[1] with fstat + mmap, writes the mapping to stdout, and uses and frees an anonymous page.
PROT_READ: equ 1
PROT_WRITE: equ 2
MAP_PRIVATE: equ 2
MAP_ANON: equ 32
O_RDONLY: equ 0

section .text
global _start
_start:
    mov rdi, [rsp + 16]          ; argv[1]
    call map_file
    test rax, rax
    js fail
    mov rsi, rax                 ; write(1, mapping, size)
    mov rdx, r13
    mov rax, 1
    mov rdi, 1
    syscall

    call allocate_page
    test rax, rax
    js fail
    mov byte [rax], 'o'
    mov byte [rax + 1], 'k'
    mov byte [rax + 2], 10
    mov rbx, rax
    mov rax, 1
    mov rdi, 1
    mov rsi, rbx
    mov rdx, 3
    syscall
    mov rdi, rbx
    mov rsi, 4096
    call free_page
    test rax, rax
    jnz fail

    mov rax, 60
    xor rdi, rdi
    syscall
fail:
    mov rax, 60
    mov rdi, 1
    syscall

allocate_page:
    mov rax, 9
    xor rdi, rdi
    mov rsi, 4096
    mov rdx, PROT_READ | PROT_WRITE
    mov r10, MAP_PRIVATE | MAP_ANON
    mov r8, -1
    xor r9, r9
    syscall
    ret

free_page:
    mov rax, 11
    syscall
    ret

; rdi = filename; returns rax = mapping, r13 = size
map_file:
    mov rax, 2
    mov rsi, O_RDONLY
    syscall
    test rax, rax
    js .out
    mov r12, rax
    mov rax, 5
    mov rdi, r12
    sub rsp, 144
    mov rsi, rsp
    syscall
    mov rsi, [rsp + 48]
    add rsp, 144
    mov r13, rsi
    mov rax, 9
    xor rdi, rdi
    mov rdx, PROT_READ
    mov r10, MAP_PRIVATE
    mov r8, r12
    xor r9, r9
    syscall
.out:
    ret
