package mmu

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fuzzOpSize is the width of one encoded operation; fuzzMaxOps bounds the
// operations run per input, so that executions (and the fuzzer's
// minimisation of long inputs) stay fast.
const (
	fuzzOpSize = 8
	fuzzMaxOps = 48
)

// Encoded operation kinds (the first byte of an op, modulo fuzzOps).
const (
	fuzzMap = iota
	fuzzMapHuge
	fuzzUnmap
	fuzzUnmapNoFlush
	fuzzProtect
	fuzzProtectNoFlush
	fuzzAccess
	fuzzReg
	fuzzInject
	fuzzFlushAll
	fuzzOps
)

// runFuzzOps decodes data into operations for the model rig: byte 0
// chooses the paging mode (bit 0) and the FreeEmptyTables policy (bit 1);
// then every 8 bytes are one operation, up to fuzzMaxOps. After each operation the rig's
// invariants must hold, and while software has flushed properly every
// outcome must match the flat reference.
func runFuzzOps(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	mode := FourLevel
	if data[0]&1 != 0 {
		mode = FiveLevel
	}
	r := newRig(mode, data[0]&2 != 0, t.Fatalf)
	prots, accs := rigProts(), rigAccesses()
	offs := []uint64{0, 8, 0x234, 0xffc, 0xffe, 0xfff}
	armed := false
	ops := data[1:]
	ops = ops[:min(len(ops), fuzzMaxOps*fuzzOpSize)]
	for ; len(ops) >= fuzzOpSize; ops = ops[fuzzOpSize:] {
		op := ops[:fuzzOpSize]
		slot, page, n := int(op[1]), int(op[2])%18, int(op[3])%4+1
		frame := int(op[4]) | int(op[5])<<8
		switch int(op[0]) % fuzzOps {
		case fuzzMap:
			r.mapPages(slotVA(slot, page), n, frame, prots[int(op[6])%len(prots)], false)
		case fuzzMapHuge:
			// 512 pages each: kept rare, as they make every check longer.
			r.mapPages(slotVA(slot, 0), n, frame, prots[int(op[6])%len(prots)], op[7]&3 == 0)
		case fuzzUnmap, fuzzUnmapNoFlush:
			r.unmapPages(slotVA(slot, page), n, int(op[0])%fuzzOps == fuzzUnmap)
		case fuzzProtect, fuzzProtectNoFlush:
			r.protectPages(slotVA(slot, page), n, prots[int(op[6])%len(prots)], int(op[0])%fuzzOps == fuzzProtect)
		case fuzzAccess:
			va := slotVA(slot, page) + offs[int(op[4])%len(offs)]
			r.access(va, []int{1, 2, 4, 8}[op[5]%4], accs[int(op[6])%len(accs)], op[7]&1 != 0, uint64(op[7])*0x0101010101010101)
		case fuzzReg:
			r.setReg(int(op[1]))
		case fuzzInject:
			// Fail the k-th frame allocation of the next operation.
			r.pm.SetFailHook(FailNth(uint64(op[1]%8) + 1))
			r.injected, armed = true, true
			continue
		case fuzzFlushAll:
			r.flushAll()
		}
		if armed {
			r.pm.SetFailHook(nil)
			armed = false
		}
		r.check()
	}
}

// FuzzMMU runs encoded operation sequences (map, map huge, unmap and
// protect with or without the TLB flush, loads and stores, register
// changes, injected allocation failures, flushes) against the flat
// reference. The seeds in testdata/fuzz/FuzzMMU come from fuzzSeeds.
func FuzzMMU(f *testing.F) {
	f.Fuzz(runFuzzOps)
}

// encodeOp encodes one operation.
func encodeOp(kind, a, b, c, d, e, g, h byte) []byte { return []byte{kind, a, b, c, d, e, g, h} }

