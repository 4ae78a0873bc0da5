// Debug information: stack inspection, hooks, and runtime error messages
// that name the variable or function involved (found by symbolic execution
// of the current function's bytecode).
#include <charconv>
#include <cstring>

#include "builtin.hpp"
#include "opcodes.hpp"
#include "state.hpp"
#include "vm.hpp"

namespace luna {

namespace {

LClosure* ci_func(CallInfo* ci) { return ci->func->as_lclosure(); }

// Closure whose frame is `ci`: Lua closures only.
bool ci_is_lua_closure(CallInfo* ci) { return ci->is_lua() && ci->func->is_lclosure(); }

}  // namespace

// ------------------------------------------------------------ positions

int current_pc(CallInfo* ci) {
  return static_cast<int>(ci->savedpc - ci_func(ci)->p->code) - 1;
}

int get_func_line(const Proto* p, int pc) {
  if (p->lineinfo == nullptr || pc < 0 || pc >= p->sizelineinfo) return -1;
  return p->lineinfo[pc];
}

int current_line(CallInfo* ci) { return get_func_line(ci_func(ci)->p, current_pc(ci)); }

size_t chunk_id(char* out, const char* source, size_t srclen) {
  constexpr size_t room = IDSIZE;  // bytes available in out, including the '\0'
  if (srclen > 0 && *source == '=') {  // taken literally, truncated to fit
    size_t n = srclen - 1 < room - 1 ? srclen - 1 : room - 1;
    std::memcpy(out, source + 1, n);
    out[n] = '\0';
    return n;
  }
  if (srclen > 0 && *source == '@') {  // a file name: keep its end, which is most telling
    size_t n = srclen - 1;
    if (n <= room - 1) {
      std::memcpy(out, source + 1, n);
      out[n] = '\0';
      return n;
    }
    size_t keep = room - 1 - 3;
    std::memcpy(out, "...", 3);
    std::memcpy(out + 3, source + 1 + n - keep, keep);
    out[room - 1] = '\0';
    return room - 1;
  }
  // source text: [string "first line..."]
  static const char pre[] = "[string \"";
  static const char dots[] = "...";
  static const char post[] = "\"]";
  size_t avail = room - (sizeof(pre) - 1) - (sizeof(dots) - 1) - (sizeof(post) - 1) - 1;
  const char* nl = static_cast<const char*>(std::memchr(source, '\n', srclen));
  size_t pos = 0;
  std::memcpy(out, pre, sizeof(pre) - 1);
  pos += sizeof(pre) - 1;
  if (srclen < avail && nl == nullptr) {
    std::memcpy(out + pos, source, srclen);
    pos += srclen;
  } else {
    size_t n = nl != nullptr ? static_cast<size_t>(nl - source) : srclen;
    if (n > avail) n = avail;
    std::memcpy(out + pos, source, n);
    pos += n;
    std::memcpy(out + pos, dots, sizeof(dots) - 1);
    pos += sizeof(dots) - 1;
  }
  std::memcpy(out + pos, post, sizeof(post));  // includes the '\0'
  return pos + sizeof(post) - 1;
}

namespace {

// The position text of the frame `level` levels up ("chunk:line: ", its
// length in *n), or nullptr when that frame has no current line. The text
// lives in the state's WhereCache: error("...") raised again and again from
// one place (errors as control flow) finds it there instead of looking up
// the line, writing the chunk name and the number (~90 instructions). The
// key is the prototype and the frame's saved pc: both fix the text while
// the prototype lives, and proto_free forgets it.
// where_ref's miss: the text of ci's position into the cache; false when
// the frame has no current line. Apart, so that a hit saves no registers.
[[gnu::noinline]] bool where_fill(State* L, CallInfo* ci, const Proto* p) {
  int line = current_line(ci);
  if (line <= 0) return false;
  WhereCache& w = L->g->where;
  char* out = w.text;
  size_t len = p->source != nullptr ? chunk_id(out, p->source->c_str(), p->source->len) : chunk_id(out, "=?", 2);
  out[len++] = ':';
  len += static_cast<size_t>(std::to_chars(out + len, out + WHERE_SIZE, line).ptr - (out + len));
  out[len++] = ':';
  out[len++] = ' ';
  w.p = p;
  w.pc = ci->savedpc;
  w.len = len;
  return true;
}

inline const char* where_ref(State* L, int level, size_t* n) {
  if (level < 0) return nullptr;
  CallInfo* ci = L->ci;
  for (; level > 0 && ci != &L->base_ci; ci = ci->previous) level--;
  if (level != 0 || ci == &L->base_ci || !ci_is_lua_closure(ci)) return nullptr;
  const Proto* p = ci_func(ci)->p;
  const WhereCache& w = L->g->where;
  if ((w.p != p || w.pc != ci->savedpc) && !where_fill(L, ci, p)) return nullptr;
  *n = w.len;
  return w.text;
}

}  // namespace

size_t where_text(State* L, int level, char* out) {
  size_t n = 0;
  const char* text = where_ref(L, level, &n);
  if (text == nullptr) return 0;
  std::memcpy(out, text, n);
  return n;
}

void where(State* L, int lvl) {
  char buf[WHERE_SIZE];
  push_lstring(L, buf, where_text(L, lvl, buf));
}

void add_where(State* L, int level) {
  size_t np = 0;
  const char* pos = where_ref(L, level, &np);
  if (pos == nullptr) return;  // "" .. msg is msg
  const String* msg = L->top[-1].as_string();
  size_t tl = np + msg->len;
  if (msg->len == 0) {
    L->top[-1] = str_value(str_new(L, pos, np));
  } else {
    // Joined as vm_concat joins two strings: the same budget charge, and a
    // long result filled in place (the message stays anchored on the stack).
    // Nothing here runs the collector, which could free the cached text's
    // prototype, before both pieces are copied.
    GlobalState* g = L->g;
    if (g->instr_budget != 0) charge_budget(L, tl / BUDGET_BYTES_PER_UNIT);
    if (tl <= MAX_SHORT_LEN) {
      // The interned result str_new would find again, when this message
      // was raised from this place since the last collection.
      WhereJoin& join = g->where.joins[msg->hash & (WHERE_JOINS - 1)];
      if (join.msg != msg || join.pc != g->where.pc) {
        char shortbuf[MAX_SHORT_LEN];
        std::memcpy(shortbuf, pos, np);
        std::memcpy(shortbuf + np, msg->data, msg->len);
        String* s = str_new(L, shortbuf, tl);  // a collection here clears the joins first
        join = WhereJoin{msg, g->where.pc, s};
      }
      L->top[-1] = str_value(join.joined);
    } else {
      String* s = str_new_long(L, tl);
      std::memcpy(s->data, pos, np);
      std::memcpy(s->data + np, msg->data, msg->len);
      s->data[tl] = '\0';
      L->top[-1] = str_value(s);
    }
  }
  gc_check(L);
}

const char* add_info(State* L, const char* msg, String* src, int line) {
  char buff[IDSIZE];
  if (src != nullptr)
    chunk_id(buff, src->c_str(), src->len);
  else
    std::strcpy(buff, "?");
  // 5.5 writes an unknown line (no debug information) as '?'
  if (line < 0 && dialect(L).lib_55) return push_fstring(L, "%s:?: %s", buff, msg);
  return push_fstring(L, "%s:%d: %s", buff, line, msg);
}

// ------------------------------------------------------------ errors

void error_msg(State* L) {
  if (L->errfunc != 0) {
    // Call the message handler with the error object; EXTRA_STACK leaves
    // room for the extra slot.
    TValue* handler = L->restore(L->errfunc);
    L->top[0] = L->top[-1];
    L->top[-1] = *handler;
    L->top++;
    call_noyield(L, L->top - 2, 1);
  }
  throw_status(L, ERRRUN);
}

void run_error(State* L, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char* msg = push_vfstring(L, fmt, ap);
  va_end(ap);
  CallInfo* ci = L->ci;
  if (ci_is_lua_closure(ci)) {
    add_info(L, msg, ci_func(ci)->p->source, current_line(ci));
    L->top[-2] = L->top[-1];  // keep only the message with position
    L->top--;
  }
  error_msg(L);
}

namespace {

// ------------------------------------------------ symbolic execution

const char* upvalue_name(const Proto* p, int uv) {
  if (uv < 0 || uv >= p->sizeupvalues) return "?";
  String* s = p->upvalues[uv].name;
  return s == nullptr ? "?" : s->c_str();
}

// A register set inside a conditional stretch of code (before the target of
// a forward jump seen so far) may or may not have been set there.
int filter_pc(int pc, int jmptarget) { return pc < jmptarget ? -1 : pc; }

// Last instruction before lastpc that changed register reg, or -1.
int find_set_reg(const Proto* p, int lastpc, int reg) {
  int setreg = -1;
  int jmptarget = 0;
  for (int pc = 0; pc < lastpc; pc++) {
    Instruction i = plain_ins(p->code[pc]);  // a blacklisted loop's back-edge as compiled
    OpCode op = get_op(i);
    int a = getarg_A(i);
    bool change;
    switch (op) {
      case OP_LOADNIL:
        change = a <= reg && reg <= a + getarg_B(i);
        break;
      case OP_TFORCALL:
        change = reg >= a + 2;
        break;
      case OP_CALL: case OP_TAILCALL:
        change = reg >= a;  // results land anywhere above the base
        break;
      case OP_JMP: {
        int dest = pc + 1 + getarg_sJ(i);
        if (dest <= lastpc && dest > jmptarget) jmptarget = dest;
        change = false;
        break;
      }
      default:
        change = op_info[op].sets_a && reg == a;
        break;
    }
    if (change) setreg = filter_pc(pc, jmptarget);
  }
  return setreg;
}

const char* constant_name(const Proto* p, int index, const char** name) {
  if (index >= 0 && index < p->sizek && p->k[index].is_string()) {
    *name = p->k[index].as_string()->c_str();
    return "constant";
  }
  *name = "?";
  return nullptr;
}

// Names that need no table access: locals, upvalues, constants.
const char* basic_obj_name(const Proto* p, int* ppc, int reg, const char** name) {
  int pc = *ppc;
  *name = local_name(p, reg + 1, pc);
  if (*name != nullptr) return "local";
  *ppc = pc = find_set_reg(p, pc, reg);
  if (pc != -1) {
    Instruction i = p->code[pc];
    switch (get_op(i)) {
      case OP_MOVE: {
        int b = getarg_B(i);
        if (b < getarg_A(i)) return basic_obj_name(p, ppc, b, name);
        break;
      }
      case OP_GETUPVAL:
        *name = upvalue_name(p, getarg_B(i));
        return "upvalue";
      case OP_LOADK:
        return constant_name(p, getarg_Bx(i), name);
      case OP_LOADKX:
        if (pc + 1 < p->sizecode) return constant_name(p, getarg_Ax(p->code[pc + 1]), name);
        break;
      default:
        break;
    }
  }
  return nullptr;
}

// Name of a key held in register c, when it is a constant string.
void register_key_name(const Proto* p, int pc, int c, const char** name) {
  const char* what = basic_obj_name(p, &pc, c, name);
  if (!(what != nullptr && *what == 'c')) *name = "?";
}

// A table indexed by a key named "_ENV"... is the globals table.
const char* env_kind(const Proto* p, int pc, Instruction i, bool is_upvalue) {
  int t = getarg_B(i);
  const char* name = nullptr;
  if (is_upvalue) {
    name = upvalue_name(p, t);
  } else {
    const char* what = basic_obj_name(p, &pc, t, &name);
    if (what == nullptr || (std::strcmp(what, "local") != 0 && std::strcmp(what, "upvalue") != 0))
      name = nullptr;
  }
  return (name != nullptr && std::strcmp(name, "_ENV") == 0) ? "global" : "field";
}

// `self_reg_field`: a method call whose key is in a register is named as a
// field access, as 5.5 compiles it (its SELF takes constant keys only).
const char* obj_name(const Proto* p, int lastpc, int reg, const char** name, bool self_reg_field) {
  const char* kind = basic_obj_name(p, &lastpc, reg, name);
  if (kind != nullptr) return kind;
  if (lastpc == -1) return nullptr;
  Instruction i = p->code[lastpc];
  switch (get_op(i)) {
    case OP_GETTABUP:
      constant_name(p, getarg_C(i), name);
      return env_kind(p, lastpc, i, true);
    case OP_GETTABLE:
      register_key_name(p, lastpc, getarg_C(i), name);
      return env_kind(p, lastpc, i, false);
    case OP_GETI:
      *name = "integer index";
      return "field";
    case OP_GETFIELD:
      constant_name(p, getarg_C(i), name);
      return env_kind(p, lastpc, i, false);
    case OP_SELF:
      if (getarg_k(i)) {
        constant_name(p, getarg_C(i), name);
        return "method";
      }
      register_key_name(p, lastpc, getarg_C(i), name);
      return self_reg_field ? "field" : "method";
    default:
      return nullptr;
  }
}

// How the instruction at pc calls a function: a named call, a for
// iterator, or a metamethod of the operation it performs.
const char* func_name_from_code(State* L, const Proto* p, int pc, const char** name) {
  if (pc < 0 || pc >= p->sizecode) return nullptr;
  Instruction i = p->code[pc];
  TMS tm;
  switch (get_op(i)) {
    case OP_CALL: case OP_TAILCALL:
      return obj_name(p, pc, getarg_A(i), name, dialect(L).lib_55);
    case OP_TFORCALL:
      *name = "for iterator";
      return "for iterator";
    case OP_SELF: case OP_GETTABUP: case OP_GETTABLE: case OP_GETI: case OP_GETFIELD:
      tm = TM_INDEX; break;
    case OP_SETTABUP: case OP_SETTABLE: case OP_SETI: case OP_SETFIELD:
      tm = TM_NEWINDEX; break;
    case OP_ADDI: case OP_ADDK: case OP_ADD: tm = TM_ADD; break;
    case OP_SUBK: case OP_SUB: tm = TM_SUB; break;
    case OP_MULK: case OP_MUL: tm = TM_MUL; break;
    case OP_MODK: case OP_MOD: tm = TM_MOD; break;
    case OP_POWK: case OP_POW: tm = TM_POW; break;
    case OP_DIVK: case OP_DIV: tm = TM_DIV; break;
    case OP_IDIVK: case OP_IDIV: tm = TM_IDIV; break;
    case OP_BANDK: case OP_BAND: tm = TM_BAND; break;
    case OP_BORK: case OP_BOR: tm = TM_BOR; break;
    case OP_BXORK: case OP_BXOR: tm = TM_BXOR; break;
    case OP_SHLI: case OP_SHL: tm = TM_SHL; break;
    case OP_SHRI: case OP_SHR: tm = TM_SHR; break;
    case OP_UNM: tm = TM_UNM; break;
    case OP_BNOT: tm = TM_BNOT; break;
    case OP_LEN: tm = TM_LEN; break;
    case OP_CONCAT: tm = TM_CONCAT; break;
    case OP_EQ: tm = TM_EQ; break;  // EQK and EQI never call metamethods
    case OP_LT: case OP_LTI: case OP_GTI: tm = TM_LT; break;
    case OP_LE: case OP_LEI: case OP_GEI: tm = TM_LE; break;
    case OP_CLOSE: case OP_RETURN: tm = TM_CLOSE; break;
    default:
      return nullptr;
  }
  // Code from a PUC-Rio chunk names the event in the MMBIN* that follows
  // (x << 1 is compiled as SHRI x -1); the validator keeps it valid.
  if (is_mm_arith(get_op(i)) && pc + 1 < p->sizecode && is_mmbin(get_op(p->code[pc + 1])))
    tm = static_cast<TMS>(getarg_C(p->code[pc + 1]));
  *name = L->g->tmname[tm]->c_str() + (dialect(L).debug_names_53 ? 0 : 2);  // 5.4+: without the "__"
  return "metamethod";
}

// How the frame ci is calling the function currently running above it.
const char* func_name_from_call(State* L, CallInfo* ci, const char** name) {
  if (ci->callstatus & CIST_HOOKED) {
    *name = "?";
    return "hook";
  }
  if (ci->callstatus & CIST_FIN) {
    *name = "__gc";
    return "metamethod";
  }
  if (ci_is_lua_closure(ci)) return func_name_from_code(L, ci_func(ci)->p, current_pc(ci), name);
  return nullptr;
}

const char* func_name(State* L, CallInfo* ci, const char** name) {
  // 5.3 names the frame a finalizer interrupted, not the finalizer.
  if (ci != nullptr && (ci->callstatus & CIST_FIN) && dialect(L).debug_names_53) {
    *name = "__gc";
    return "metamethod";
  }
  if (ci != nullptr && !(ci->callstatus & CIST_TAIL) && ci->previous != nullptr)
    return func_name_from_call(L, ci->previous, name);
  return nullptr;
}

const char* format_var_info(State* L, const char* kind, const char* name) {
  if (kind == nullptr) return "";
  return push_fstring(L, " (%s '%s')", kind, name);
}

// " (local 'x')" and the like for a value the current Lua function holds in
// an upvalue or a register; "" when nothing is known.
const char* var_info(State* L, const TValue* o) {
  CallInfo* ci = L->ci;
  const char* name = nullptr;
  const char* kind = nullptr;
  if (ci_is_lua_closure(ci)) {
    LClosure* cl = ci_func(ci);
    for (int i = 0; i < cl->nupvalues; i++) {
      if (cl->upvals[i] != nullptr && cl->upvals[i]->v == o) {
        name = upvalue_name(cl->p, i);
        kind = "upvalue";
        break;
      }
    }
    if (kind == nullptr) {
      TValue* base = ci->func + 1;
      if (o >= base && o < ci->top)
        kind = obj_name(cl->p, current_pc(ci), static_cast<int>(o - base), &name, dialect(L).lib_55);
    }
  }
  return format_var_info(L, kind, name);
}

[[noreturn]] void type_error_extra(State* L, const TValue* o, const char* op, const char* extra) {
  run_error(L, "attempt to %s a %s value%s", op, tm_typename_of(L, *o), extra);
}

}  // namespace

void type_error_op(State* L, const TValue* o, const char* op) {
  type_error_extra(L, o, op, var_info(L, o));
}

void call_error(State* L, const TValue* o) {
  const char* name = nullptr;
  const char* kind = func_name_from_call(L, L->ci, &name);
  const char* extra = kind != nullptr ? format_var_info(L, kind, name) : var_info(L, o);
  type_error_extra(L, o, "call", extra);
}

void for_error(State* L, const TValue* o, const char* what) {
  run_error(L, "bad 'for' %s (number expected, got %s)", what, tm_typename_of(L, *o));
}

void concat_error(State* L, const TValue* p1, const TValue* p2) {
  if (p1->is_string() || p1->is_number()) p1 = p2;  // blame the operand that cannot concatenate
  type_error_op(L, p1, "concatenate");
}

void op_int_error(State* L, const TValue* p1, const TValue* p2, const char* msg) {
  if (!p1->is_number()) p2 = p1;  // the first operand is wrong: blame it
  type_error_op(L, p2, msg);
}

void to_int_error(State* L, const TValue* p1, const TValue* p2) {
  Integer tmp;
  if (!to_integer(*p1, &tmp, F2I::Exact, true)) p2 = p1;
  run_error(L, "number%s has no integer representation", var_info(L, p2));
}

void order_error(State* L, const TValue* p1, const TValue* p2) {
  const char* t1 = tm_typename_of(L, *p1);
  const char* t2 = tm_typename_of(L, *p2);
  if (std::strcmp(t1, t2) == 0) run_error(L, "attempt to compare two %s values", t1);
  run_error(L, "attempt to compare %s with %s", t1, t2);
}

// ------------------------------------------------------------ hooks

void set_hook(State* L, Hook func, int mask, int count) {
  if (func == nullptr || mask == 0) {
    mask = 0;
    func = nullptr;
  }
  L->hook = func;
  L->basehookcount = count;
  L->hookcount = count;
  L->hookmask = mask;
  if (mask != 0) {
    // Make every running Lua frame check for hooks at its next instruction.
    for (CallInfo* ci = L->ci; ci != nullptr; ci = ci->previous)
      if (ci->is_lua()) ci->trap = 1;
  }
}

Hook get_hook(State* L) { return L->hook; }
int get_hook_mask(State* L) { return L->hookmask; }
int get_hook_count(State* L) { return L->basehookcount; }

int trace_exec(State* L, const Instruction* pc) {
  CallInfo* ci = L->ci;
  int mask = L->hookmask;
  const Proto* p = ci_func(ci)->p;
  if (!(mask & (MASKLINE | MASKCOUNT))) {
    ci->trap = 0;
    return 0;
  }
  pc++;  // saved pc always points past the instruction being executed
  ci->savedpc = pc;
  bool counthook = (mask & MASKCOUNT) && --L->hookcount == 0;
  if (counthook)
    L->hookcount = L->basehookcount;
  else if (!(mask & MASKLINE))
    return 1;
  if (ci->callstatus & CIST_HOOKYIELD) {
    // Resumed after its hook yielded: the instruction has not run yet and
    // its hooks have been called; it runs now.
    ci->callstatus &= static_cast<uint16_t>(~CIST_HOOKYIELD);
    return 1;
  }
  // Unless the instruction takes its operands up to the top (B == 0 of a
  // CALL, RETURN...), the top is the frame's top while hooks run.
  Instruction cur = plain_ins(pc[-1]);
  if (!(op_info[get_op(cur)].uses_top_in && getarg_B(cur) == 0)) L->top = ci->top;
  if (counthook) call_hook(L, HOOKCOUNT, -1, 0, 0);
  if (mask & MASKLINE) {
    int oldpc = (L->oldpc >= 0 && L->oldpc < p->sizecode) ? L->oldpc : 0;
    int npci = static_cast<int>(pc - p->code) - 1;
    // A line event on entering a new line, and at every backward jump
    // (loops). 5.3's numeric for enters its body by such a jump, from the
    // loop test after the body.
    bool for_entry = dialect(L).for_entry_line && npci == oldpc + 1 && get_op(p->code[oldpc]) == OP_FORPREP;
    if (npci <= oldpc || for_entry || get_func_line(p, oldpc) != get_func_line(p, npci))
      call_hook(L, HOOKLINE, get_func_line(p, npci), 0, 0);
    L->oldpc = npci;
  }
  if (L->status == YIELD) {
    // A hook yielded (coro_yield let it return): suspend before the
    // instruction, which runs when the coroutine is resumed.
    if (counthook) L->hookcount = 1;  // the count is at zero again then
    ci->savedpc--;
    ci->callstatus |= CIST_HOOKYIELD;
    throw_status(L, YIELD);
  }
  return 1;
}

// ------------------------------------------------------------ debug API

bool get_stack(State* L, int level, DebugInfo* ar) {
  if (level < 0) return false;
  CallInfo* ci = L->ci;
  for (; level > 0 && ci != &L->base_ci; ci = ci->previous) level--;
  if (level != 0 || ci == &L->base_ci) return false;
  ar->i_ci = ci;
  return true;
}

namespace {

void func_info(DebugInfo* ar, const TValue& f) {
  if (!f.is_lclosure()) {
    ar->source = "=[C]";
    ar->srclen = 4;
    ar->linedefined = -1;
    ar->lastlinedefined = -1;
    ar->what = "C";
  } else {
    const Proto* p = f.as_lclosure()->p;
    if (p->source != nullptr) {
      ar->source = p->source->c_str();
      ar->srclen = p->source->len;
    } else {
      ar->source = "=?";
      ar->srclen = 2;
    }
    ar->linedefined = p->linedefined;
    ar->lastlinedefined = p->lastlinedefined;
    ar->what = p->linedefined == 0 ? "main" : "Lua";
  }
  chunk_id(ar->short_src, ar->source, ar->srclen);
}

// Pushes a table whose keys are the lines holding code (nil for natives).
void push_valid_lines(State* L, const TValue& f) {
  if (!f.is_lclosure()) {
    push_nil(L);
    return;
  }
  const Proto* p = f.as_lclosure()->p;
  Table* t = table_new(L);
  push_raw(L, TValue::object(t));
  if (p->lineinfo == nullptr) return;
  // VARARGPREP shares the line of the function header: not a line of code.
  int start = (p->is_vararg && p->sizecode > 0 && get_op(p->code[0]) == OP_VARARGPREP) ? 1 : 0;
  for (int i = start; i < p->sizelineinfo; i++) table_set_int(L, t, p->lineinfo[i], TValue::boolean(true));
}

}  // namespace

int get_extra_args(const DebugInfo* ar) {
  return ar->i_ci != nullptr ? (ar->i_ci->callstatus & CIST_CCMT) >> CIST_CCMT_SHIFT : 0;
}

bool get_info(State* L, const char* what, DebugInfo* ar) {
  CallInfo* ci;
  TValue func;
  if (*what == '>') {
    ci = nullptr;
    func = L->top[-1];
    what++;
    L->top--;
  } else {
    ci = ar->i_ci;
    func = *ci->func;
  }
  bool ok = true;
  for (const char* w = what; *w; w++) {
    switch (*w) {
      case 'S':
        func_info(ar, func);
        break;
      case 'l':
        ar->currentline = (ci != nullptr && ci_is_lua_closure(ci)) ? current_line(ci) : -1;
        break;
      case 'u':
        if (func.is_lclosure()) {
          const LClosure* cl = func.as_lclosure();
          ar->nups = cl->nupvalues;
          ar->isvararg = cl->p->is_vararg != 0;
          ar->nparams = cl->p->numparams;
        } else {
          ar->nups = func.tag == Tag::NClosure ? func.as_nclosure()->nupvalues : 0;
          ar->isvararg = true;
          ar->nparams = 0;
        }
        break;
      case 't':
        ar->istailcall = ci != nullptr && (ci->callstatus & CIST_TAIL);
        break;
      case 'n':
        ar->namewhat = func_name(L, ci, &ar->name);
        if (ar->namewhat == nullptr) {
          ar->namewhat = "";
          ar->name = nullptr;
        }
        break;
      case 'r':
        if (ci == nullptr || !(ci->callstatus & CIST_TRAN)) {
          ar->ftransfer = ar->ntransfer = 0;
        } else {
          ar->ftransfer = ci->ftransfer;
          ar->ntransfer = ci->ntransfer;
        }
        break;
      case 'L': case 'f':
        break;
      default:
        ok = false;
    }
  }
  if (std::strchr(what, 'f') != nullptr) push_raw(L, func);
  if (std::strchr(what, 'L') != nullptr) push_valid_lines(L, func);
  return ok;
}

namespace {

// Slot and name of local n of frame ci (n < 0: vararg -n), or nullptr.
const char* find_local(State* L, CallInfo* ci, int n, TValue** pos) {
  TValue* base = ci->func + 1;
  const char* name = nullptr;
  if (ci_is_lua_closure(ci)) {
    if (n < 0) {
      // Extra arguments of a vararg function sit just below its frame.
      if (!ci_func(ci)->p->is_vararg) return nullptr;
      int nextra = ci->nextraargs;
      if (n < -nextra) return nullptr;
      *pos = ci->func - nextra - (n + 1);
      return dialect(L).debug_names_53 ? "(*vararg)" : "(vararg)";
    }
    name = local_name(ci_func(ci)->p, n, current_pc(ci));
  }
  if (name == nullptr) {
    TValue* limit = (ci == L->ci) ? L->top : ci->next->func;
    if (n > 0 && limit - base >= n)
      name = dialect(L).debug_names_53 ? "(*temporary)" : ci->is_lua() ? "(temporary)" : "(C temporary)";
    else
      return nullptr;
  }
  *pos = base + (n - 1);
  return name;
}

}  // namespace

const char* get_local(State* L, const DebugInfo* ar, int n) {
  if (ar == nullptr) {
    // Parameters of a function that is not running: names at its start.
    if (!L->top[-1].is_lclosure()) return nullptr;
    return local_name(L->top[-1].as_lclosure()->p, n, 0);
  }
  TValue* pos = nullptr;
  const char* name = find_local(L, ar->i_ci, n, &pos);
  if (name != nullptr) push_raw(L, *pos);
  return name;
}

const char* set_local(State* L, const DebugInfo* ar, int n) {
  TValue* pos = nullptr;
  const char* name = find_local(L, ar->i_ci, n, &pos);
  if (name != nullptr) {
    *pos = L->top[-1];
    L->top--;
  }
  return name;
}

namespace {

// Upvalue n (1-based) of the closure f: its slot, the object owning it (for
// the write barrier), and its name ("" for natives).
const char* find_upvalue(State* L, const TValue& f, int n, TValue** val, GCObject** owner) {
  if (f.tag == Tag::NClosure) {
    NClosure* c = f.as_nclosure();
    if (n < 1 || n > c->nupvalues) return nullptr;
    *val = &c->upvalue[n - 1];
    *owner = c;
    return "";
  }
  if (f.is_lclosure()) {
    LClosure* c = f.as_lclosure();
    const Proto* p = c->p;
    if (n < 1 || n > p->sizeupvalues || n > c->nupvalues || c->upvals[n - 1] == nullptr) return nullptr;
    *val = c->upvals[n - 1]->v;
    *owner = c->upvals[n - 1];
    String* name = p->upvalues[n - 1].name;
    if (name != nullptr) return name->c_str();
    return dialect(L).debug_names_53 ? "(*no name)" : "(no name)";
  }
  return nullptr;
}

UpVal** upvalue_ref(State* L, int fidx, int n) {
  TValue* fi = index_to_value(L, fidx);
  if (!fi->is_lclosure()) return nullptr;
  LClosure* f = fi->as_lclosure();
  if (n < 1 || n > f->p->sizeupvalues || n > f->nupvalues) return nullptr;
  return &f->upvals[n - 1];
}

}  // namespace

const char* get_upvalue(State* L, int funcindex, int n) {
  TValue* val = nullptr;
  GCObject* owner = nullptr;
  const char* name = find_upvalue(L, *index_to_value(L, funcindex), n, &val, &owner);
  if (name != nullptr) push_raw(L, *val);
  return name;
}

// The library's closures whose upvalues are their internal state (gmatch's
// iterator points into its subject string and state block, wrap's function
// holds its thread): replacing one would leave them reading freed or
// mistyped memory (PUC-Rio 5.4.8 crashes there), so debug.setupvalue finds
// no upvalue to set in them.
namespace {

bool upvalues_sealed(const TValue& f) {
  if (f.tag != Tag::NClosure) return false;
  NativeFn fn = f.as_nclosure()->f;
  return string_leaf(fn) == LeafFn::GMatchIter || coroutine_fn(fn) == CoFn::WrapCall;
}

}  // namespace

const char* set_upvalue(State* L, int funcindex, int n) {
  TValue* val = nullptr;
  GCObject* owner = nullptr;
  const TValue& f = *index_to_value(L, funcindex);
  if (upvalues_sealed(f)) return nullptr;
  const char* name = find_upvalue(L, f, n, &val, &owner);
  if (name != nullptr) {
    *val = L->top[-1];
    L->top--;
    gc_barrier(L, owner, *val);
  }
  return name;
}

void* upvalue_id(State* L, int fidx, int n) {
  TValue* fi = index_to_value(L, fidx);
  if (fi->is_lclosure()) {
    UpVal** ref = upvalue_ref(L, fidx, n);
    return ref != nullptr ? *ref : nullptr;
  }
  if (fi->tag == Tag::NClosure) {
    NClosure* c = fi->as_nclosure();
    if (n >= 1 && n <= c->nupvalues) return &c->upvalue[n - 1];
  }
  return nullptr;
}

void upvalue_join(State* L, int fidx1, int n1, int fidx2, int n2) {
  UpVal** up1 = upvalue_ref(L, fidx1, n1);
  UpVal** up2 = upvalue_ref(L, fidx2, n2);
  if (up1 == nullptr || up2 == nullptr || *up2 == nullptr) return;
  *up1 = *up2;
  gc_barrier_obj(L, index_to_value(L, fidx1)->as_lclosure(), *up1);
}

}  // namespace luna
