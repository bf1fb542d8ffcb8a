/*
 * Thumb-1 helpers gcc calls and libgcc would supply (port/arm/rt.c says why libgcc is not linked): the switch-table
 * dispatchers of gcc's Thumb-1 code, and the run-time ABI's 64-bit division, whose two 64-bit results come back in
 * r0:r1 (quotient) and r2:r3 (remainder), which C cannot return. ARMv4T only: returns use bx, never pop {pc} to
 * change state, no blx, no clz.
 */
	.syntax unified
	.thumb
	.text

/* Switch tables. r0: the case index; the table follows the caller's bl (lr, without its Thumb bit); entries are
   halfword counts (byte/halfword tables) or byte offsets from the table (word table) to add to the return address. */

	.global __gnu_thumb1_case_sqi
	.type __gnu_thumb1_case_sqi, %function
	.thumb_func
__gnu_thumb1_case_sqi:
	push	{r1}
	mov	r1, lr
	lsrs	r1, r1, #1
	lsls	r1, r1, #1
	ldrsb	r1, [r1, r0]
	lsls	r1, r1, #1
	add	lr, lr, r1
	pop	{r1}
	bx	lr

	.global __gnu_thumb1_case_uqi
	.type __gnu_thumb1_case_uqi, %function
	.thumb_func
__gnu_thumb1_case_uqi:
	push	{r1}
	mov	r1, lr
	lsrs	r1, r1, #1
	lsls	r1, r1, #1
	ldrb	r1, [r1, r0]
	lsls	r1, r1, #1
	add	lr, lr, r1
	pop	{r1}
	bx	lr

	.global __gnu_thumb1_case_shi
	.type __gnu_thumb1_case_shi, %function
	.thumb_func
__gnu_thumb1_case_shi:
	push	{r0, r1}
	mov	r1, lr
	lsrs	r1, r1, #1
	lsls	r0, r0, #1
	lsls	r1, r1, #1
	ldrsh	r1, [r1, r0]
	lsls	r1, r1, #1
	add	lr, lr, r1
	pop	{r0, r1}
	bx	lr

	.global __gnu_thumb1_case_uhi
	.type __gnu_thumb1_case_uhi, %function
	.thumb_func
__gnu_thumb1_case_uhi:
	push	{r0, r1}
	mov	r1, lr
	lsrs	r1, r1, #1
	lsls	r0, r0, #1
	lsls	r1, r1, #1
	ldrh	r1, [r1, r0]
	lsls	r1, r1, #1
	add	lr, lr, r1
	pop	{r0, r1}
	bx	lr

	.global __gnu_thumb1_case_si
	.type __gnu_thumb1_case_si, %function
	.thumb_func
__gnu_thumb1_case_si:
	push	{r0, r1}
	mov	r1, lr
	adds	r1, r1, #2		/* the word-aligned table after the call */
	lsrs	r1, r1, #2
	lsls	r0, r0, #2
	lsls	r1, r1, #2
	ldr	r0, [r1, r0]
	adds	r0, r0, r1
	adds	r0, r0, #1		/* stay in Thumb state */
	mov	lr, r0
	pop	{r0, r1}
	bx	lr

/* 64-bit division: n in r0:r1, d in r2:r3; quotient in r0:r1, remainder in r2:r3. The C helpers in rt.c take a
   pointer for the remainder (the fifth word, on the stack). */

	.global __aeabi_uldivmod
	.type __aeabi_uldivmod, %function
	.thumb_func
__aeabi_uldivmod:
	push	{r4, lr}
	sub	sp, sp, #16
	add	r4, sp, #8
	str	r4, [sp]
	bl	port_udivmod64
	b	1f

	.global __aeabi_ldivmod
	.type __aeabi_ldivmod, %function
	.thumb_func
__aeabi_ldivmod:
	push	{r4, lr}
	sub	sp, sp, #16
	add	r4, sp, #8
	str	r4, [sp]
	bl	port_sdivmod64
1:	ldr	r2, [sp, #8]
	ldr	r3, [sp, #12]
	add	sp, sp, #16
	ldr	r4, [sp, #4]		/* the return address */
	mov	ip, r4
	pop	{r4}
	add	sp, sp, #4
	bx	ip

	.section .note.GNU-stack,"",%progbits