// fuzzSeeds are small stories: each is also a regression test through
// the seed corpus.
func fuzzSeeds() [][]byte {
	cat := func(head byte, ops ...[]byte) []byte {
		b := []byte{head}
		for _, o := range ops {
			b = append(b, o...)
		}
		return b
	}
	return [][]byte{
		// 4-level: map two user pages, store across them, read back, unmap, fault.
		cat(0, encodeOp(fuzzMap, 0, 0, 1, 5, 0, 0, 0), encodeOp(fuzzAccess, 0, 0, 0, 3, 3, 4, 0x5b),
			encodeOp(fuzzAccess, 0, 0, 0, 3, 3, 3, 0), encodeOp(fuzzUnmap, 0, 1, 0, 0, 0, 0, 0), encodeOp(fuzzAccess, 0, 1, 0, 0, 3, 3, 0)),
		// 5-level with table freeing: a 2 MiB leaf, protect part of it (split), access both parts.
		cat(3, encodeOp(fuzzMapHuge, 4, 0, 0, 1, 0, 0, 0), encodeOp(fuzzProtect, 4, 3, 1, 0, 0, 1, 0),
			encodeOp(fuzzAccess, 4, 3, 0, 2, 3, 4, 7), encodeOp(fuzzAccess, 4, 2, 0, 2, 3, 4, 7), encodeOp(fuzzUnmap, 4, 0, 3, 0, 0, 0, 0)),
		// An allocation failure in the middle of a mapping across a PML4 boundary.
		cat(2, encodeOp(fuzzInject, 2, 0, 0, 0, 0, 0, 0), encodeOp(fuzzMap, 1, 6, 3, 9, 0, 0, 0), encodeOp(fuzzMap, 1, 6, 3, 9, 0, 0, 0),
			encodeOp(fuzzAccess, 1, 8, 0, 1, 3, 3, 0)),
		// Sloppy software: unmap without the flush, use the stale entry, then flush.
		cat(0, encodeOp(fuzzMap, 4, 2, 0, 7, 0, 4, 0), encodeOp(fuzzAccess, 4, 2, 0, 0, 3, 0, 0), encodeOp(fuzzUnmapNoFlush, 4, 2, 0, 0, 0, 0, 0),
			encodeOp(fuzzAccess, 4, 2, 0, 0, 3, 0, 0), encodeOp(fuzzFlushAll, 0, 0, 0, 0, 0, 0, 0), encodeOp(fuzzAccess, 4, 2, 0, 0, 3, 0, 0)),
		// Register changes between accesses: WP, SMAP, AC, NXE, PGE, CR3.
		cat(1, encodeOp(fuzzMap, 0, 0, 0, 1, 0, 1, 0), encodeOp(fuzzAccess, 0, 0, 0, 0, 3, 6, 0),
			encodeOp(fuzzReg, 1, 0, 0, 0, 0, 0, 0), encodeOp(fuzzAccess, 0, 0, 0, 0, 3, 6, 0), encodeOp(fuzzReg, 3, 0, 0, 0, 0, 0, 0),
			encodeOp(fuzzReg, 4, 0, 0, 0, 0, 0, 0), encodeOp(fuzzAccess, 0, 0, 0, 0, 3, 3, 0), encodeOp(fuzzReg, 0, 0, 0, 0, 0, 0, 0),
			encodeOp(fuzzReg, 5, 0, 0, 0, 0, 0, 0), encodeOp(fuzzReg, 6, 0, 0, 0, 0, 0, 0), encodeOp(fuzzAccess, 0, 0, 0, 0, 3, 7, 0)),
		// The top of the address space and the 4-level hole.
		cat(0, encodeOp(fuzzMap, 5, 4, 3, 0, 1, 4, 0), encodeOp(fuzzAccess, 5, 7, 0, 5, 3, 0, 0), encodeOp(fuzzMap, 2, 5, 3, 0, 0, 0, 0),
			encodeOp(fuzzAccess, 2, 7, 0, 5, 3, 3, 0), encodeOp(fuzzUnmap, 5, 0, 3, 0, 0, 0, 0)),
	}
}

// TestWriteFuzzSeeds writes fuzzSeeds into testdata/fuzz/FuzzMMU in Go's
// corpus format. It runs only with MMU_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("MMU_WRITE_SEEDS") != "1" {
		t.Skip("set MMU_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzMMU")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
