; Reference 00, "Process Control: fork/exec": fork, execve("/bin/ls", ["ls", "-la"], []), wait4.
; The fragment is the reference's, unchanged; _start runs it in a directory whose listing does not
; change while tests run, then exits with the child's exit status.
section .data
cmd: db "/bin/ls", 0
arg0: db "ls", 0
arg1: db "-la", 0
argv: dq arg0, arg1, 0 ; NULL-terminated array of pointers
envp: dq 0 ; Empty environment
directory: db "/etc/apt", 0

section .text
global _start
_start:
    mov rax, 80 ; sys_chdir
    lea rdi, [rel directory]
    syscall
    sub rsp, 8 ; keep the stack 16-byte aligned around the call
    call fork_exec
    mov edi, [rsp - 16] ; the status word wait4 stored below the return address
    shr edi, 8
    and edi, 0xff ; WEXITSTATUS
    mov rax, 60
    syscall

fork_exec:
; fork()
mov rax, 57 ; sys_fork
syscall
test rax, rax
js fork_error
jnz parent ; Parent: rax = child PID
; Child continues here (rax = 0)
child:
; execve("/bin/ls", argv, envp)
mov rax, 59 ; sys_execve
lea rdi, [rel cmd] ; pathname
lea rsi, [rel argv] ; argv array
lea rdx, [rel envp] ; envp array
syscall
; If we get here, execve failed
mov rax, 60
mov rdi, 1
syscall
parent:
mov r12, rax ; Save child PID
; wait4(pid, &status, 0, NULL)
mov rax, 61 ; sys_wait4
mov rdi, r12 ; pid
sub rsp, 8
mov rsi, rsp ; &status
xor rdx, rdx ; options: 0
xor r10, r10 ; rusage: NULL
syscall
; Exit status in [rsp]
add rsp, 8
ret
fork_error:
; Handle error
ret
