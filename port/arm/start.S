/*
 * Linux user-mode entry and system calls for the ARM build of the POSIX host (run under qemu-arm; a firmware has
 * neither: see port/host_stub.c). ARM state, ARMv4T instructions only.
 */
	.syntax unified
	.arm
	.text

/* The kernel starts a static executable here, in ARM state: argc at [sp], argv after it. */
	.global _start
	.type _start, %function
_start:
	mov	fp, #0
	ldr	r0, [sp]
	add	r1, sp, #4
	bic	sp, sp, #7
	ldr	r3, =port_start
	mov	lr, pc
	bx	r3
1:	b	1b

/* long port_syscall(long number, long a, long b, long c): EABI, number in r7, svc 0; -errno on failure. */
	.global port_syscall
	.type port_syscall, %function
port_syscall:
	push	{r7, lr}
	mov	r7, r0
	mov	r0, r1
	mov	r1, r2
	mov	r2, r3
	svc	#0
	pop	{r7, lr}
	bx	lr

	.section .note.GNU-stack,"",%progbits
