! Reference 02's SunOS 4 hello (SPARC v7), as it is written there.
.seg "data"
	L_STDOUT        = 1
	L_SYSCALL_EXIT  = 1
	L_SYSCALL_WRITE = 4
	L_message:
		.ascii "Hello world!\n"
		L_message_len = . - L_message

.seg "text"
	.global _start
	_start:
		! write(STDOUT, message, message_len)
		mov L_SYSCALL_WRITE, %g1
		mov L_STDOUT,        %o0
		set L_message,       %o1
		set L_message_len,   %o2
		ta  0

		! exit(0)
		mov L_SYSCALL_EXIT, %g1
		mov 0,              %o0
		ta  0
