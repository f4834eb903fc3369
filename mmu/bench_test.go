package mmu

import (
	"encoding/binary"
	"slices"
	"syscall"
	"testing"
	"time"
)

// benchPages is the working set of the hit benchmarks: it fits any TLB
// size used here.
const benchPages = 64

var benchSink uint64

// cpuTime returns the process's user plus system CPU time. On a loaded
// machine wall time per operation includes waiting for a core; CPU time
// does not (the neighbours' cache pressure remains).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the cpu-ns/op metric for the loop that started at start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// warmShadows walks to every page twice: the first walks give the tables
// their shadows, the second ones fill them, so that the timed loop
// allocates nothing.
func warmShadows(as *AddressSpace, vas []uint64) {
	for range 2 {
		for _, va := range vas {
			as.Invlpg(va)
			as.Load(va+8, 8, Read)
		}
	}
}

// median returns the middle value of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// benchSpace maps n kernel pages, stride bytes apart, to fresh frames and
// returns their addresses.
func benchSpace(b *testing.B, n int, stride uint64) (*AddressSpace, []uint64) {
	b.Helper()
	f := newFixture(b, FourLevel)
	vas := make([]uint64, n)
	for i := range vas {
		vas[i] = 0xffffc90000000000 + uint64(i)*stride
		f.mapPage(b, vas[i], PageKernel)
		f.pm.WritePhys64(f.entry(b, vas[i], LevelPT).Addr()+8, uint64(i))
	}
	return f.as, vas
}

