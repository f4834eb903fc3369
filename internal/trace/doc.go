// Package trace is arenasim's event stream: every page-table walk, fault,
// PTE change, TLB flush, maple-tree store, vmap, kfunc call and BPF
// instruction can be reported as an Event to a Sink, in a text form for
// people and a JSON form for tools.
//
// Tracing costs nothing when nobody listens. A layer holds a *Tracer (nil is
// valid and means off) and guards each event with On, so that no Event is
// built, and nothing allocates, unless a sink wants that kind:
//
//	if tr.On(trace.Walk) {
//		tr.Emit(trace.Event{Kind: trace.Walk, Addr: va, Text: res.String()})
//	}
package trace
