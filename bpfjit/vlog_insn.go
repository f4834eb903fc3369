package bpfjit

// formatInsn prints instruction idx as the verifier log does (verbose_insn:
// the kernel's disassembler with the verifier's callbacks). Kfunc calls are
// named from the environment's prototypes (disasm_kfunc_name), and wide
// loads of map pointers print as 0x0 unless pointers may leak.
func (v *verifier) formatInsn(idx int) string {
	f := Formatter{
		Syntax:       SyntaxKernel,
		HidePointers: !v.allowPtrLeaks,
		CallName: func(ins Insn) string {
			if ins.Src != CallKfunc {
				return ""
			}
			if kf := v.env.Kfuncs[ins.Imm]; kf != nil {
				return kf.Name
			}
			return ""
		},
	}
	return f.Format(v.insns, idx)
}