// BenchmarkLoad64 compares an 8-byte read through the MMU with a TLB hit,
// the same read when every access misses the TLB and walks all four
// levels, and, as the baseline, a Go map lookup of the page's frame
// followed by the same 8-byte read.
func BenchmarkLoad64(b *testing.B) {
	b.Run("TLBHit", func(b *testing.B) {
		as, vas := benchSpace(b, benchPages, PageSize)
		for _, va := range vas {
			as.Load(va+8, 8, Read) // warm the TLB
		}
		misses := as.TLB().Stats().Misses
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		var sum uint64
		for i := range b.N {
			v, _ := as.Load(vas[i%benchPages]+8, 8, Read)
			sum += v
		}
		reportCPU(b, cpu)
		benchSink = sum
		b.ReportMetric(float64(as.TLB().Stats().Misses-misses)/float64(b.N), "walks/op")
	})
	b.Run("TLBMiss", func(b *testing.B) {
		// Pages one TLB-size apart share a TLB slot, so each access evicts
		// the previous one and walks; the tables stay in the host's cache.
		as, vas := benchSpace(b, 8, DefaultTLBEntries*PageSize)
		warmShadows(as, vas)
		misses := as.TLB().Stats().Misses
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		var sum uint64
		for i := range b.N {
			v, _ := as.Load(vas[i%8]+8, 8, Read)
			sum += v
		}
		reportCPU(b, cpu)
		benchSink = sum
		b.ReportMetric(float64(as.TLB().Stats().Misses-misses)/float64(b.N), "walks/op")
	})
	b.Run("MissOverHit", func(b *testing.B) {
		// The two cases above run seconds apart, and on a shared machine
		// the load changes in between. Here they alternate in blocks of
		// a few microseconds, so both see the same load; the medians of
		// the blocks' times per access give the ratio.
		hitAS, hitVAs := benchSpace(b, benchPages, PageSize)
		for _, va := range hitVAs {
			hitAS.Load(va+8, 8, Read)
		}
		missAS, missVAs := benchSpace(b, 8, DefaultTLBEntries*PageSize)
		warmShadows(missAS, missVAs)
		const block = 512
		hits := make([]float64, 0, b.N/block+1)
		misses := make([]float64, 0, b.N/block+1)
		b.ReportAllocs()
		b.ResetTimer()
		var sum uint64
		for n := 0; n < b.N; n += block {
			t0 := time.Now()
			for i := range block {
				v, _ := hitAS.Load(hitVAs[i%benchPages]+8, 8, Read)
				sum += v
			}
			t1 := time.Now()
			for i := range block {
				v, _ := missAS.Load(missVAs[i%8]+8, 8, Read)
				sum += v
			}
			hits = append(hits, float64(t1.Sub(t0))/block)
			misses = append(misses, float64(time.Since(t1))/block)
		}
		b.StopTimer()
		benchSink = sum
		h, m := median(hits), median(misses)
		b.ReportMetric(h, "hit-ns")
		b.ReportMetric(m, "miss-ns")
		b.ReportMetric(m/h, "miss/hit")
	})
	b.Run("GoMap", func(b *testing.B) {
		as, vas := benchSpace(b, benchPages, PageSize)
		frames := make(map[uint64]*[PageSize]byte, benchPages)
		for _, va := range vas {
			l, _ := as.PageTable().Lookup(va)
			frames[va] = as.PhysMem().frame(PhysPFN(l.PhysAddr(va)))
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		var sum uint64
		for i := range b.N {
			va := vas[i%benchPages] + 8
			sum += binary.LittleEndian.Uint64(frames[va&^pageOffsetMask][va&pageOffsetMask:])
		}
		reportCPU(b, cpu)
		benchSink = sum
	})
}

// BenchmarkStore64TLBHit is an 8-byte write with a TLB hit.
func BenchmarkStore64TLBHit(b *testing.B) {
	as, vas := benchSpace(b, benchPages, PageSize)
	for _, va := range vas {
		as.Store(va, 8, 0, Read)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		as.Store(vas[i%benchPages], 8, uint64(i), Read)
	}
	reportCPU(b, cpu)
}

// BenchmarkMap1Mi maps 1 Mi 4 KiB pages (4 GiB) into an empty page table:
// as one physically contiguous range (Map), and as a list of frames
// (MapPages, what vmap does). It reports the page-table bytes allocated
// and their share of the mapped bytes (ideal: 1/512 = 0.00195).
func BenchmarkMap1Mi(b *testing.B) {
	const pages = 1 << 20
	const va, pa = 0xffffc90000000000, 1 << 32
	pfns := make([]PFN, pages)
	for i := range pfns {
		pfns[i] = PhysPFN(pa) + PFN(i)
	}
	for _, c := range []struct {
		name string
		do   func(pt *PageTable) error
	}{
		{"Range", func(pt *PageTable) error { return pt.Map(va, pages*PageSize, pa, PageKernel) }},
		{"Pages", func(pt *PageTable) error { return pt.MapPages(va, pfns, PageKernel) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var tables int
			for range b.N {
				b.StopTimer()
				pm, err := NewPhysMem(PhysMemConfig{})
				if err != nil {
					b.Fatal(err)
				}
				pt, err := NewPageTable(pm, PageTableConfig{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := c.do(pt); err != nil {
					b.Fatal(err)
				}
				tables = pt.TableFrames()
			}
			b.ReportMetric(float64(tables*PageSize), "pt-bytes")
			b.ReportMetric(float64(tables*PageSize)/float64(pages*PageSize), "pt-bytes/mapped-byte")
		})
	}
}

// BenchmarkMapUnmapPage maps one 4 KiB page and unmaps it again, at a new
// slot each time over 64 MiB of existing tables: the page-table half of
// vm_area_map_pages and vm_area_unmap_pages.
func BenchmarkMapUnmapPage(b *testing.B) {
	f := newFixture(b, FourLevel)
	pfn := f.frame(b)
	const base, slots = 0xffffc90000000000, 1 << 14
	if err := f.pt.AllocTables(base, base+slots*PageSize, LevelPT); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		va := base + uint64(i%slots)*PageSize
		if err := f.pt.MapPage(va, pfn, PageKernel); err != nil {
			b.Fatal(err)
		}
		if err := f.pt.Unmap(va, PageSize, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkLookup is the software walk of vmalloc_to_page over 1024
// mapped pages.
func BenchmarkLookup(b *testing.B) {
	as, vas := benchSpace(b, 1024, PageSize)
	pt := as.PageTable()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		if _, ok := pt.Lookup(vas[i%1024] + 8); !ok {
			b.Fatal("lost")
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkWalk is the teaching view: a recorded dry-run walk.
func BenchmarkWalk(b *testing.B) {
	as, vas := benchSpace(b, 1, PageSize)
	b.ReportAllocs()
	for range b.N {
		r := as.Walk(vas[0], Read)
		benchSink += r.PA
	}
}
