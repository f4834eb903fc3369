# verifier_arena.c basic_alloc2: a two-page allocation; page2 = page1 +
# PAGE_SIZE, page3 = page1 + 2 * PAGE_SIZE and page4 = page1 - PAGE_SIZE are
# computed on the as(1) pointer and cast before each byte access. Writes
# to page3 and page4 fault and are dropped; reads of them give 0.
	r1 = arena ll
	r2 = 0
	r3 = 2
	r4 = -1
	r5 = 0
	call bpf_arena_alloc_pages
	r6 = r0
	r0 = 1
	if r6 == 0 goto out
	r7 = r6
	r7 += 4096
	r8 = r6
	r8 += 8192
	r9 = r6
	r9 += -4096
	r1 = addr_space_cast(r6, 0, 1)
	w2 = 1
	*(u8 *)(r1 + 0) = w2
	r1 = addr_space_cast(r7, 0, 1)
	w2 = 2
	*(u8 *)(r1 + 0) = w2
	r1 = addr_space_cast(r8, 0, 1)
	w2 = 3
	*(u8 *)(r1 + 0) = w2
	r1 = addr_space_cast(r9, 0, 1)
	w2 = 4
	*(u8 *)(r1 + 0) = w2
	r1 = addr_space_cast(r6, 0, 1)
	w2 = *(u8 *)(r1 + 0)
	r0 = 1
	if w2 != 1 goto out
	r1 = addr_space_cast(r7, 0, 1)
	w2 = *(u8 *)(r1 + 0)
	r0 = 2
	if w2 != 2 goto out
	r1 = addr_space_cast(r8, 0, 1)
	w2 = *(u8 *)(r1 + 0)
	r0 = 3
	if w2 != 0 goto out
	r1 = addr_space_cast(r9, 0, 1)
	w2 = *(u8 *)(r1 + 0)
	r0 = 4
	if w2 != 0 goto out
	r1 = arena ll
	r2 = r6
	r3 = 2
	call bpf_arena_free_pages
	r1 = addr_space_cast(r6, 0, 1)
	w2 = *(u8 *)(r1 + 0)
	r0 = 5
	if w2 != 0 goto out
	r1 = addr_space_cast(r7, 0, 1)
	w2 = *(u8 *)(r1 + 0)
	r0 = 6
	if w2 != 0 goto out
	r0 = 0
out:
	exit
