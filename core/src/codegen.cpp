// Code generator: turns expression descriptors into register bytecode,
// manages jump lists, registers and constants of the function being built.
#include "codegen.hpp"

#include <cmath>
#include <cstring>

namespace luna {

[[noreturn]] void sem_error(Lexer* ls, const std::string& msg) {
  // Semantic errors carry no "near <token>" part.
  ls->error_at(msg.c_str(), dialect(ls->L).sem_error_last_line ? ls->lastline : ls->linenumber);
}

static bool has_jumps(const ExpDesc* e) { return e->t != e->f; }

// Tests are the instructions that are always followed by a jump.
static bool is_test_op(OpCode op) {
  switch (op) {
    case OP_EQ: case OP_LT: case OP_LE: case OP_EQK: case OP_EQI: case OP_LTI:
    case OP_LEI: case OP_GTI: case OP_GEI: case OP_TEST: case OP_TESTSET:
      return true;
    default:
      return false;
  }
}

static void set_op(Instruction& i, OpCode op) { i = (i & ~Instruction(0x7f)) | Instruction(op); }

// Grows a Proto array to hold at least n+1 elements, doubling its size.
template <typename T>
static void grow_array(State* L, T*& arr, int& size, int n, int limit, const char* what, FuncState* fs) {
  if (n < size) return;
  if (n >= limit) {
    std::string msg = std::string("too many ") + what + " (limit is " + std::to_string(limit) + ")";
    fs->ls->syntax_error(msg.c_str());
  }
  int newsize = size < 4 ? 4 : (size > limit / 2 ? limit : size * 2);
  arr = mem_resize_array<T>(L, arr, size_t(size), size_t(newsize));
  size = newsize;
}

int code_emit(FuncState* fs, Instruction i) {
  Proto* f = fs->f;
  State* L = fs->ls->L;
  if (fs->pc >= f->sizecode) {
    int old = f->sizecode;
    int oldl = f->sizelineinfo;
    grow_array(L, f->code, f->sizecode, fs->pc, 0x7fffffff / 2, "instructions", fs);
    f->lineinfo = mem_resize_array<int>(L, f->lineinfo, size_t(oldl), size_t(f->sizecode));
    f->sizelineinfo = f->sizecode;
    for (int j = old; j < f->sizecode; j++) { f->code[j] = 0; f->lineinfo[j] = 0; }
  }
  f->code[fs->pc] = i;
  f->lineinfo[fs->pc] = fs->ls->lastline;
  return fs->pc++;
}

int code_ABCk(FuncState* fs, OpCode o, int a, int b, int c, int k) {
  return code_emit(fs, create_ABCk(o, a, b, c, k));
}

int code_ABx(FuncState* fs, OpCode o, int a, unsigned bx) { return code_emit(fs, create_ABx(o, a, bx)); }

int code_AsBx(FuncState* fs, OpCode o, int a, int sbx) {
  return code_emit(fs, create_ABx(o, a, static_cast<unsigned>(sbx + OFFSET_sBx)));
}

static int code_extraarg(FuncState* fs, int a) { return code_emit(fs, create_Ax(OP_EXTRAARG, static_cast<unsigned>(a))); }

void fix_line(FuncState* fs, int line) { fs->f->lineinfo[fs->pc - 1] = line; }

// The last instruction, when no jump may land between it and the next one.
static const Instruction* previous_instruction(FuncState* fs) {
  static const Instruction invalid = create_Ax(OP_EXTRAARG, 0);  // matches no optimisation
  if (fs->pc > fs->lasttarget) return &fs->f->code[fs->pc - 1];
  return &invalid;
}

void code_nil(FuncState* fs, int from, int n) {
  int last = from + n - 1;
  if (get_op(*previous_instruction(fs)) == OP_LOADNIL) {
    Instruction* prev = &fs->f->code[fs->pc - 1];  // merge with an adjacent or overlapping LOADNIL
    int pfrom = getarg_A(*prev);
    int plast = pfrom + getarg_B(*prev);
    if ((pfrom <= from && from <= plast + 1) || (from <= pfrom && pfrom <= last + 1)) {
      if (pfrom < from) from = pfrom;
      if (plast > last) last = plast;
      setarg_A(*prev, from);
      setarg_B(*prev, last - from);
      return;
    }
  }
  code_ABC(fs, OP_LOADNIL, from, n - 1, 0);
}

// ---------------------------------------------------------------- jumps

static int get_jump(FuncState* fs, int pc) {
  int off = getarg_sJ(fs->f->code[pc]);
  return off == NO_JUMP ? NO_JUMP : pc + 1 + off;
}

static void fix_jump(FuncState* fs, int pc, int dest) {
  int off = dest - (pc + 1);
  if (!(-OFFSET_sJ <= off && off <= MAXARG_sJ - OFFSET_sJ)) fs->ls->syntax_error("control structure too long");
  setarg_sJ(fs->f->code[pc], off);
}

void concat_jumps(FuncState* fs, int* l1, int l2) {
  if (l2 == NO_JUMP) return;
  if (*l1 == NO_JUMP) { *l1 = l2; return; }
  int list = *l1;
  for (int next; (next = get_jump(fs, list)) != NO_JUMP;) list = next;
  fix_jump(fs, list, l2);
}

int code_jump(FuncState* fs) { return code_emit(fs, create_sJ(OP_JMP, NO_JUMP, 0)); }

void code_ret(FuncState* fs, int first, int nret) {
  OpCode op = nret == 0 ? OP_RETURN0 : nret == 1 ? OP_RETURN1 : OP_RETURN;
  code_ABC(fs, op, first, nret + 1, 0);
}

static int cond_jump(FuncState* fs, OpCode op, int a, int b, int c, int k) {
  code_ABCk(fs, op, a, b, c, k);
  return code_jump(fs);
}

int get_label(FuncState* fs) {
  fs->lasttarget = fs->pc;
  return fs->pc;
}

// The instruction controlling a jump: its test, when there is one.
static Instruction* get_control(FuncState* fs, int pc) {
  Instruction* p = &fs->f->code[pc];
  if (pc >= 1 && is_test_op(get_op(*(p - 1)))) return p - 1;
  return p;
}

// A TESTSET that produces a value into reg; with reg == NO_REG (or the
// value already in place) it becomes a plain TEST. False if not a TESTSET.
static bool patch_test_reg(FuncState* fs, int node, int reg) {
  Instruction* i = get_control(fs, node);
  if (get_op(*i) != OP_TESTSET) return false;
  if (reg != NO_REG && reg != getarg_B(*i))
    setarg_A(*i, reg);
  else
    *i = create_ABCk(OP_TEST, getarg_B(*i), 0, 0, getarg_k(*i));
  return true;
}

static void remove_values(FuncState* fs, int list) {
  for (; list != NO_JUMP; list = get_jump(fs, list)) patch_test_reg(fs, list, NO_REG);
}

// Jumps whose test produces a value go to vtarget with the value in reg;
// the others go to dtarget.
static void patch_list_aux(FuncState* fs, int list, int vtarget, int reg, int dtarget) {
  while (list != NO_JUMP) {
    int next = get_jump(fs, list);
    if (patch_test_reg(fs, list, reg))
      fix_jump(fs, list, vtarget);
    else
      fix_jump(fs, list, dtarget);
    list = next;
  }
}

void patch_list(FuncState* fs, int list, int target) { patch_list_aux(fs, list, target, NO_REG, target); }

void patch_to_here(FuncState* fs, int list) { patch_list(fs, list, get_label(fs)); }

// ------------------------------------------------------------ registers

void check_stack(FuncState* fs, int n) {
  int newstack = fs->freereg + n;
  if (newstack > fs->f->maxstacksize) {
    if (newstack >= MAX_FSTACK) fs->ls->syntax_error("function or expression needs too many registers");
    fs->f->maxstacksize = static_cast<uint8_t>(newstack);
  }
}

void reserve_regs(FuncState* fs, int n) {
  check_stack(fs, n);
  fs->freereg = static_cast<uint8_t>(fs->freereg + n);
}

int reg_level(FuncState* fs, int nvar) {
  while (nvar-- > 0) {
    const VarDesc& vd = fs->ls->dyd->actvar[size_t(fs->firstlocal + nvar)];
    if (vd_has_register(vd.kind)) return vd.ridx + 1;
  }
  return 0;
}

int nvarstack(FuncState* fs) { return reg_level(fs, fs->nactvar); }

static void free_reg(FuncState* fs, int reg) {
  if (reg >= nvarstack(fs)) fs->freereg--;
}

static void free_regs(FuncState* fs, int r1, int r2) {
  // Temporaries are a stack: free the higher register first.
  if (r1 > r2) { free_reg(fs, r1); free_reg(fs, r2); }
  else { free_reg(fs, r2); free_reg(fs, r1); }
}

static void free_exp(FuncState* fs, ExpDesc* e) {
  if (e->k == EK::NonReloc) free_reg(fs, e->u.info);
}

static void free_exps(FuncState* fs, ExpDesc* e1, ExpDesc* e2) {
  int r1 = e1->k == EK::NonReloc ? e1->u.info : -1;
  int r2 = e2->k == EK::NonReloc ? e2->u.info : -1;
  free_regs(fs, r1, r2);
}

// ------------------------------------------------------------ constants

static int add_k(FuncState* fs, const KKey& key, const TValue& v) {
  auto it = fs->kcache.find(key);
  if (it != fs->kcache.end()) return it->second;
  Proto* f = fs->f;
  int old = f->sizek;
  grow_array(fs->ls->L, f->k, f->sizek, fs->nk, MAXARG_Ax, "constants", fs);
  for (int j = old; j < f->sizek; j++) f->k[j] = TValue();
  f->k[fs->nk] = v;
  fs->kcache.emplace(key, fs->nk);
  return fs->nk++;
}

int string_k(FuncState* fs, String* s) {
  if (s->tag == Tag::ShortStr) return add_k(fs, KKey{5, reinterpret_cast<uintptr_t>(s)}, str_value(s));
  std::string content(s->data, s->len);
  auto it = fs->kcache_long.find(content);
  if (it != fs->kcache_long.end()) return it->second;
  // Long strings are keyed by content; a unique key keeps the shared cache apart.
  int idx = add_k(fs, KKey{6, uint64_t(fs->nk)}, str_value(s));
  fs->kcache_long.emplace(std::move(content), idx);
  return idx;
}

static int int_k(FuncState* fs, Integer i) { return add_k(fs, KKey{3, static_cast<uint64_t>(i)}, TValue::integer(i)); }

static int number_k(FuncState* fs, Number n) {
  uint64_t bits;
  std::memcpy(&bits, &n, sizeof bits);
  return add_k(fs, KKey{4, bits}, TValue::number(n));
}

static int bool_k(FuncState* fs, bool b) { return add_k(fs, KKey{b ? 2 : 1, 0}, TValue::boolean(b)); }
static int nil_k(FuncState* fs) { return add_k(fs, KKey{0, 0}, TValue()); }

static void code_loadk(FuncState* fs, int reg, int k) {
  if (k <= MAXARG_Bx) {
    code_ABx(fs, OP_LOADK, reg, static_cast<unsigned>(k));
  } else {
    code_ABx(fs, OP_LOADKX, reg, 0);
    code_extraarg(fs, k);
  }
}

static bool fits_sBx(Integer i) { return -OFFSET_sBx <= i && i <= MAXARG_Bx - OFFSET_sBx; }

void code_int(FuncState* fs, int reg, Integer i) {
  if (fits_sBx(i))
    code_AsBx(fs, OP_LOADI, reg, static_cast<int>(i));
  else
    code_loadk(fs, reg, int_k(fs, i));
}

static void code_float(FuncState* fs, int reg, Number n) {
  Integer fi;
  if (float_to_integer(n, &fi, F2I::Exact) && fits_sBx(fi))
    code_AsBx(fs, OP_LOADF, reg, static_cast<int>(fi));
  else
    code_loadk(fs, reg, number_k(fs, n));
}

static void str_to_k(FuncState* fs, ExpDesc* e) {
  e->u.info = string_k(fs, e->u.strval);
  e->k = EK::K;
}

// Numeric literal value of e (when it is one, without pending jumps).
static bool to_numeral(const ExpDesc* e, TValue* v) {
  if (has_jumps(e)) return false;
  if (e->k == EK::KInt) { if (v) *v = TValue::integer(e->u.ival); return true; }
  if (e->k == EK::KFlt) { if (v) *v = TValue::number(e->u.nval); return true; }
  return false;
}

static void const_to_exp(const TValue& v, ExpDesc* e) {
  switch (v.tag) {
    case Tag::Int: e->k = EK::KInt; e->u.ival = v.u.i; break;
    case Tag::Float: e->k = EK::KFlt; e->u.nval = v.u.n; break;
    case Tag::False: e->k = EK::False; break;
    case Tag::True: e->k = EK::True; break;
    case Tag::ShortStr: case Tag::LongStr: e->k = EK::KStr; e->u.strval = v.as_string(); break;
    default: e->k = EK::Nil; break;
  }
}

bool exp2const(FuncState* fs, const ExpDesc* e, TValue* v) {
  if (has_jumps(e)) return false;
  switch (e->k) {
    case EK::False: *v = TValue::boolean(false); return true;
    case EK::True: *v = TValue::boolean(true); return true;
    case EK::Nil: *v = TValue(); return true;
    case EK::KStr: *v = str_value(e->u.strval); return true;
    case EK::Const: *v = fs->ls->dyd->actvar[size_t(e->u.info)].k; return true;
    default: return to_numeral(e, v);
  }
}

// ------------------------------------------------------- discharging

void set_returns(FuncState* fs, ExpDesc* e, int nresults) {
  Instruction& pc = get_instruction(fs, e);
  setarg_C(pc, nresults + 1);
  if (e->k == EK::Vararg) {
    setarg_A(pc, fs->freereg);
    reserve_regs(fs, 1);
  }
}

void set_oneret(FuncState* fs, ExpDesc* e) {
  if (e->k == EK::Call) {
    e->k = EK::NonReloc;
    e->u.info = getarg_A(get_instruction(fs, e));
  } else if (e->k == EK::Vararg) {
    setarg_C(get_instruction(fs, e), 2);
    e->k = EK::Reloc;
  }
}

void discharge_vars(FuncState* fs, ExpDesc* e) {
  switch (e->k) {
    case EK::Const:
      const_to_exp(fs->ls->dyd->actvar[size_t(e->u.info)].k, e);
      break;
    case EK::Local:
      e->u.info = e->u.var.ridx;
      e->k = EK::NonReloc;
      break;
    case EK::Upval:
      e->u.info = code_ABC(fs, OP_GETUPVAL, 0, e->u.info, 0);
      e->k = EK::Reloc;
      break;
    case EK::IndexUp:
      e->u.info = code_ABC(fs, OP_GETTABUP, 0, e->u.ind.t, e->u.ind.idx);
      e->k = EK::Reloc;
      break;
    case EK::IndexInt: {
      int t = e->u.ind.t, idx = e->u.ind.idx;
      free_reg(fs, t);
      e->u.info = code_ABC(fs, OP_GETI, 0, t, idx);
      e->k = EK::Reloc;
      break;
    }
    case EK::IndexStr: {
      int t = e->u.ind.t, idx = e->u.ind.idx;
      free_reg(fs, t);
      e->u.info = code_ABC(fs, OP_GETFIELD, 0, t, idx);
      e->k = EK::Reloc;
      break;
    }
    case EK::Indexed: {
      int t = e->u.ind.t, idx = e->u.ind.idx;
      free_regs(fs, t, idx);
      e->u.info = code_ABC(fs, OP_GETTABLE, 0, t, idx);
      e->k = EK::Reloc;
      break;
    }
    case EK::Vararg: case EK::Call:
      set_oneret(fs, e);
      break;
    default:
      break;
  }
}

static void discharge2reg(FuncState* fs, ExpDesc* e, int reg) {
  discharge_vars(fs, e);
  switch (e->k) {
    case EK::Nil: code_nil(fs, reg, 1); break;
    case EK::False: code_ABC(fs, OP_LOADFALSE, reg, 0, 0); break;
    case EK::True: code_ABC(fs, OP_LOADTRUE, reg, 0, 0); break;
    case EK::KStr: str_to_k(fs, e); code_loadk(fs, reg, e->u.info); break;
    case EK::K: code_loadk(fs, reg, e->u.info); break;
    case EK::KFlt: code_float(fs, reg, e->u.nval); break;
    case EK::KInt: code_int(fs, reg, e->u.ival); break;
    case EK::Reloc: setarg_A(get_instruction(fs, e), reg); break;
    case EK::NonReloc:
      if (reg != e->u.info) code_ABC(fs, OP_MOVE, reg, e->u.info, 0);
      break;
    default:
      return;  // a jump: nothing to load yet
  }
  e->u.info = reg;
  e->k = EK::NonReloc;
}

static void discharge2anyreg(FuncState* fs, ExpDesc* e) {
  if (e->k != EK::NonReloc) {
    reserve_regs(fs, 1);
    discharge2reg(fs, e, fs->freereg - 1);
  }
}

static int code_loadbool(FuncState* fs, int a, OpCode op) {
  get_label(fs);  // these are jump targets
  return code_ABC(fs, op, a, 0, 0);
}

// Whether some jump in the list needs an explicit boolean value.
static bool need_value(FuncState* fs, int list) {
  for (; list != NO_JUMP; list = get_jump(fs, list))
    if (get_op(*get_control(fs, list)) != OP_TESTSET) return true;
  return false;
}

static void exp2reg(FuncState* fs, ExpDesc* e, int reg) {
  discharge2reg(fs, e, reg);
  if (e->k == EK::Jmp) concat_jumps(fs, &e->t, e->u.info);
  if (has_jumps(e)) {
    int p_f = NO_JUMP, p_t = NO_JUMP;
    if (need_value(fs, e->t) || need_value(fs, e->f)) {
      int fj = e->k == EK::Jmp ? NO_JUMP : code_jump(fs);
      p_f = code_loadbool(fs, reg, OP_LFALSESKIP);
      p_t = code_loadbool(fs, reg, OP_LOADTRUE);
      patch_to_here(fs, fj);
    }
    int final = get_label(fs);
    patch_list_aux(fs, e->f, final, reg, p_f);
    patch_list_aux(fs, e->t, final, reg, p_t);
  }
  e->f = e->t = NO_JUMP;
  e->u.info = reg;
  e->k = EK::NonReloc;
}

void exp2nextreg(FuncState* fs, ExpDesc* e) {
  discharge_vars(fs, e);
  free_exp(fs, e);
  reserve_regs(fs, 1);
  exp2reg(fs, e, fs->freereg - 1);
}

int exp2anyreg(FuncState* fs, ExpDesc* e) {
  discharge_vars(fs, e);
  if (e->k == EK::NonReloc) {
    if (!has_jumps(e)) return e->u.info;
    if (e->u.info >= nvarstack(fs)) {  // a temporary: put the final value there
      exp2reg(fs, e, e->u.info);
      return e->u.info;
    }
    // a local with pending jumps: its register must not change, use a new one
  }
  exp2nextreg(fs, e);
  return e->u.info;
}

void exp2anyregup(FuncState* fs, ExpDesc* e) {
  if (e->k != EK::Upval || has_jumps(e)) exp2anyreg(fs, e);
}

void exp2val(FuncState* fs, ExpDesc* e) {
  // A pending comparison must be materialised now, before code for other
  // operands lands between its test and its jump targets.
  if (e->k == EK::Jmp || has_jumps(e))
    exp2anyreg(fs, e);
  else
    discharge_vars(fs, e);
}

// Turns e into a constant-table operand when it is a constant that fits C.
static bool exp2K(FuncState* fs, ExpDesc* e) {
  if (has_jumps(e)) return false;
  int info;
  switch (e->k) {
    case EK::True: info = bool_k(fs, true); break;
    case EK::False: info = bool_k(fs, false); break;
    case EK::Nil: info = nil_k(fs); break;
    case EK::KInt: info = int_k(fs, e->u.ival); break;
    case EK::KFlt: info = number_k(fs, e->u.nval); break;
    case EK::KStr: info = string_k(fs, e->u.strval); break;
    case EK::K: info = e->u.info; break;
    default: return false;
  }
  if (info > MAXARG_B) return false;
  e->k = EK::K;
  e->u.info = info;
  return true;
}

static bool exp2RK(FuncState* fs, ExpDesc* e) {
  if (exp2K(fs, e)) return true;
  exp2anyreg(fs, e);
  return false;
}

static void code_ABRK(FuncState* fs, OpCode o, int a, int b, ExpDesc* ec) {
  int k = exp2RK(fs, ec) ? 1 : 0;
  code_ABCk(fs, o, a, b, ec->u.info, k);
}

void code_check_undefined(FuncState* fs, const ExpDesc* var, String* name, int line) {
  int tmp = fs->freereg;
  reserve_regs(fs, 1);
  switch (var->k) {  // read the variable without freeing the registers the store needs
    case EK::IndexUp: code_ABC(fs, OP_GETTABUP, tmp, var->u.ind.t, var->u.ind.idx); break;
    case EK::IndexStr: code_ABC(fs, OP_GETFIELD, tmp, var->u.ind.t, var->u.ind.idx); break;
    default: code_ABC(fs, OP_GETTABLE, tmp, var->u.ind.t, var->u.ind.idx); break;
  }
  fix_line(fs, line);
  int kname = string_k(fs, name);
  code_ABx(fs, OP_ERRNNIL, tmp, kname < MAXARG_Bx ? static_cast<unsigned>(kname + 1) : 0u);
  fix_line(fs, line);
  fs->freereg--;
}

void store_var(FuncState* fs, ExpDesc* var, ExpDesc* ex) {
  switch (var->k) {
    case EK::Local:
      free_exp(fs, ex);
      exp2reg(fs, ex, var->u.var.ridx);
      return;
    case EK::Upval: {
      int e = exp2anyreg(fs, ex);
      code_ABC(fs, OP_SETUPVAL, e, var->u.info, 0);
      break;
    }
    case EK::IndexUp: code_ABRK(fs, OP_SETTABUP, var->u.ind.t, var->u.ind.idx, ex); break;
    case EK::IndexInt: code_ABRK(fs, OP_SETI, var->u.ind.t, var->u.ind.idx, ex); break;
    case EK::IndexStr: code_ABRK(fs, OP_SETFIELD, var->u.ind.t, var->u.ind.idx, ex); break;
    case EK::Indexed: code_ABRK(fs, OP_SETTABLE, var->u.ind.t, var->u.ind.idx, ex); break;
    default: break;
  }
  free_exp(fs, ex);
}

void code_self(FuncState* fs, ExpDesc* e, ExpDesc* key) {
  exp2anyreg(fs, e);
  int ereg = e->u.info;
  free_exp(fs, e);
  e->u.info = fs->freereg;  // function and self go to consecutive registers
  e->k = EK::NonReloc;
  reserve_regs(fs, 2);
  code_ABRK(fs, OP_SELF, e->u.info, ereg, key);
  free_exp(fs, key);
}

// --------------------------------------------------------- conditions

static void negate_condition(FuncState* fs, ExpDesc* e) {
  Instruction* pc = get_control(fs, e->u.info);
  setarg_k(*pc, getarg_k(*pc) ^ 1);
}

// Emits a jump taken when e's truth equals cond; returns its pc.
static int jump_on_cond(FuncState* fs, ExpDesc* e, int cond) {
  if (e->k == EK::Reloc) {
    Instruction ie = get_instruction(fs, e);
    if (get_op(ie) == OP_NOT) {  // test the operand of 'not' directly
      fs->pc--;
      return cond_jump(fs, OP_TEST, getarg_B(ie), 0, 0, !cond);
    }
  }
  discharge2anyreg(fs, e);
  free_exp(fs, e);
  return cond_jump(fs, OP_TESTSET, NO_REG, e->u.info, 0, cond);
}

void go_if_true(FuncState* fs, ExpDesc* e) {
  int pc;
  discharge_vars(fs, e);
  switch (e->k) {
    case EK::Jmp:
      negate_condition(fs, e);
      pc = e->u.info;
      break;
    case EK::K: case EK::KFlt: case EK::KInt: case EK::KStr: case EK::True:
      pc = NO_JUMP;  // always true
      break;
    default:
      pc = jump_on_cond(fs, e, 0);
      break;
  }
  concat_jumps(fs, &e->f, pc);
  patch_to_here(fs, e->t);
  e->t = NO_JUMP;
}

void go_if_false(FuncState* fs, ExpDesc* e) {
  int pc;
  discharge_vars(fs, e);
  switch (e->k) {
    case EK::Jmp: pc = e->u.info; break;
    case EK::Nil: case EK::False: pc = NO_JUMP; break;  // always false
    default: pc = jump_on_cond(fs, e, 1); break;
  }
  concat_jumps(fs, &e->t, pc);
  patch_to_here(fs, e->f);
  e->f = NO_JUMP;
}

static void code_not(FuncState* fs, ExpDesc* e) {
  switch (e->k) {
    case EK::Nil: case EK::False: e->k = EK::True; break;
    case EK::K: case EK::KFlt: case EK::KInt: case EK::KStr: case EK::True: e->k = EK::False; break;
    case EK::Jmp: negate_condition(fs, e); break;
    case EK::Reloc: case EK::NonReloc: {
      discharge2anyreg(fs, e);
      free_exp(fs, e);
      e->u.info = code_ABC(fs, OP_NOT, 0, e->u.info, 0);
      e->k = EK::Reloc;
      break;
    }
    default: break;
  }
  std::swap(e->f, e->t);
  remove_values(fs, e->f);
  remove_values(fs, e->t);
}

// ------------------------------------------------------------ indexing

static bool is_kstr(FuncState* fs, const ExpDesc* e) {
  return e->k == EK::K && !has_jumps(e) && e->u.info <= MAXARG_B &&
         fs->f->k[e->u.info].tag == Tag::ShortStr;
}

static bool is_cint(const ExpDesc* e) {
  return e->k == EK::KInt && !has_jumps(e) && e->u.ival >= 0 && e->u.ival <= MAXARG_C;
}

void indexed(FuncState* fs, ExpDesc* t, ExpDesc* k) {
  if (k->k == EK::KStr) str_to_k(fs, k);
  if (t->k == EK::Upval && !is_kstr(fs, k)) exp2anyreg(fs, t);  // GETTABUP takes only string keys
  if (t->k == EK::Upval) {
    int up = t->u.info;
    t->u.ind.t = static_cast<uint8_t>(up);
    t->u.ind.idx = static_cast<short>(k->u.info);
    t->k = EK::IndexUp;
    return;
  }
  int reg = t->k == EK::Local ? t->u.var.ridx : t->u.info;
  if (is_kstr(fs, k)) {
    t->u.ind.idx = static_cast<short>(k->u.info);
    t->k = EK::IndexStr;
  } else if (is_cint(k)) {
    t->u.ind.idx = static_cast<short>(k->u.ival);
    t->k = EK::IndexInt;
  } else {
    t->u.ind.idx = static_cast<short>(exp2anyreg(fs, k));
    t->k = EK::Indexed;
  }
  t->u.ind.t = static_cast<uint8_t>(reg);
}

// ------------------------------------------------------------ operators

static bool valid_fold(int op, const TValue& v1, const TValue& v2) {
  switch (op) {
    case OPBAND: case OPBOR: case OPBXOR: case OPSHL: case OPSHR: case OPBNOT: {
      Integer i;
      return to_integer(v1, &i, F2I::Exact, false) && to_integer(v2, &i, F2I::Exact, false);
    }
    case OPDIV: case OPIDIV: case OPMOD:
      return v2.as_number() != 0;
    default:
      return true;
  }
}

// Folds op over two numeric literals when that cannot raise and the result
// is representable as a literal (no NaN, no zero float whose sign matters).
static bool const_folding(FuncState* fs, int op, ExpDesc* e1, const ExpDesc* e2) {
  TValue v1, v2, res;
  if (!to_numeral(e1, &v1) || !to_numeral(e2, &v2) || !valid_fold(op, v1, v2)) return false;
  if (!raw_arith(fs->ls->L, op, v1, v2, &res)) return false;
  if (res.is_int()) {
    e1->k = EK::KInt;
    e1->u.ival = res.u.i;
  } else {
    Number n = res.as_number();
    if (std::isnan(n) || n == 0) return false;
    e1->k = EK::KFlt;
    e1->u.nval = n;
  }
  return true;
}

static void code_unexpval(FuncState* fs, OpCode op, ExpDesc* e, int line) {
  int r = exp2anyreg(fs, e);
  free_exp(fs, e);
  e->u.info = code_ABC(fs, op, 0, r, 0);
  e->k = EK::Reloc;
  fix_line(fs, line);
}

void code_prefix(FuncState* fs, UnOpr op, ExpDesc* e, int line) {
  ExpDesc zero;
  zero.k = EK::KInt;
  zero.u.ival = 0;
  discharge_vars(fs, e);
  switch (op) {
    case OPR_MINUS:
      if (!const_folding(fs, OPUNM, e, &zero)) code_unexpval(fs, OP_UNM, e, line);
      break;
    case OPR_BNOT:
      if (!const_folding(fs, OPBNOT, e, &zero)) code_unexpval(fs, OP_BNOT, e, line);
      break;
    case OPR_LEN: code_unexpval(fs, OP_LEN, e, line); break;
    case OPR_NOT: code_not(fs, e); break;
    default: break;
  }
}

// Small integer (or integral float) literal fitting a signed C operand;
// *im gets it encoded.
static bool is_sc_number(const ExpDesc* e, int* im, int* isfloat) {
  Integer i;
  if (e->k == EK::KInt)
    i = e->u.ival;
  else if (e->k == EK::KFlt && float_to_integer(e->u.nval, &i, F2I::Exact))
    *isfloat = 1;
  else
    return false;
  if (has_jumps(e) || i < -OFFSET_sC || i > MAXARG_C - OFFSET_sC) return false;
  *im = static_cast<int>(i) + OFFSET_sC;
  return true;
}

static bool is_sc_int(const ExpDesc* e) {
  return e->k == EK::KInt && !has_jumps(e) && e->u.ival >= -OFFSET_sC && e->u.ival <= MAXARG_C - OFFSET_sC;
}

void code_infix(FuncState* fs, BinOpr op, ExpDesc* v) {
  discharge_vars(fs, v);
  switch (op) {
    case OPR_AND: go_if_true(fs, v); break;
    case OPR_OR: go_if_false(fs, v); break;
    case OPR_CONCAT: exp2nextreg(fs, v); break;  // operands must be consecutive
    case OPR_ADD: case OPR_SUB: case OPR_MUL: case OPR_DIV: case OPR_MOD: case OPR_IDIV:
    case OPR_POW: case OPR_BAND: case OPR_BOR: case OPR_BXOR: case OPR_SHL: case OPR_SHR:
      if (!to_numeral(v, nullptr)) exp2anyreg(fs, v);  // numerals may fold or be immediates
      break;
    case OPR_EQ: case OPR_NE:
      if (!to_numeral(v, nullptr)) exp2RK(fs, v);
      break;
    case OPR_LT: case OPR_LE: case OPR_GT: case OPR_GE: {
      int im, isf = 0;
      if (!is_sc_number(v, &im, &isf)) exp2anyreg(fs, v);
      break;
    }
    default: break;
  }
}

static void code_concat(FuncState* fs, ExpDesc* e1, ExpDesc* e2, int line) {
  if (get_op(*previous_instruction(fs)) == OP_CONCAT) {  // e2 was itself a concatenation: extend it
    Instruction* ie2 = &fs->f->code[fs->pc - 1];
    int n = getarg_B(*ie2);
    free_exp(fs, e2);
    setarg_A(*ie2, e1->u.info);
    setarg_B(*ie2, n + 1);
  } else {
    code_ABC(fs, OP_CONCAT, e1->u.info, 2, 0);
    free_exp(fs, e2);
    fix_line(fs, line);
  }
}

static void code_bin_regs(FuncState* fs, OpCode op, ExpDesc* e1, ExpDesc* e2, int line) {
  int v2 = exp2anyreg(fs, e2);
  int v1 = exp2anyreg(fs, e1);
  free_exps(fs, e1, e2);
  e1->u.info = code_ABC(fs, op, 0, v1, v2);
  e1->k = EK::Reloc;
  fix_line(fs, line);
}

// Binary op with an immediate or constant operand c; r is the register
// operand. flip (the k bit) says the constant came first in the source.
static void code_bin_imm(FuncState* fs, OpCode op, ExpDesc* e1, ExpDesc* reg_e, int c, int line, int flip = 0) {
  int r = exp2anyreg(fs, reg_e);
  free_exp(fs, reg_e);
  e1->u.info = code_ABCk(fs, op, 0, r, c, flip);
  e1->k = EK::Reloc;
  fix_line(fs, line);
}

static void code_arith(FuncState* fs, BinOpr opr, ExpDesc* e1, ExpDesc* e2, int line) {
  // Metamethods get the operands in source order, so a constant may become
  // the immediate/K operand when it is the second operand, SHLI's first,
  // or the first of + and *, whose ADDI/ADDK/MULK then carry k (flip) for
  // the metamethod's order (mandelbrot's 2.0 * zr: one instruction, not a
  // LOADF and a MUL).
  int flip = 0;
  if ((opr == OPR_ADD || opr == OPR_MUL) && to_numeral(e1, nullptr) && !to_numeral(e2, nullptr)) {
    std::swap(*e1, *e2);
    flip = 1;
  }
  if (opr == OPR_ADD && is_sc_int(e2)) {
    code_bin_imm(fs, OP_ADDI, e1, e1, static_cast<int>(e2->u.ival) + OFFSET_sC, line, flip);
    return;
  }
  if (opr == OPR_SHR && is_sc_int(e2)) {
    code_bin_imm(fs, OP_SHRI, e1, e1, static_cast<int>(e2->u.ival) + OFFSET_sC, line);
    return;
  }
  if (opr == OPR_SHL && is_sc_int(e1)) {
    int im = static_cast<int>(e1->u.ival) + OFFSET_sC;
    code_bin_imm(fs, OP_SHLI, e1, e2, im, line);
    return;
  }
  bool has_k = opr <= OPR_BXOR;
  bool k_ok = opr >= OPR_BAND ? e2->k == EK::KInt : to_numeral(e2, nullptr);
  if (has_k && k_ok && exp2K(fs, e2)) {
    OpCode op = static_cast<OpCode>(OP_ADDK + (opr - OPR_ADD));
    code_bin_imm(fs, op, e1, e1, e2->u.info, line, flip);
    return;
  }
  if (flip) std::swap(*e1, *e2);
  code_bin_regs(fs, static_cast<OpCode>(OP_ADD + (opr - OPR_ADD)), e1, e2, line);
}

static void code_order(FuncState* fs, BinOpr opr, ExpDesc* e1, ExpDesc* e2) {
  int r1, r2, im, isfloat = 0;
  OpCode op;
  if (is_sc_number(e2, &im, &isfloat)) {
    r1 = exp2anyreg(fs, e1);
    r2 = im;
    op = opr == OPR_LT ? OP_LTI : OP_LEI;
  } else if (is_sc_number(e1, &im, &isfloat)) {
    // (k < x) is (x > k), (k <= x) is (x >= k)
    r1 = exp2anyreg(fs, e2);
    r2 = im;
    op = opr == OPR_LT ? OP_GTI : OP_GEI;
  } else {
    r1 = exp2anyreg(fs, e1);
    r2 = exp2anyreg(fs, e2);
    op = opr == OPR_LT ? OP_LT : OP_LE;
  }
  free_exps(fs, e1, e2);
  e1->u.info = cond_jump(fs, op, r1, r2, isfloat, 1);
  e1->k = EK::Jmp;
}

static void code_eq(FuncState* fs, BinOpr opr, ExpDesc* e1, ExpDesc* e2) {
  int r1, r2, im, isfloat = 0;
  OpCode op;
  if (e1->k != EK::NonReloc) std::swap(*e1, *e2);  // constant first: equality is symmetric
  r1 = exp2anyreg(fs, e1);
  if (is_sc_number(e2, &im, &isfloat)) {
    op = OP_EQI;
    r2 = im;
  } else if (exp2RK(fs, e2)) {
    op = OP_EQK;
    r2 = e2->u.info;
  } else {
    op = OP_EQ;
    r2 = exp2anyreg(fs, e2);
  }
  free_exps(fs, e1, e2);
  e1->u.info = cond_jump(fs, op, r1, r2, isfloat, opr == OPR_EQ ? 1 : 0);
  e1->k = EK::Jmp;
}

void code_posfix(FuncState* fs, BinOpr opr, ExpDesc* e1, ExpDesc* e2, int line) {
  discharge_vars(fs, e2);
  if (opr <= OPR_SHR && const_folding(fs, OPADD + (opr - OPR_ADD), e1, e2)) return;
  switch (opr) {
    case OPR_AND:
      concat_jumps(fs, &e2->f, e1->f);
      *e1 = *e2;
      break;
    case OPR_OR:
      concat_jumps(fs, &e2->t, e1->t);
      *e1 = *e2;
      break;
    case OPR_CONCAT:
      exp2nextreg(fs, e2);
      code_concat(fs, e1, e2, line);
      break;
    case OPR_ADD: case OPR_SUB: case OPR_MUL: case OPR_DIV: case OPR_MOD: case OPR_IDIV:
    case OPR_POW: case OPR_BAND: case OPR_BOR: case OPR_BXOR: case OPR_SHL: case OPR_SHR:
      code_arith(fs, opr, e1, e2, line);
      break;
    case OPR_EQ: case OPR_NE:
      code_eq(fs, opr, e1, e2);
      break;
    case OPR_GT: case OPR_GE:
      // (a > b) is (b < a): operands are already evaluated, so swapping is safe
      std::swap(*e1, *e2);
      code_order(fs, opr == OPR_GT ? OPR_LT : OPR_LE, e1, e2);
      break;
    case OPR_LT: case OPR_LE:
      code_order(fs, opr, e1, e2);
      break;
    default: break;
  }
}

// --------------------------------------------------------------- tables

void set_table_size(FuncState* fs, int pc, int ra, int asize, int hsize) {
  Instruction* inst = &fs->f->code[pc];
  int rb = hsize != 0 ? ceil_log2(static_cast<unsigned>(hsize)) + 1 : 0;
  int extra = asize / (MAXARG_C + 1);
  int rc = asize % (MAXARG_C + 1);
  inst[0] = create_ABCk(OP_NEWTABLE, ra, rb, rc, extra > 0 ? 1 : 0);
  inst[1] = create_Ax(OP_EXTRAARG, static_cast<unsigned>(extra));
}

void code_setlist(FuncState* fs, int base, int nelems, int tostore) {
  if (tostore == MULTRET) tostore = 0;
  if (nelems <= MAXARG_C) {
    code_ABC(fs, OP_SETLIST, base, tostore, nelems);
  } else {
    int extra = nelems / (MAXARG_C + 1);
    code_ABCk(fs, OP_SETLIST, base, tostore, nelems % (MAXARG_C + 1), 1);
    code_extraarg(fs, extra);
  }
  fs->freereg = static_cast<uint8_t>(base + 1);
}

// ---------------------------------------------------------------- finish

// Final destination of a chain of unconditional jumps (bounded, in case of loops).
static int final_target(const Instruction* code, int i) {
  for (int count = 0; count < 100; count++) {
    Instruction pc = code[i];
    if (get_op(pc) != OP_JMP) break;
    i += getarg_sJ(pc) + 1;
  }
  return i;
}

void code_finish(FuncState* fs) {
  Proto* p = fs->f;
  for (int i = 0; i < fs->pc; i++) {
    Instruction& pc = p->code[i];
    switch (get_op(pc)) {
      case OP_RETURN0: case OP_RETURN1:
        if (!(fs->needclose || p->is_vararg)) break;
        set_op(pc, OP_RETURN);  // the short forms cannot close or fix varargs
        [[fallthrough]];
      case OP_RETURN: case OP_TAILCALL:
        if (fs->needclose) setarg_k(pc, 1);
        if (p->is_vararg) setarg_C(pc, p->numparams + 1);
        break;
      case OP_JMP:
        fix_jump(fs, i, final_target(p->code, i));
        break;
      default:
        break;
    }
  }
}

}  // namespace luna
