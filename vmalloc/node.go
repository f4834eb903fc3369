package vmalloc

// Node and pool geometry of mm/vmalloc.c.
const (
	// MaxVASizePages is MAX_VA_SIZE_PAGES: pools hold areas of 1..256 pages.
	MaxVASizePages = 256
	// VmapZonePages is the node partition (vmap_zone_size) in pages once
	// there is more than one node: 16 pages, 64 KiB.
	VmapZonePages = 16
	// MaxVmapNodes bounds nr_vmap_nodes on 64-bit kernels.
	MaxVmapNodes = 128
	// bitsPerByte shifts the node id within vmap_area.flags.
	bitsPerByte = 8
)

// vmapPool is struct vmap_pool: ready-to-reuse areas of one size.
type vmapPool struct {
	list areaList
	len  int
}

// vmapNode is struct vmap_node: one shard of the busy and lazy sets, with
// its size-segregated pools. The free tree stays global.
type vmapNode struct {
	pool         [MaxVASizePages]vmapPool
	skipPopulate bool
	busy, lazy   rbList
	purgeList    areaList
	nrPurged     int
}

func (vn *vmapNode) init() {
	for i := range vn.pool {
		vn.pool[i].list.init()
	}
	vn.busy.init(false)
	vn.lazy.init(false)
	vn.purgeList.init()
}

// addrToNodeID is addr_to_node_id: the node whose zone holds addr. The
// zone size is a power of two (one byte with a single node), so the
// division is a shift.
func (a *Allocator) addrToNodeID(addr uint64) int {
	if len(a.nodes) == 1 {
		return 0
	}
	return int((addr >> a.zoneShift) % uint64(len(a.nodes)))
}

func (a *Allocator) addrToNode(addr uint64) *vmapNode { return &a.nodes[a.addrToNodeID(addr)] }

// encodeVnID stores a node id in vmap_area.flags as id+1 above the low
// byte; 0 means "no node" (encode_vn_id).
func (a *Allocator) encodeVnID(id int) uint32 {
	if id >= 0 && id < len(a.nodes) {
		return uint32(id+1) << bitsPerByte
	}
	a.warnf("Encode wrong node id (%d)", id)
	return 0
}

// decodeVnID returns the node id stored in flags, or len(nodes) when none
// is (decode_vn_id).
func (a *Allocator) decodeVnID(flags uint32) int {
	id := int(flags>>bitsPerByte) - 1
	if id >= 0 && id < len(a.nodes) {
		return id
	}
	if id != -1 {
		a.warnf("Decode wrong node id (%d)", id)
	}
	return len(a.nodes)
}

func (a *Allocator) vnIDValid(id int) bool { return id >= 0 && id < len(a.nodes) }

// poolFor returns the pool for areas of size bytes, or nil above
// MaxVASizePages pages (size_to_va_pool).
func poolFor(vn *vmapNode, size uint64) *vmapPool {
	idx := (size - 1) / PageSize
	if idx < MaxVASizePages {
		return &vn.pool[idx]
	}
	return nil
}

// poolAdd puts a purged area at the head of its size pool
// (node_pool_add_va).
func poolAdd(vn *vmapNode, va *vmapArea) bool {
	vp := poolFor(vn, va.size())
	if vp == nil {
		return false
	}
	vp.list.pushFront(va)
	vp.len++
	return true
}

// poolTake takes the first area of the pool for size if its start suits
// align; a misaligned head is rotated to the tail and the call misses
// (node_pool_del_va).
func (a *Allocator) poolTake(vn *vmapNode, size, align, vstart, vend uint64) *vmapArea {
	vp := poolFor(vn, size)
	if vp == nil || vp.list.empty() {
		return nil
	}
	va := vp.list.first()
	if va.start&(align-1) != 0 {
		unlinkList(va)
		vp.list.pushBack(va)
		return nil
	}
	if va.size() != size || va.start < vstart || va.end > vend {
		a.warnf("vmalloc: pooled area 0x%x-0x%x does not suit size %#x in 0x%x-0x%x", va.start, va.end, size, vstart, vend)
		return nil
	}
	unlinkList(va)
	vp.len--
	return va
}

// nodeAlloc is the per-node fast path (node_alloc): only for requests over
// the whole vmalloc window with more than one node. The current CPU picks
// the node; the returned id is recorded in the area even on a miss, so that
// the range comes back to this node's pool when it is purged.
func (a *Allocator) nodeAlloc(size, align, vstart, vend uint64) (*vmapArea, uint32) {
	if vstart != a.layout.VmallocStart || vend != a.layout.VmallocEnd || len(a.nodes) == 1 {
		return nil, 0
	}
	id := a.cpu % len(a.nodes)
	va := a.poolTake(&a.nodes[id], size, align, vstart, vend)
	return va, a.encodeVnID(id)
}

// decayPools hands pooled areas of vn back to the free tree: a quarter of
// each pool, or all of them on a full decay (decay_va_pool_node). Adjacent
// areas are coalesced in a scratch tree first.
func (a *Allocator) decayPools(vn *vmapNode, full bool) {
	a.decay.init(false)
	for i := range vn.pool {
		vp := &vn.pool[i]
		if vp.list.empty() {
			continue
		}
		vp.list.takeAll(&a.scratch)
		poolLen, nDecay := vp.len, vp.len
		vp.len = 0
		if !full {
			nDecay >>= 2
		}
		poolLen -= nDecay
		for va := a.scratch.first(); va != nil && nDecay > 0; nDecay-- {
			next := a.scratch.after(va)
			unlinkList(va)
			a.mergeOrAdd(va, &a.decay)
			va = next
		}
		if !a.scratch.empty() {
			a.scratch.takeAll(&vp.list)
			vp.len = poolLen
		}
	}
	a.reclaimGlobal(&a.decay.list)
	a.decay.init(false)
}

// reclaimGlobal merges every area on l into the free tree
// (reclaim_list_global). Each area is relinked into the free list as it
// goes, so the walk keeps its own next pointer and l is left stale.
func (a *Allocator) reclaimGlobal(l *areaList) {
	for va := l.head.next; va != &l.head; {
		next := va.next
		a.mergeOrAdd(va, &a.free)
		va = next
	}
	l.init()
}
