.data
desc: .long -1, tlsdata, 0xfffff, 0x51
tlsdata: .long tlsdata, 0x41414141
msg: .ascii "ok\n"
.text
.global _start
_start:
	mov $243, %eax
	mov $desc, %ebx
	int $0x80
	mov desc, %eax
	lea 3(,%eax,8), %eax
	mov %eax, %gs
	push %eax
	mov %gs:4, %eax
	cmp $0x41414141, %eax
	jne bad
	mov $4, %eax
	mov $1, %ebx
	mov $msg, %ecx
	mov $3, %edx
	int $0x80
	mov $1, %eax
	mov $0, %ebx
	int $0x80
bad:
	mov $1, %eax
	mov $9, %ebx
	int $0x80
