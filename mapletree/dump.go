package mapletree

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"unsafe"
)

// DumpFormat is enum mt_dump_format.
type DumpFormat uint8

// Dump formats: indices and pivots in hex or in decimal.
const (
	DumpHex DumpFormat = iota // mt_dump_hex
	DumpDec                   // mt_dump_dec
)

// Dump models mt_dump: write the tree in the kernel's layout, one line per
// node with its contents, then its children indented two spaces per level.
// Integer entries print as the kernel prints xa_mk_value entries (with the
// encoded word in brackets); pointers print as addresses. Hold the tree's
// lock if other goroutines write.
func (t *Tree) Dump(w io.Writer, format DumpFormat) {
	var b strings.Builder
	root, e := t.loadRoot()
	rootWord := "(nil)"
	switch {
	case root != nil:
		rootWord = ptrString(unsafe.Pointer(root))
	case !e.isNull():
		rootWord = rawEntry(e)
	}
	fmt.Fprintf(&b, "maple_tree(%p) flags %X, height %d root %s\n", t, uint32(t.Flags()), t.Height(), rootWord)
	switch {
	case root != nil:
		t.dumpNode(&b, root, 0, maxIndex, 0, format)
	case !e.isNull():
		dumpEntry(&b, e, 0, 0, 0, format)
	default:
		b.WriteString("(empty)\n")
	}
	io.WriteString(w, b.String())
}

// String returns the hex dump.
func (t *Tree) String() string {
	var b strings.Builder
	t.Dump(&b, DumpHex)
	return b.String()
}

const dumpSpaces = "                                                                "

// dumpRange models mt_dump_range.
func dumpRange(b *strings.Builder, min, max uint64, depth int, format DumpFormat) {
	ind := dumpSpaces[:min2(depth*2, len(dumpSpaces))]
	if format == DumpHex {
		if min == max {
			fmt.Fprintf(b, "%s%x: ", ind, min)
		} else {
			fmt.Fprintf(b, "%s%x-%x: ", ind, min, max)
		}
		return
	}
	if min == max {
		fmt.Fprintf(b, "%s%d: ", ind, min)
	} else {
		fmt.Fprintf(b, "%s%d-%d: ", ind, min, max)
	}
}

func min2(a, b int) int { return min(a, b) }

// dumpEntry models mt_dump_entry.
func dumpEntry(b *strings.Builder, w eword, min, max uint64, depth int, format DumpFormat) {
	dumpRange(b, min, max, depth, format)
	e := w.unpack()
	if v, ok := valueOf(e); ok {
		fmt.Fprintf(b, "value %d (0x%x) [0x%x]\n", int64(v), v, v<<1|1)
		return
	}
	if in, ok := e.(Internal); ok {
		switch {
		case in == ZeroEntry:
			fmt.Fprintf(b, "zero (%d)\n", uint64(in))
		case isReserved(e):
			fmt.Fprintf(b, "UNKNOWN ENTRY (0x%x)\n", in.Encoded())
		default:
			fmt.Fprintf(b, "0x%x\n", in.Encoded())
		}
		return
	}
	b.WriteString(rawEntry(w) + "\n")
}

// valueOf reports integer entries, the Go counterpart of xa value entries.
func valueOf(e any) (uint64, bool) {
	switch v := e.(type) {
	case int:
		return uint64(v), true
	case int8:
		return uint64(v), true
	case int16:
		return uint64(v), true
	case int32:
		return uint64(v), true
	case int64:
		return uint64(v), true
	case uint:
		return uint64(v), true
	case uint8:
		return uint64(v), true
	case uint16:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case uintptr:
		return uint64(v), true
	}
	return 0, false
}

