package trace

import (
	"encoding/json"
	"io"
)

// Sink receives events. A sink must not keep the pointer after Emit returns.
type Sink interface {
	Emit(e *Event)
}

// Tracer numbers events and passes those of the selected kinds to a sink.
// A nil *Tracer is valid and traces nothing.
type Tracer struct {
	sink Sink
	mask Mask
	seq  uint64
}

// New returns a tracer sending the kinds in mask to sink.
func New(sink Sink, mask Mask) *Tracer { return &Tracer{sink: sink, mask: mask} }

// On reports whether an event of kind k would be delivered. Callers test it
// before building an event so that tracing costs nothing when off.
func (t *Tracer) On(k Kind) bool { return t != nil && t.sink != nil && t.mask.Has(k) }

// Emit numbers e and delivers it if its kind is selected.
func (t *Tracer) Emit(e Event) {
	if !t.On(e.Kind) {
		return
	}
	t.seq++
	e.Seq = t.seq
	t.sink.Emit(&e)
}

// SetMask changes the selected kinds.
func (t *Tracer) SetMask(m Mask) { t.mask = m }

// Recorder is a sink that keeps every event, for tests and replays.
type Recorder struct{ Events []Event }

// Emit appends a copy of e.
func (r *Recorder) Emit(e *Event) { r.Events = append(r.Events, *e) }

// Kinds returns the kinds of the recorded events, in order.
func (r *Recorder) Kinds() []Kind {
	ks := make([]Kind, len(r.Events))
	for i, e := range r.Events {
		ks[i] = e.Kind
	}
	return ks
}

// TextSink writes each event's text form as one line.
type TextSink struct {
	W   io.Writer
	Err error // the first write error, after which nothing more is written
}

// Emit writes e.String() and a newline.
func (s *TextSink) Emit(e *Event) {
	if s.Err == nil {
		_, s.Err = io.WriteString(s.W, e.String()+"\n")
	}
}

// JSONSink writes each event as one JSON object per line.
type JSONSink struct {
	enc *json.Encoder
	Err error
}

// NewJSONSink returns a sink writing JSON lines to w.
func NewJSONSink(w io.Writer) *JSONSink { return &JSONSink{enc: json.NewEncoder(w)} }

// Emit encodes e as one line.
func (s *JSONSink) Emit(e *Event) {
	if s.Err == nil {
		s.Err = s.enc.Encode(e)
	}
}
