; Reference 00, "Network: Socket Syscalls": the TCP server basics (socket -> bind -> listen ->
; accept -> write -> close) put together as a program. Two additions: SO_REUSEADDR, so a run
; soon after another can bind 8080 again, and a loop that answers two clients before it exits.
AF_INET: equ 2
SOCK_STREAM: equ 1
IPPROTO_TCP: equ 6
SOL_SOCKET: equ 1
SO_REUSEADDR: equ 2
CLIENTS: equ 2

section .bss
sockfd: resq 1
clientfd: resq 1
sockaddr: resb 16 ; struct sockaddr_in

section .data
one: dd 1
http_response: db "HTTP/1.0 200 OK", 13, 10
db "Content-Type: text/plain", 13, 10
db 13, 10
db "Hello from assembly!", 10
http_response_len: equ $ - http_response

section .text
global _start
_start:
    call create_socket
    mov rax, 54 ; sys_setsockopt(sockfd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
    mov rdi, [sockfd]
    mov rsi, SOL_SOCKET
    mov rdx, SO_REUSEADDR
    lea r10, [rel one]
    mov r8, 4
    syscall
    call bind_socket
    test rax, rax
    js fail
    call listen_socket
    mov r12, CLIENTS
serve:
    call accept_connection
    test rax, rax
    js fail
    call send_response
    mov rax, 3 ; sys_close(clientfd)
    mov rdi, [clientfd]
    syscall
    dec r12
    jnz serve
    mov rax, 60
    xor rdi, rdi
    syscall
fail:
    neg rax
    mov rdi, rax
    mov rax, 60
    syscall

create_socket:
    mov rax, 41 ; sys_socket
    mov rdi, AF_INET ; domain: IPv4
    mov rsi, SOCK_STREAM ; type: TCP
    mov rdx, IPPROTO_TCP ; protocol
    syscall
    mov [sockfd], rax
    ret

bind_socket:
    ; Set up sockaddr_in for 0.0.0.0:8080
    lea rdi, [rel sockaddr]
    mov WORD [rdi], AF_INET ; sin_family
    mov WORD [rdi + 2], 0x901f ; sin_port = htons(8080)
    mov DWORD [rdi + 4], 0 ; sin_addr = INADDR_ANY
    mov rax, 49 ; sys_bind
    mov rdi, [sockfd]
    lea rsi, [rel sockaddr]
    mov rdx, 16 ; sizeof(sockaddr_in)
    syscall
    ret

listen_socket:
    mov rax, 50 ; sys_listen
    mov rdi, [sockfd]
    mov rsi, 5 ; backlog
    syscall
    ret

accept_connection:
    mov rax, 43 ; sys_accept
    mov rdi, [sockfd]
    xor rsi, rsi ; addr: NULL (don't care who connected)
    xor rdx, rdx ; addrlen: NULL
    syscall
    mov [clientfd], rax ; Save client socket
    ret

send_response:
    mov rax, 1 ; sys_write (works for sockets too!)
    mov rdi, [clientfd]
    lea rsi, [rel http_response]
    mov rdx, http_response_len
    syscall
    ret
