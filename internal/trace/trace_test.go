package trace

import (
	"bytes"
	"testing"
)

func TestNilTracerIsOff(t *testing.T) {
	var tr *Tracer
	if tr.On(Walk) {
		t.Fatal("nil tracer is on")
	}
	tr.Emit(Event{Kind: Walk}) // must not panic
}

func TestMaskSelectsKinds(t *testing.T) {
	var rec Recorder
	tr := New(&rec, Of(Fault, PTESet))
	tr.Emit(Event{Kind: Walk, Addr: 1})
	tr.Emit(Event{Kind: Fault, Addr: 2})
	tr.Emit(Event{Kind: PTESet, Addr: 3})
	if len(rec.Events) != 2 || rec.Events[0].Seq != 1 || rec.Events[1].Seq != 2 ||
		rec.Events[0].Addr != 2 || rec.Events[1].Kind != PTESet {
		t.Fatalf("recorded %+v", rec.Events)
	}
	tr.SetMask(All)
	if !tr.On(Walk) || !tr.On(Note) {
		t.Fatal("All misses kinds")
	}
}

func TestForms(t *testing.T) {
	e := Event{Seq: 7, Kind: PTESet, Who: "pid 1", Addr: 0x1000, Val: 0x8000000000000067, Text: "P|RW|US|A|D|NX"}
	if got, want := e.String(), "#7 pte_set pid 1 addr=0x1000 val=0x8000000000000067 P|RW|US|A|D|NX"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
	var buf bytes.Buffer
	s := NewJSONSink(&buf)
	s.Emit(&e)
	if got, want := buf.String(), `{"seq":7,"kind":"pte_set","who":"pid 1","addr":"0x1000","val":"0x8000000000000067","text":"P|RW|US|A|D|NX"}`+"\n"; got != want || s.Err != nil {
		t.Fatalf("json %q, want %q (err %v)", got, want, s.Err)
	}
	for k := Kind(0); k < numKinds; k++ {
		if p, ok := ParseKind(k.String()); !ok || p != k {
			t.Errorf("ParseKind(%q) = %v,%v", k.String(), p, ok)
		}
	}
}

func TestOffCostsNothing(t *testing.T) {
	var tr *Tracer
	off := New(&Recorder{}, Of(Fault))
	allocs := testing.AllocsPerRun(100, func() {
		if tr.On(Walk) {
			tr.Emit(Event{Kind: Walk, Text: "x"})
		}
		if off.On(Walk) {
			off.Emit(Event{Kind: Walk})
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations with tracing off", allocs)
	}
}
