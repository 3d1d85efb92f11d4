; The syscall instruction leaves RCX = the next instruction and R11 = RFLAGS; the kernel
; preserves every other register (reference 00, "Common Syscall Gotchas"; reference 04).
; Exit codes: 10 RCX, 11 R11, 12 flags, 13 a preserved register, 14 RSP, 15 error value.
section .data
ok: db "registers ok", 10
ok_len: equ $ - ok
missing: db "/nonexistent/trapeze", 0
saved_rsp: dq 0

%macro expect 2
    mov rax, %2
    cmp %1, rax
    jne preserved_fail
%endmacro

section .text
global _start
_start:
    mov [rel saved_rsp], rsp
    mov rbx, 0x1111111111111111
    mov rbp, 0x2222222222222222
    mov r12, 0x3333333333333333
    mov r13, 0x4444444444444444
    mov r14, 0x5555555555555555
    mov r15, 0x6666666666666666
    mov rdi, 0x7777777777777777
    mov rsi, 0x8888888888888888
    mov rdx, 0x9999999999999999
    mov r10, 0xaaaaaaaaaaaaaaaa
    mov r8,  0xbbbbbbbbbbbbbbbb
    mov r9,  0xcccccccccccccccc
    mov rcx, 0xdddddddddddddddd
    mov r11, 0xeeeeeeeeeeeeeeee
    stc
    pushfq
    mov rax, 110                 ; getppid ignores its arguments
    syscall
after:
    jnc flags_fail               ; CF set before the call survives it
    lea rax, [rel after]
    cmp rcx, rax
    jne rcx_fail
    pop rax
    cmp r11, rax
    jne r11_fail
    expect rbx, 0x1111111111111111
    expect rbp, 0x2222222222222222
    expect r12, 0x3333333333333333
    expect r13, 0x4444444444444444
    expect r14, 0x5555555555555555
    expect r15, 0x6666666666666666
    expect rdi, 0x7777777777777777
    expect rsi, 0x8888888888888888
    expect rdx, 0x9999999999999999
    expect r10, 0xaaaaaaaaaaaaaaaa
    expect r8,  0xbbbbbbbbbbbbbbbb
    expect r9,  0xcccccccccccccccc
    cmp rsp, [rel saved_rsp]
    jne rsp_fail

    ; Errors come back as -errno in RAX: open(missing) = -ENOENT, open(bad pointer) = -EFAULT.
    mov rax, 2
    lea rdi, [rel missing]
    xor rsi, rsi
    syscall
    cmp rax, -2
    jne value_fail
    mov rax, 2
    mov rdi, 8
    xor rsi, rsi
    syscall
    cmp rax, -14
    jne value_fail

    mov rax, 1
    mov rdi, 1
    lea rsi, [rel ok]
    mov rdx, ok_len
    syscall
    mov rax, 60
    xor rdi, rdi
    syscall

rcx_fail:      mov rdi, 10
               jmp quit
r11_fail:      mov rdi, 11
               jmp quit
flags_fail:    mov rdi, 12
               jmp quit
preserved_fail: mov rdi, 13
               jmp quit
rsp_fail:      mov rdi, 14
               jmp quit
value_fail:    mov rdi, 15
quit:
    mov rax, 60
    syscall
