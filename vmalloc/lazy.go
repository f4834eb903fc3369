package vmalloc

import (
	"fmt"

	"github.com/arenasim/arenasim/internal/trace"
)

// freeLazy parks an unmapped area on its node's lazy list until a purge
// flushes the TLB for it (free_vmap_area_noflush). The range is then
// neither busy nor free. When more than LazyMaxPages pages are lazy, the
// purge runs at once: the kernel schedules it as work, the model runs it
// synchronously so that the same calls give the same addresses.
func (a *Allocator) freeLazy(va *vmapArea) {
	if onList(va) {
		a.warnf("free_vmap_area_noflush: area 0x%x-0x%x still listed", va.start, va.end)
		return
	}
	a.lazyNr += va.size() >> PageShift
	nrLazy := a.lazyNr
	va.vm = nil
	vn := a.addrToNode(va.start)
	if id := a.decodeVnID(va.flags); a.vnIDValid(id) {
		vn = &a.nodes[id]
	}
	if !insertVA(va, &vn.lazy, nil) {
		a.warnf("vmalloc bug: lazy area 0x%x-0x%x overlaps", va.start, va.end)
	}
	if a.tr.On(trace.VMap) {
		a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: va.start, Len: va.size(), Val: nrLazy, Text: "free lazy"})
	}
	if nrLazy > a.LazyMaxPages() {
		a.purgeLazy(ULongMax, 0, false)
	}
}

// purgeLazy releases every lazily freed area after one TLB flush covering
// them all (__purge_vmap_area_lazy). Each node first decays its pools (a
// quarter, or everything with fullDecay); with fullDecay purged areas also
// skip the pools and go straight back to the free tree. It reports whether
// any area was released. The kernel may spread the nodes over worker
// threads; the model handles them in node order.
func (a *Allocator) purgeLazy(start, end uint64, fullDecay bool) bool {
	a.stats.Purges++
	any := false
	for i := range a.nodes {
		vn := &a.nodes[i]
		a.purgeNodes[i] = false
		vn.purgeList.init()
		vn.skipPopulate = fullDecay
		a.decayPools(vn, fullDecay)
		if vn.lazy.tree.root == nil {
			continue
		}
		vn.lazy.tree.root = nil
		vn.lazy.list.takeAll(&vn.purgeList)
		start = min(start, vn.purgeList.first().start)
		end = max(end, vn.purgeList.last().end)
		a.purgeNodes[i] = true
		any = true
	}
	nrPurged := 0
	if any {
		a.flushKernelRange(start, end)
		for i := range a.nodes {
			if a.purgeNodes[i] {
				a.purgeNode(&a.nodes[i])
				nrPurged += a.nodes[i].nrPurged
			}
		}
		a.stats.PurgedAreas += nrPurged
		if a.tr.On(trace.VMap) {
			a.tr.Emit(trace.Event{Kind: trace.VMap, Who: "kernel", Addr: start, Len: end - start, Val: uint64(nrPurged), Text: "purge"})
		}
	}
	return nrPurged > 0
}

// purgeNode returns the areas of vn's purge list to vn's pools (when they
// carry a node id, fit a pool and pools are not skipped) or to the free
// tree (purge_vmap_node).
func (a *Allocator) purgeNode(vn *vmapNode) {
	var pages uint64
	vn.nrPurged = 0
	a.local.init()
	for va := vn.purgeList.first(); va != nil; {
		next := vn.purgeList.after(va)
		unlinkList(va)
		pages += va.size() >> PageShift
		vn.nrPurged++
		if a.vnIDValid(a.decodeVnID(va.flags)) && !vn.skipPopulate && poolAdd(vn, va) {
			va = next
			continue
		}
		a.local.pushFront(va)
		va = next
	}
	a.lazyNr -= pages
	a.reclaimGlobal(&a.local)
}

// VMUnmapAliases purges every lazily freed area now, so that no stale
// kernel mapping of a freed page survives in any TLB. Models
// vm_unmap_aliases (the per-CPU vmap blocks of vm_map_ram are not
// modelled, so only the lazy purge remains).
func (a *Allocator) VMUnmapAliases() {
	if !a.initialized {
		return
	}
	a.purgeLazy(ULongMax, 0, false)
}

// warnf records a kernel WARN: the count, the latest text, and a trace
// note.
func (a *Allocator) warnf(format string, args ...any) {
	a.stats.Warnings++
	a.warn = fmt.Sprintf(format, args...)
	if a.tr.On(trace.Note) {
		a.tr.Emit(trace.Event{Kind: trace.Note, Who: "kernel", Text: "WARN: " + a.warn})
	}
}
