// The instruction set: 32-bit register instructions shared by the compiler,
// the VM, the binary-chunk loader and the debug info. Layout:
//   iABC : op(7) | A(8) | k(1) | B(8) | C(8)
//   iABx : op(7) | A(8) | Bx(17)            (sBx = Bx - OFFSET_sBx)
//   iAx  : op(7) | Ax(25)
//   isJ  : op(7) | sJ(25)                   (sJ signed, excess-K)
// Notation: R[x] register, K[x] constant, U[x] upvalue, RK(C) = k ? K[C] : R[C],
// sC = C - OFFSET_sC (signed 8-bit immediate). Conditional tests skip the next
// instruction (always a JMP) when the condition differs from k.
#pragma once

#include <cstdint>

namespace luna {

using Instruction = uint32_t;

constexpr int SIZE_OP = 7, SIZE_A = 8, SIZE_B = 8, SIZE_C = 8, SIZE_Bx = 17, SIZE_Ax = 25, SIZE_sJ = 25;
constexpr int POS_OP = 0, POS_A = 7, POS_k = 15, POS_B = 16, POS_C = 24, POS_Bx = 15, POS_Ax = 7, POS_sJ = 7;
constexpr int MAXARG_A = (1 << SIZE_A) - 1;
constexpr int MAXARG_B = (1 << SIZE_B) - 1;
constexpr int MAXARG_C = (1 << SIZE_C) - 1;
constexpr int MAXARG_Bx = (1 << SIZE_Bx) - 1;
constexpr int MAXARG_Ax = (1 << SIZE_Ax) - 1;
constexpr int MAXARG_sJ = (1 << SIZE_sJ) - 1;
constexpr int OFFSET_sBx = MAXARG_Bx >> 1;
constexpr int OFFSET_sJ = MAXARG_sJ >> 1;
constexpr int OFFSET_sC = MAXARG_C >> 1;
constexpr int MAX_FSTACK = MAXARG_A;  // maximum registers of a function (255)
constexpr int NO_REG = MAXARG_A;
constexpr int FIELDS_PER_FLUSH = 50;  // SETLIST batch size

enum OpCode : uint8_t {
  OP_MOVE,       // A B     R[A] := R[B]
  OP_LOADI,      // A sBx   R[A] := sBx (integer)
  OP_LOADF,      // A sBx   R[A] := (float)sBx
  OP_LOADK,      // A Bx    R[A] := K[Bx]
  OP_LOADKX,     // A       R[A] := K[extra arg]
  OP_LOADFALSE,  // A       R[A] := false
  OP_LFALSESKIP, // A       R[A] := false; pc++
  OP_LOADTRUE,   // A       R[A] := true
  OP_LOADNIL,    // A B     R[A], ..., R[A+B] := nil
  OP_GETUPVAL,   // A B     R[A] := U[B]
  OP_SETUPVAL,   // A B     U[B] := R[A]
  OP_GETTABUP,   // A B C   R[A] := U[B][K[C]:shortstring]
  OP_GETTABLE,   // A B C   R[A] := R[B][R[C]]
  OP_GETI,       // A B C   R[A] := R[B][C]
  OP_GETFIELD,   // A B C   R[A] := R[B][K[C]:shortstring]
  OP_SETTABUP,   // A B C   U[A][K[B]:shortstring] := RK(C)
  OP_SETTABLE,   // A B C   R[A][R[B]] := RK(C)
  OP_SETI,       // A B C   R[A][B] := RK(C)
  OP_SETFIELD,   // A B C   R[A][K[B]:shortstring] := RK(C)
  OP_NEWTABLE,   // A B C k R[A] := {}  B: log2(hash size)+1 (0 = none); C: array size
                 //         (when k, array size is C + EXTRAARG * (MAXARG_C+1)); next is EXTRAARG
  OP_SELF,       // A B C   R[A+1] := R[B]; R[A] := R[B][RK(C):string]
  OP_ADDI,       // A B sC k  R[A] := R[B] + sC   (k: sC came first, 1 + x; for metamethods)
  OP_ADDK,       // A B C k R[A] := R[B] + K[C]:number   (likewise the K forms below; k as ADDI's)
  OP_SUBK, OP_MULK, OP_MODK, OP_POWK, OP_DIVK, OP_IDIVK,
  OP_BANDK,      // A B C   R[A] := R[B] & K[C]:integer
  OP_BORK, OP_BXORK,
  OP_SHRI,       // A B sC  R[A] := R[B] >> sC
  OP_SHLI,       // A B sC  R[A] := sC << R[B]
  OP_ADD,        // A B C   R[A] := R[B] + R[C]   (likewise below)
  OP_SUB, OP_MUL, OP_MOD, OP_POW, OP_DIV, OP_IDIV,
  OP_BAND, OP_BOR, OP_BXOR, OP_SHL, OP_SHR,
  // Arithmetic ops above fall back to metamethods themselves: luna's
  // compiler emits no MMBIN companion, and the K/I forms pass the constant
  // operand in its source order (for SHLI the immediate is the first
  // operand; k on ADDI/ADDK/MULK says the constant was first). Code from PUC-Rio's compiler (binary chunks) follows each one
  // with an MMBIN* naming the event and operand order, which may differ
  // (x - 1 is ADDI x -1; 1 + x swaps its operands): the slow path then
  // takes the metamethod call from it. Executed on its own, MMBIN* does
  // nothing. The numbering is PUC-Rio 5.4's, so chunks need no translation.
  OP_MMBIN,      // A B C   metamethod C over R[A], R[B]
  OP_MMBINI,     // A sB C k  metamethod C over R[A], sB (k: sB first)
  OP_MMBINK,     // A B C k metamethod C over R[A], K[B] (k: K[B] first)
  OP_UNM,        // A B     R[A] := -R[B]
  OP_BNOT,       // A B     R[A] := ~R[B]
  OP_NOT,        // A B     R[A] := not R[B]
  OP_LEN,        // A B     R[A] := #R[B]
  OP_CONCAT,     // A B     R[A] := R[A].. ... ..R[A + B - 1]
  OP_CLOSE,      // A       close upvalues and to-be-closed variables >= R[A]
  OP_TBC,        // A       mark variable A "to be closed"
  OP_JMP,        // sJ      pc += sJ
  OP_EQ,         // A B k   if ((R[A] == R[B]) ~= k) then pc++
  OP_LT,         // A B k   if ((R[A] <  R[B]) ~= k) then pc++
  OP_LE,         // A B k   if ((R[A] <= R[B]) ~= k) then pc++
  OP_EQK,        // A B k   if ((R[A] == K[B]) ~= k) then pc++
  OP_EQI,        // A sB k C  if ((R[A] == sB) ~= k) then pc++   (C: 1 if sB is a float constant)
  OP_LTI,        // A sB k C  if ((R[A] < sB) ~= k) then pc++
  OP_LEI,        // A sB k C  if ((R[A] <= sB) ~= k) then pc++
  OP_GTI,        // A sB k C  if ((R[A] > sB) ~= k) then pc++
  OP_GEI,        // A sB k C  if ((R[A] >= sB) ~= k) then pc++
  OP_TEST,       // A k     if (not R[A] == k) then pc++
  OP_TESTSET,    // A B k   if (not R[B] == k) then pc++ else R[A] := R[B]
  OP_CALL,       // A B C   R[A], ..., R[A+C-2] := R[A](R[A+1], ..., R[A+B-1])
                 //         B = 0: arguments up to top; C = 0: keep all results (sets top)
  OP_TAILCALL,   // A B C k return R[A](R[A+1], ..., R[A+B-1]); k: close upvalues first;
                 //         C > 0: function is vararg with C - 1 fixed parameters
  OP_RETURN,     // A B C k return R[A], ..., R[A+B-2]  (B = 0: up to top); k and C as TAILCALL
  OP_RETURN0,    //         return
  OP_RETURN1,    // A       return R[A]
  OP_FORLOOP,    // A Bx    update counters; if loop continues then pc -= Bx
  OP_FORPREP,    // A Bx    check values and prepare counters; if not to run then pc += Bx + 1
  OP_TFORPREP,   // A Bx    create upvalue for R[A + 3]; pc += Bx
  OP_TFORCALL,   // A C     R[A+4], ..., R[A+3+C] := R[A](R[A+1], R[A+2])
  OP_TFORLOOP,   // A Bx    if R[A+4] ~= nil then { R[A+2] := R[A+4]; pc -= Bx }
  OP_SETLIST,    // A B C k R[A][C+i] := R[A+i], 1 <= i <= B (B = 0: up to top);
                 //         k: C += EXTRAARG * (MAXARG_C+1)
  OP_CLOSURE,    // A Bx    R[A] := closure(KPROTO[Bx])
  OP_VARARG,     // A B C k R[A], R[A+1], ..., R[A+C-2] = vararg (C = 0: all, sets top);
                 //         k: from the 5.5 vararg table in R[B], up to its 'n'
  OP_VARARGPREP, // A       (adjust vararg parameters; A = number of fixed parameters)
  OP_EXTRAARG,   // Ax      extra (larger) argument for the previous opcode
  OP_ERRNNIL,    // A Bx    if R[A] ~= nil then error "global K[Bx-1] already defined" (Bx 0:
                 //         name unknown); 5.5's 'global x = v'. Beyond PUC-Rio 5.4's numbering.
  OP_GETVARG,    // A B C   R[A] := vararg table[key] without the table (5.5): key R[C] (B 0),
                 //         K[C] (B 1) or integer C (B 2)
  NUM_OPCODES
};
static_assert(NUM_OPCODES <= 128);

// Twins of the three back-edge instructions that do not count towards the
// JIT's hot counters: a loop the JIT gave up on has its back-edge patched to
// its twin (jit_cool_loop in jit_seam.hpp), so it costs nothing more than
// with the JIT off, as LuaJIT's ILOOP/IFORL. They exist only in running
// code: every reader of instructions other than the dispatcher goes through
// plain_ins, and string.dump writes the originals.
constexpr unsigned OP_COLD_FORLOOP = NUM_OPCODES, OP_COLD_TFORLOOP = NUM_OPCODES + 1, OP_COLD_JMP = NUM_OPCODES + 2;
static_assert(OP_COLD_JMP < 128);

// Loops: FORPREP of a numeric loop with integer init and step precomputes an
// iteration count in R[A+1] (as unsigned); float loops keep limit in R[A+1].
// R[A+3] is the visible control variable. Generic for: R[A] iterator,
// R[A+1] state, R[A+2] control, R[A+3] closing value (to-be-closed),
// R[A+4]... loop variables.

inline OpCode get_op(Instruction i) { return static_cast<OpCode>(i & 0x7f); }
// The instruction as compiled: a cold twin (above) as its original.
inline Instruction plain_ins(Instruction i) {
  unsigned op = i & 0x7f;
  if (op < NUM_OPCODES || op > OP_COLD_JMP) return i;
  const Instruction orig = op == OP_COLD_FORLOOP ? OP_FORLOOP : op == OP_COLD_TFORLOOP ? OP_TFORLOOP : OP_JMP;
  return (i & ~Instruction(0x7f)) | orig;
}
inline int getarg_A(Instruction i) { return static_cast<int>((i >> POS_A) & MAXARG_A); }
inline int getarg_B(Instruction i) { return static_cast<int>((i >> POS_B) & MAXARG_B); }
inline int getarg_C(Instruction i) { return static_cast<int>((i >> POS_C) & MAXARG_C); }
inline int getarg_k(Instruction i) { return static_cast<int>((i >> POS_k) & 1); }
inline int getarg_sB(Instruction i) { return getarg_B(i) - OFFSET_sC; }
inline int getarg_sC(Instruction i) { return getarg_C(i) - OFFSET_sC; }
inline int getarg_Bx(Instruction i) { return static_cast<int>((i >> POS_Bx) & MAXARG_Bx); }
inline int getarg_sBx(Instruction i) { return getarg_Bx(i) - OFFSET_sBx; }
inline int getarg_Ax(Instruction i) { return static_cast<int>((i >> POS_Ax) & MAXARG_Ax); }
inline int getarg_sJ(Instruction i) { return static_cast<int>((i >> POS_sJ) & MAXARG_sJ) - OFFSET_sJ; }

inline Instruction create_ABCk(OpCode o, int a, int b, int c, int k) {
  return static_cast<Instruction>(o) | (static_cast<Instruction>(a) << POS_A) |
         (static_cast<Instruction>(b) << POS_B) | (static_cast<Instruction>(c) << POS_C) |
         (static_cast<Instruction>(k) << POS_k);
}
inline Instruction create_ABx(OpCode o, int a, unsigned bx) {
  return static_cast<Instruction>(o) | (static_cast<Instruction>(a) << POS_A) | (static_cast<Instruction>(bx) << POS_Bx);
}
inline Instruction create_Ax(OpCode o, unsigned ax) {
  return static_cast<Instruction>(o) | (static_cast<Instruction>(ax) << POS_Ax);
}
inline Instruction create_sJ(OpCode o, int j, int k) {
  return static_cast<Instruction>(o) | (static_cast<Instruction>(j + OFFSET_sJ) << POS_sJ) |
         (static_cast<Instruction>(k) << POS_k);
}
inline void setarg_A(Instruction& i, int v) { i = (i & ~(Instruction(MAXARG_A) << POS_A)) | (Instruction(v) << POS_A); }
inline void setarg_B(Instruction& i, int v) { i = (i & ~(Instruction(MAXARG_B) << POS_B)) | (Instruction(v) << POS_B); }
inline void setarg_C(Instruction& i, int v) { i = (i & ~(Instruction(MAXARG_C) << POS_C)) | (Instruction(v) << POS_C); }
inline void setarg_k(Instruction& i, int v) { i = (i & ~(Instruction(1) << POS_k)) | (Instruction(v) << POS_k); }
inline void setarg_Bx(Instruction& i, unsigned v) { i = (i & ~(Instruction(MAXARG_Bx) << POS_Bx)) | (Instruction(v) << POS_Bx); }
inline void setarg_sJ(Instruction& i, int v) {
  i = (i & ~(Instruction(MAXARG_sJ) << POS_sJ)) | (Instruction(v + OFFSET_sJ) << POS_sJ);
}

// Arithmetic with a metamethod fallback (PUC-Rio's VM expects an MMBIN*
// right after each, and skips it when the operands are numbers), and the
// MMBIN form that fits it.
inline bool is_mm_arith(OpCode o) { return o >= OP_ADDI && o <= OP_SHR; }
inline bool is_mmbin(OpCode o) { return o >= OP_MMBIN && o <= OP_MMBINK; }
inline OpCode mmbin_for(OpCode o) {
  if (o == OP_ADDI || o == OP_SHRI || o == OP_SHLI) return OP_MMBINI;
  return o < OP_ADD ? OP_MMBINK : OP_MMBIN;
}

enum class OpMode : uint8_t { iABC, iABx, iAsBx, iAx, isJ };
// Per-opcode properties for the loader's validation, the lister and debug info.
struct OpInfo {
  const char* name;
  OpMode mode;
  bool sets_a;      // writes register A
  bool is_test;     // next instruction is a jump
  bool uses_top_in;   // B == 0 means "up to top" (CALL, TAILCALL, RETURN, SETLIST)
  bool sets_top_out;  // may leave the stack top open (CALL C==0, VARARG C==0)
};
extern const OpInfo op_info[NUM_OPCODES];  // opcodes.cpp

}  // namespace luna
