package bpfjit

import (
	"fmt"
	"strings"
)

// Log layout constants (BPF_LOG_MIN_ALIGNMENT, BPF_LOG_ALIGNMENT in
// include/linux/bpf_verifier.h): the "; state" column after an instruction.
const (
	vlogMinAlignment = 8
	vlogAlignmentCol = 40
)

// vlog is the verifier log (struct bpf_verifier_log plus the scratch marks
// of struct bpf_verifier_env). It is one growing buffer, truncated when a
// path is abandoned, as the kernel's rotating buffer is when it is large
// enough to hold everything.
type vlog struct {
	level            LogLevel
	buf              []byte
	prevLogPos       int
	prevInsnPrintPos int
	scratchedRegs    uint16
	scratchedStack   uint64
}

// on reports whether instructions are traced (log.level & BPF_LOG_LEVEL).
func (l *vlog) on() bool { return l.level&(LogLevel1|LogLevel2) != 0 }

func (l *vlog) printf(format string, args ...any) {
	if l.level == 0 {
		return
	}
	l.buf = fmt.Appendf(l.buf, format, args...)
}

func (l *vlog) pos() int { return len(l.buf) }

// reset truncates the log to p (bpf_vlog_reset).
func (l *vlog) reset(p int) {
	if p <= len(l.buf) {
		l.buf = l.buf[:p]
	}
}

func (l *vlog) String() string { return string(l.buf) }

func (l *vlog) scratchReg(r Register) { l.scratchedRegs |= regBit(r) }
func (l *vlog) scratchStack(spi int)  { l.scratchedStack |= 1 << uint(spi&63) }
func (l *vlog) scratchAll()           { l.scratchedRegs, l.scratchedStack = ^uint16(0), ^uint64(0) }
func (l *vlog) clean()                { l.scratchedRegs, l.scratchedStack = 0, 0 }
func (l *vlog) stateScratched() bool  { return l.scratchedRegs != 0 || l.scratchedStack != 0 }

// vlogAlignment returns the padding that puts the ';' of an instruction's
// state at a column multiple of 8, at least 40 (vlog_alignment).
func vlogAlignment(pos int) int {
	return roundUp(max(pos+vlogMinAlignment/2, vlogAlignmentCol), vlogMinAlignment) - pos - 1
}

// printVerifierState prints the registers and stack slots of one frame
// (print_verifier_state): all of them, or only those the last instruction
// touched.
func (v *verifier) printVerifierState(st *vstate, frameno int, all bool) {
	l := &v.log
	if l.level == 0 {
		return
	}
	f := st.frames[frameno]
	var b strings.Builder
	if f.frameno != 0 {
		fmt.Fprintf(&b, " frame%d:", f.frameno)
	}
	for i := range f.regs {
		r := &f.regs[i]
		if r.typ == notInit {
			continue
		}
		if !all && l.scratchedRegs&(1<<i) == 0 {
			continue
		}
		fmt.Fprintf(&b, " R%d", i)
		if f.regWritten&(1<<i) != 0 {
			b.WriteString("_w")
		}
		b.WriteString("=" + r.format(f.frameno))
	}
	for i := range f.stack {
		if !all && l.scratchedStack&(1<<uint(i&63)) == 0 {
			continue
		}
		s := &f.stack[i]
		var types [bpfRegSize]byte
		valid := false
		for j, t := range s.types {
			if t != stackInvalid {
				valid = true
			}
			types[j] = slotTypeChars[t]
		}
		if !valid {
			continue
		}
		fmt.Fprintf(&b, " fp%d", (-i-1)*bpfRegSize)
		if f.stackWritten&(1<<uint(i&63)) != 0 {
			b.WriteString("_w")
		}
		if s.isSpilled() {
			n := 0
			for n < bpfRegSize && s.types[n] != stackSpill {
				n++
			}
			b.WriteString("=" + string(types[:n]) + s.spilled.format(f.frameno))
		} else {
			b.WriteString("=" + string(types[:]))
		}
	}
	b.WriteString("\n")
	l.printf("%s", b.String())
	if !all {
		l.clean()
	}
}

// printInsnState appends the touched registers to the line of the
// instruction just printed, or starts a line of its own
// (print_insn_state).
func (v *verifier) printInsnState(frameno int) {
	l := &v.log
	if l.prevLogPos != 0 && l.prevLogPos == l.pos() {
		l.reset(l.prevLogPos - 1)
		l.printf("%*c;", vlogAlignment(l.prevInsnPrintPos), ' ')
	} else {
		l.printf("%d:", v.insnIdx)
	}
	v.printVerifierState(v.cur, frameno, false)
}
