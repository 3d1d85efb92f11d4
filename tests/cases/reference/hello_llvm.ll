; Reference 02, "Linux: x86-64 (LLVM IR)".
@.message = internal constant [14 x i8] c"Hello, world!\0A"

define void @_start() {
	%message_ptr = getelementptr [14 x i8], [14 x i8]* @.message , i64 0, i64 0

	; write(STDOUT, message, message_len)
	call i64 asm sideeffect "syscall",
		"={rax},{rax},{rdi},{rsi},{rdx},~{rcx},~{r11},~{dirflag},~{fpsr},~{flags}"
		( i64 1            ; {rax} SYSCALL_WRITE
		, i64 1            ; {rdi} STDOUT
		, i8* %message_ptr ; {rsi} message
		, i64 14           ; {rdx} message_len
		)

	; exit(0)
	call i64 asm sideeffect "syscall",
		"={rax},{rax},{rdi},~{rcx},~{r11},~{dirflag},~{fpsr},~{flags}"
		( i64 60 ; {rax} SYSCALL_EXIT
		, i64 0  ; {rdi} exit_code
		)

	ret void
}
