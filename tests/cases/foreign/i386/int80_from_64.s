# int $0x80 from 64-bit code takes Linux's i386 compat entry (reference 04): i386 numbers, 32-bit
# arguments. The message lies below 4 GiB, so its address survives the cut to 32 bits.
# Built as x86-64 (the name says so to build.sh); runs natively too.
.data
msg: .ascii "compat int 0x80\n"
.text
.global _start
_start:
	mov $4, %eax          # i386 write
	mov $1, %ebx
	mov $msg, %ecx
	mov $16, %edx
	int $0x80
	mov $1, %eax          # i386 exit
	mov $7, %ebx
	int $0x80
