package bpfjit

// opKind is an operation of the compiled engine: one BPF instruction
// specialised by class, source and variant (so the run loop never decodes
// an opcode or an offset), or a superinstruction covering two.
type opKind uint8

// The compiled engine's operations. K forms hold the immediate already
// extended the way the operation uses it; X forms read the source register.
const (
	kTrap opKind = iota // an invalid slot or the slot past the end
	kStep               // any other instruction that does not transfer control: machine.step runs it

	// ALU64.
	kAdd64K
	kAdd64X
	kSub64X
	kMul64K
	kMul64X
	kDiv64K
	kDiv64X
	kSDiv64K
	kSDiv64X
	kMod64K
	kMod64X
	kSMod64K
	kSMod64X
	kOr64K
	kOr64X
	kAnd64K
	kAnd64X
	kXor64K
	kXor64X
	kLsh64K
	kLsh64X
	kRsh64K
	kRsh64X
	kArsh64K
	kArsh64X
	kNeg64
	kMov64K
	kLdImm64 // kMov64K that skips the second slot
	kMov64X
	kMovSX64 // off 8, 16, 32 (in imm)
	kCastUser
	kBswap // ALU64 bswap and ALU TO_BE; width in imm

	// ALU (32-bit, zero-extending).
	kAdd32K
	kAdd32X
	kSub32X
	kMul32K
	kMul32X
	kDiv32K
	kDiv32X
	kSDiv32K
	kSDiv32X
	kMod32K
	kMod32X
	kSMod32K
	kSMod32X
	kOr32K
	kOr32X
	kAnd32K
	kAnd32X
	kXor32K
	kXor32X
	kLsh32K
	kLsh32X
	kRsh32K
	kRsh32X
	kArsh32K
	kArsh32X
	kNeg32
	kMov32X // also cast_kern
	kMovSX32
	kTruncLE // ALU TO_LE; width in imm

	// Jumps. K compares with imm (sign-extended for JMP), X with src.
	kJa
	kJeqK
	kJeqX
	kJneK
	kJneX
	kJgtK
	kJgtX
	kJgeK
	kJgeX
	kJltK
	kJltX
	kJleK
	kJleX
	kJsgtK
	kJsgtX
	kJsgeK
	kJsgeX
	kJsltK
	kJsltX
	kJsleK
	kJsleX
	kJsetK
	kJsetX
	kJmp32K // any JMP32 comparison with imm; the JumpOp in aux
	kJmp32X // any JMP32 comparison with src
	kMayGoto
	kCall      // helper or kfunc, resolved when compiled (funcs[target])
	kCallLocal // bpf-to-bpf call
	kExit

	// Loads and stores of the sizes frequent enough for a fast path; imm
	// holds the sign-extended offset and ST's value is in imm2.
	kLdxB
	kLdxW
	kLdxDW
	kStB
	kStW
	kStDW
	kStxB
	kStxW
	kStxDW
	kProbeLdx   // PROBE_MEM32 load, size in aux
	kProbeLdxSX // PROBE_MEM32SX load, size in aux
	kProbeSt    // PROBE_MEM32 store of imm2, size in aux
	kProbeStx   // PROBE_MEM32 store of src, size in aux

	// Superinstructions. "mov rD, rS; op rD, K" becomes rD = rS op K.
	kMovAdd64K
	kMovAnd64K
	kMovOr64K
	kMovXor64K
	kMovLsh64K
	kMovRsh64K
	kMovArsh64K
	kMovMul64K
	// "mov rD, rS; op rD, rT" (T != D) becomes rD = rS op rT.
	kMovAdd64X
	kMovSub64X
	kMovAnd64X
	kMovOr64X
	kMovXor64X
	kMovMul64X
	// "add rD, K; if rD op K2 goto" (sub K is add -K): the loop counter step.
	kAddJeqK
	kAddJneK
	kAddJgtK
	kAddJgeK
	kAddJltK
	kAddJleK
	kAddJsgtK
	kAddJsgeK
	kAddJsltK
	kAddJsleK
	kAddJsetK
	// "rA = *(u64 *)(rB + off); op rC, rA": a load feeding an ALU64 op.
	kLdxDWAdd
	kLdxDWOr
	kLdxDWXor
	kLdxDWAnd
	kLdxDWSub

	// Two register-register ALU64 ops in a row (aux, aux2: the second one's
	// dst and src), the most frequent pairs in straight-line code.
	kPairAddAdd
	kPairAddSub
	kPairAddXor
	kPairAddAnd
	kPairAddOr
	kPairSubAdd
	kPairSubSub
	kPairSubXor
	kPairSubAnd
	kPairSubOr
	kPairXorAdd
	kPairXorSub
	kPairXorXor
	kPairXorAnd
	kPairXorOr
	kPairAndAdd
	kPairAndSub
	kPairAndXor
	kPairAndAnd
	kPairAndOr
	kPairOrAdd
	kPairOrSub
	kPairOrXor
	kPairOrAnd
	kPairOrOr
	// "mov rT, rS; lsh rT, K; add rD, rT": an index scaled into an address (aux: D).
	kMovLshAdd64X

	numOpKinds
)
