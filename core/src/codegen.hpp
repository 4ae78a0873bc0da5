// Compiler internals shared by the parser (parser.cpp) and the code
// generator (codegen.cpp): expression descriptors, per-function compile
// state, and the emission helpers the parser drives.
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "lexer.hpp"
#include "opcodes.hpp"

namespace luna {

constexpr int NO_JUMP = -1;   // end of a jump list
constexpr int MAX_VARS = 200; // locals per function
constexpr int MAX_UPVALS = 255;

// What an expression descriptor currently denotes.
enum class EK : uint8_t {
  Void,      // no value (empty expression list)
  Nil, True, False,
  K,         // constant in the table; info = index
  KFlt,      // float literal; nval
  KInt,      // integer literal; ival
  KStr,      // string literal; strval
  NonReloc,  // value fixed in register info
  Local,     // local variable; var.ridx register, var.vidx index in actvar
  Upval,     // upvalue; info = index
  Const,     // compile-time constant local; info = absolute index in actvar
  Indexed,   // R[ind.t][R[ind.idx]]
  IndexUp,   // U[ind.t][K[ind.idx]] (string key)
  IndexInt,  // R[ind.t][ind.idx] (small integer key)
  IndexStr,  // R[ind.t][K[ind.idx]] (short string key)
  Jmp,       // a test; info = pc of its jump
  Reloc,     // result goes anywhere: info = pc of the instruction whose A is open
  Call,      // info = pc of CALL
  Vararg,    // info = pc of VARARG
};

struct ExpDesc {
  EK k = EK::Void;
  union {
    Integer ival;
    Number nval;
    String* strval;
    int info;
    struct { short idx; uint8_t t; } ind;
    struct { uint8_t ridx; unsigned short vidx; } var;
  } u{};
  int t = NO_JUMP;  // jumps taken when the expression is true
  int f = NO_JUMP;  // jumps taken when it is false
  String* ro_global = nullptr;  // names a read-only global (5.5) while the expression is that variable
};

// Kinds of variable declarations (the local ones also in UpvalDesc::kind).
// Global declarations (5.5) sit among the locals to share their scoping but
// hold no register; a collective one (global *) is named "*".
enum : uint8_t { VD_REG = 0, VD_CONST = 1, VD_TOCLOSE = 2, VD_CTC = 3, VD_GLOBAL = 4, VD_GCONST = 5 };
inline bool vd_has_register(uint8_t kind) { return kind <= VD_TOCLOSE; }
inline bool vd_is_global(uint8_t kind) { return kind >= VD_GLOBAL; }

struct VarDesc {
  uint8_t kind;
  uint8_t ridx;   // register holding it (not for VD_CTC)
  short pidx;     // index of its LocVar in the Proto
  String* name;
  TValue k;        // the constant's value, for VD_CTC
};

// A pending goto or a label.
struct LabelDesc {
  String* name;
  int pc;
  int line;
  short nactvar;    // active variables at that point
  bool close;       // goto leaves the scope of upvalues / tbc variables
};

// Per-compilation dynamic data (one for the whole chunk).
struct Dyndata {
  std::vector<VarDesc> actvar;
  std::vector<LabelDesc> gt;
  std::vector<LabelDesc> label;
  // Long strings are not interned: equal literals of one chunk share the
  // first object created for them (as Lua does), keyed by content.
  std::unordered_map<std::string, String*> long_strings;
};

struct BlockCnt;

// Constant-table dedup key: type and bit pattern (or interned string).
struct KKey {
  int kind;        // 0 nil, 1 false, 2 true, 3 int, 4 float, 5 short string
  uint64_t bits;
  bool operator==(const KKey& o) const { return kind == o.kind && bits == o.bits; }
};
struct KKeyHash {
  size_t operator()(const KKey& k) const { return std::hash<uint64_t>()(k.bits) ^ (size_t(k.kind) << 1); }
};

struct FuncState {
  Proto* f = nullptr;
  FuncState* prev = nullptr;
  Lexer* ls = nullptr;
  BlockCnt* bl = nullptr;
  int pc = 0;           // next instruction
  int lasttarget = 0;   // last pc that is a jump target
  int nk = 0, np = 0;
  int firstlocal = 0;   // first actvar index of this function
  int firstlabel = 0;
  short ndebugvars = 0; // locvars in f
  short nactvar = 0;    // active variable declarations (locals and globals)
  short nglobals = 0;   // global declarations among this function's actvar
  uint8_t nups = 0;
  uint8_t freereg = 0;
  bool needclose = false;  // function has to close upvalues/tbc on return
  int vatab_reg = -1;      // register of a 5.5 named vararg table (...t), else -1
  std::unordered_map<KKey, int, KKeyHash> kcache;
  std::unordered_map<std::string, int> kcache_long;  // long strings by content
};

enum BinOpr {
  OPR_ADD, OPR_SUB, OPR_MUL, OPR_MOD, OPR_POW, OPR_DIV, OPR_IDIV,
  OPR_BAND, OPR_BOR, OPR_BXOR, OPR_SHL, OPR_SHR,
  OPR_CONCAT,
  OPR_EQ, OPR_LT, OPR_LE, OPR_NE, OPR_GT, OPR_GE,
  OPR_AND, OPR_OR,
  OPR_NOBINOPR
};
enum UnOpr { OPR_MINUS, OPR_BNOT, OPR_NOT, OPR_LEN, OPR_NOUNOPR };

// ---- codegen.cpp ----
int code_emit(FuncState* fs, Instruction i);
int code_ABCk(FuncState* fs, OpCode o, int a, int b, int c, int k);
inline int code_ABC(FuncState* fs, OpCode o, int a, int b, int c) { return code_ABCk(fs, o, a, b, c, 0); }
int code_ABx(FuncState* fs, OpCode o, int a, unsigned bx);
int code_AsBx(FuncState* fs, OpCode o, int a, int sbx);
void code_nil(FuncState* fs, int from, int n);
void code_int(FuncState* fs, int reg, Integer i);
int code_jump(FuncState* fs);
void code_ret(FuncState* fs, int first, int nret);
void fix_line(FuncState* fs, int line);
void patch_list(FuncState* fs, int list, int target);
void patch_to_here(FuncState* fs, int list);
void concat_jumps(FuncState* fs, int* l1, int l2);
int get_label(FuncState* fs);
void check_stack(FuncState* fs, int n);
int reg_level(FuncState* fs, int nvar);  // registers used by the first nvar locals
int nvarstack(FuncState* fs);            // registers used by the active locals
void reserve_regs(FuncState* fs, int n);
int string_k(FuncState* fs, String* s);
void set_returns(FuncState* fs, ExpDesc* e, int nresults);
inline void set_multret(FuncState* fs, ExpDesc* e) { set_returns(fs, e, MULTRET); }
void set_oneret(FuncState* fs, ExpDesc* e);
void discharge_vars(FuncState* fs, ExpDesc* e);
int exp2anyreg(FuncState* fs, ExpDesc* e);
void exp2anyregup(FuncState* fs, ExpDesc* e);
void exp2nextreg(FuncState* fs, ExpDesc* e);
void exp2val(FuncState* fs, ExpDesc* e);
bool exp2const(FuncState* fs, const ExpDesc* e, TValue* v);
void store_var(FuncState* fs, ExpDesc* var, ExpDesc* e);
// 5.5's global initialisation: a run-time error unless the global var (an
// indexed expression, not yet stored) is nil. Its instructions get line.
void code_check_undefined(FuncState* fs, const ExpDesc* var, String* name, int line);
void code_self(FuncState* fs, ExpDesc* e, ExpDesc* key);
void indexed(FuncState* fs, ExpDesc* t, ExpDesc* k);
void go_if_true(FuncState* fs, ExpDesc* e);
void go_if_false(FuncState* fs, ExpDesc* e);
void code_prefix(FuncState* fs, UnOpr op, ExpDesc* e, int line);
void code_infix(FuncState* fs, BinOpr op, ExpDesc* v);
void code_posfix(FuncState* fs, BinOpr op, ExpDesc* e1, ExpDesc* e2, int line);
void set_table_size(FuncState* fs, int pc, int ra, int asize, int hsize);
void code_setlist(FuncState* fs, int base, int nelems, int tostore);
void code_finish(FuncState* fs);
inline bool has_multret(EK k) { return k == EK::Call || k == EK::Vararg; }
inline Instruction& get_instruction(FuncState* fs, const ExpDesc* e) { return fs->f->code[e->u.info]; }
[[noreturn]] void sem_error(Lexer* ls, const std::string& msg);

}  // namespace luna
