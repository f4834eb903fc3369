package bpfjit

// formatInsn prints instruction idx as the verifier log does (verbose_insn
// with the kernel's disassembler). Kfunc calls are named from the
// environment, as the verifier's cb_call does.
func (v *verifier) formatInsn(idx int) string {
	return v.insns[idx].String()
}
