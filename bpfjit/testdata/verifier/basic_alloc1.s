# verifier_arena.c basic_alloc1 (tools/testing/selftests/bpf/progs), as
# clang -O2 compiles it for SEC("syscall"): allocate two pages of the arena,
# write them, fail a third allocation, free page2 and read it back as zero
# (a fixed-up fault), then reallocate it.
	r1 = arena ll
	r2 = 0
	r3 = 1
	r4 = -1
	r5 = 0
	call bpf_arena_alloc_pages
	r6 = r0
	r0 = 1
	if r6 == 0 goto out
	r1 = addr_space_cast(r6, 0, 1)
	w2 = 1
	*(u32 *)(r1 + 0) = w2
	r1 = arena ll
	r2 = 0
	r3 = 1
	r4 = -1
	r5 = 0
	call bpf_arena_alloc_pages
	r7 = r0
	r0 = 2
	if r7 == 0 goto out
	r1 = addr_space_cast(r7, 0, 1)
	w2 = 2
	*(u32 *)(r1 + 0) = w2
	r1 = arena ll
	r2 = 0
	r3 = 1
	r4 = -1
	r5 = 0
	call bpf_arena_alloc_pages
	r1 = r0
	r0 = 3
	if r1 != 0 goto out
	r1 = addr_space_cast(r6, 0, 1)
	w2 = *(u32 *)(r1 + 0)
	r0 = 4
	if w2 != 1 goto out
	r1 = addr_space_cast(r7, 0, 1)
	w2 = *(u32 *)(r1 + 0)
	r0 = 5
	if w2 != 2 goto out
	r1 = arena ll
	r2 = r7
	r3 = 1
	call bpf_arena_free_pages
	r1 = addr_space_cast(r6, 0, 1)
	w2 = *(u32 *)(r1 + 0)
	r0 = 6
	if w2 != 1 goto out
	r1 = addr_space_cast(r7, 0, 1)
	w2 = *(u32 *)(r1 + 0)
	r0 = 7
	if w2 != 0 goto out
	r1 = arena ll
	r2 = 0
	r3 = 1
	r4 = -1
	r5 = 0
	call bpf_arena_alloc_pages
	r8 = r0
	r0 = 8
	if r8 == 0 goto out
	r1 = addr_space_cast(r8, 0, 1)
	w2 = 3
	*(u32 *)(r1 + 0) = w2
	r0 = 9
	if r7 != r8 goto out
	r1 = addr_space_cast(r6, 0, 1)
	w2 = *(u32 *)(r1 + 0)
	r0 = 10
	if w2 != 1 goto out
	r0 = 0
out:
	exit
