package bpfjit

import (
	"testing"
)

func TestVerifierSmoke(t *testing.T) {
	env := &VerifyEnv{Caps: AllCaps, LogLevel: LogLevel2, Ctx: CtxInfo{Size: 64}, Helpers: StandardHelpers()}
	prog := vProg(
		vMov64Reg(R6, R1),
		vCall(FuncGetPrandomU32),
		vMov64Reg(R7, R0),
		vJmpImm(JEq, R0, 0, 5),
		vMov64Imm(R0, 0),
		vStx(DWord, R10, R6, -8),
		vLdx(DWord, R6, R10, -8),
		vStx(Byte, R10, R7, -9),
		vLdx(Byte, R7, R10, -9),
		vJmpImm(JNE, R0, 0, 0),
		vJmpImm(JNE, R0, 0, 0),
		vJmpImm(JNE, R0, 0, 0),
		vJmpImm(JNE, R0, 0, 0),
		vExit(),
	)
	res, err := Verify(prog, env)
	if err != nil {
		t.Fatalf("%v\n%s", err, err.(*VerifierError).Log)
	}
	t.Logf("\n%s", res.Log)
}
