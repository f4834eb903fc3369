package vmalloc

// areaList is a circular doubly linked list of vmapAreas with a sentinel
// head, like the kernel's list_head. An area is on at most one list at a
// time; off any list its prev and next point at itself (list_del_init).
type areaList struct {
	head vmapArea
}

// init makes the list empty (INIT_LIST_HEAD).
func (l *areaList) init() { l.head.prev, l.head.next = &l.head, &l.head }

func (l *areaList) empty() bool { return l.head.next == &l.head }

// first and last return nil on an empty list.
func (l *areaList) first() *vmapArea {
	if l.empty() {
		return nil
	}
	return l.head.next
}

func (l *areaList) last() *vmapArea {
	if l.empty() {
		return nil
	}
	return l.head.prev
}

// after returns the element following va, or nil at the end.
func (l *areaList) after(va *vmapArea) *vmapArea {
	if va.next == &l.head {
		return nil
	}
	return va.next
}

// insertAfter links va after pos (list_add(va, pos)); pos may be &l.head.
func insertAfter(va, pos *vmapArea) {
	next := pos.next
	va.prev, va.next = pos, next
	pos.next = va
	next.prev = va
}

// pushFront is list_add at the head; pushBack is list_add_tail.
func (l *areaList) pushFront(va *vmapArea) { insertAfter(va, &l.head) }
func (l *areaList) pushBack(va *vmapArea)  { insertAfter(va, l.head.prev) }

// unlinkList removes va from whatever list holds it (list_del_init).
func unlinkList(va *vmapArea) {
	va.prev.next = va.next
	va.next.prev = va.prev
	va.prev, va.next = va, va
}

// onList reports whether va is linked into a list (!list_empty(&va->list)).
func onList(va *vmapArea) bool { return va.next != nil && va.next != va }

// takeAll moves every element of l onto the empty list dst and leaves l
// empty (list_replace_init).
func (l *areaList) takeAll(dst *areaList) {
	if l.empty() {
		dst.init()
		return
	}
	dst.head.next, dst.head.prev = l.head.next, l.head.prev
	dst.head.next.prev = &dst.head
	dst.head.prev.next = &dst.head
	l.init()
}

// rbList is struct rb_list: a tree and the address-ordered list of the same
// areas, the tree for lookups and the list for O(1) neighbours and walks.
type rbList struct {
	tree rbTree
	list areaList
}

func (r *rbList) init(augment bool) {
	r.tree = rbTree{augment: augment}
	r.list.init()
}
