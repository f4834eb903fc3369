package trace_test

import (
	"os"

	"github.com/arenasim/arenasim/internal/trace"
)

func Example() {
	tr := trace.New(&trace.TextSink{W: os.Stdout}, trace.Of(trace.Fault, trace.PTESet))
	tr.Emit(trace.Event{Kind: trace.Walk, Addr: 0x7f0000000000}) // not selected: dropped
	tr.Emit(trace.Event{Kind: trace.Fault, Who: "pid 1", Addr: 0x7f0000000000, Val: 0x4, Text: "#PF U"})
	// Output:
	// #1 fault pid 1 addr=0x7f0000000000 val=0x4 #PF U
}