// rawEntry prints an entry the way %p prints the kernel's slot word.
func rawEntry(w eword) string {
	if w.isNull() {
		return "(nil)"
	}
	e := w.unpack()
	if v, ok := valueOf(e); ok {
		return fmt.Sprintf("0x%x", v<<1|1)
	}
	if in, ok := e.(Internal); ok {
		return fmt.Sprintf("0x%x", in.Encoded())
	}
	if k := reflect.ValueOf(e).Kind(); k == reflect.Pointer || k == reflect.UnsafePointer {
		return fmt.Sprintf("%p", e)
	}
	return fmt.Sprintf("%v", e)
}

func ptrString(p unsafe.Pointer) string {
	if p == nil {
		return "(nil)"
	}
	return fmt.Sprintf("%p", p)
}

// slotWord prints slot i of n as mt_dump prints the slot array.
func (t *Tree) slotWord(n *node, i uint8) string {
	if n.typ.isLeaf() {
		w := n.entry(i)
		if w.isNull() && i == mapleRange64Slots-1 && n.pivot[i-1] == 0 {
			// The metadata overlays slot 15 of a range64 node.
			if m := uint64(n.meta.gap)<<8 | uint64(n.meta.end); m != 0 {
				return fmt.Sprintf("0x%x", m)
			}
		}
		return rawEntry(w)
	}
	if n.typ == mapleRange64 && n.slots[i].data == nil && i == mapleRange64Slots-1 && n.pivot[i-1] == 0 {
		if m := uint64(n.meta.gap)<<8 | uint64(n.meta.end); m != 0 {
			return fmt.Sprintf("0x%x", m)
		}
	}
	return ptrString(n.slots[i].data)
}

func pivotString(v uint64, format DumpFormat) string {
	if format == DumpHex {
		return fmt.Sprintf("%X", v)
	}
	return fmt.Sprintf("%d", v)
}

// dumpNode models mt_dump_node with mt_dump_range64 and mt_dump_arange64.
func (t *Tree) dumpNode(b *strings.Builder, n *node, min, max uint64, depth int, format DumpFormat) {
	dumpRange(b, min, max, depth, format)
	parent := "(nil)"
	if p := loadParent(n); p != nil {
		if t.isRoot(n) {
			parent = fmt.Sprintf("%p", t)
		} else {
			parent = ptrString(unsafe.Pointer(n.parentNode()))
		}
	}
	fmt.Fprintf(b, "node %p depth %d type %d parent %s", n, depth, n.typ, parent)
	b.WriteString(" contents: ")
	slots := n.typ.slots()
	if n.typ == mapleArange64 {
		for i := uint8(0); i < slots; i++ {
			if format == DumpHex {
				fmt.Fprintf(b, "%x ", n.gap[i])
			} else {
				fmt.Fprintf(b, "%d ", n.gap[i])
			}
		}
		fmt.Fprintf(b, "| %02X %02X| ", n.meta.end, n.meta.gap)
	}
	for i := uint8(0); i < slots-1; i++ {
		fmt.Fprintf(b, "%s %s ", t.slotWord(n, i), pivotString(n.pivot[i], format))
	}
	b.WriteString(t.slotWord(n, slots-1) + "\n")
	first := min
	for i := uint8(0); i < slots; i++ {
		last := max
		if i < slots-1 {
			last = n.pivot[i]
		} else if n.slotNull(i) && (n.typ == mapleArange64 || max != maxIndex) {
			break
		}
		if last == 0 && i > 0 {
			break
		}
		if n.typ.isLeaf() {
			dumpEntry(b, n.entry(i), first, last, depth+1, format)
		} else if c := n.child(i); c != nil {
			t.dumpNode(b, c, first, last, depth+1, format)
		}
		if last == max {
			break
		}
		if last > max {
			if format == DumpHex {
				fmt.Fprintf(b, "node %p last (%x) > max (%x) at pivot %d!\n", n, last, max, i)
			} else {
				fmt.Fprintf(b, "node %p last (%d) > max (%d) at pivot %d!\n", n, last, max, i)
			}
		}
		first = last + 1
	}
}
