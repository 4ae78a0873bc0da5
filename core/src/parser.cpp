// Single-pass parser for Lua 5.4: reads tokens from the lexer and drives
// the code generator (codegen.cpp) to build one Proto per function.
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "codegen.hpp"

namespace luna {

// A lexical block: scope of locals, labels and pending gotos.
struct BlockCnt {
  BlockCnt* previous = nullptr;
  int firstlabel = 0;   // first label of this block in dyd->label
  int firstgoto = 0;    // first pending goto of this block in dyd->gt
  short nactvar = 0;    // active variables outside the block
  bool upval = false;   // some local of the block is captured as an upvalue
  bool isloop = false;
  bool insidetbc = false;  // inside the scope of a to-be-closed variable
};

namespace {

constexpr int UNARY_PRIORITY = 12;

struct Parser;

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

bool same_name(const String* a, const String* b) {
  // Short names are interned; long ones must be compared by content.
  if (a == b) return true;
  if (a->tag == Tag::ShortStr && b->tag == Tag::ShortStr) return false;
  return a->len == b->len && std::memcmp(a->data, b->data, a->len) == 0;
}

bool name_is(const String* a, const char* s) { return a->len == std::strlen(s) && std::memcmp(a->data, s, a->len) == 0; }

// Counts nested syntactic constructs (they recurse on the native stack).
struct LevelGuard {
  State* L;
  LevelGuard(Lexer* ls) : L(ls->L) {
    if (++L->nCcalls > MAX_C_CALLS) {
      L->nCcalls--;
      // PUC-Rio's messages, without position
      if (dialect(L).lib_53) run_error(L, "too many C levels (limit is %d)", MAX_C_CALLS);
      run_error(L, "C stack overflow");
    }
  }
  ~LevelGuard() { L->nCcalls--; }
  LevelGuard(const LevelGuard&) = delete;
  LevelGuard& operator=(const LevelGuard&) = delete;
};

struct LhsAssign {
  LhsAssign* prev;
  ExpDesc v;
};

struct ConsControl {
  ExpDesc v;      // last list item read
  ExpDesc* t;     // table descriptor
  int nh = 0;     // hash items
  int na = 0;     // array items already stored
  int tostore = 0;  // array items pending
};

struct Parser {
  Lexer* ls;
  String* star_ = nullptr;  // "*", the name of a collective global declaration
  FuncState* fs() { return ls->fs; }
  Dyndata* dyd() { return ls->dyd; }

  // ------------------------------------------------------------ helpers

  [[noreturn]] void error_expected(int token) {
    ls->syntax_error(fmt("%s expected", ls->token_to_str(token)).c_str());
  }

  [[noreturn]] void error_limit(FuncState* f, int limit, const char* what) {
    int line = f->f->linedefined;
    std::string where = line == 0 ? std::string("main function") : fmt("function at line %d", line);
    ls->syntax_error(fmt("too many %s (limit is %d) in %s", what, limit, where.c_str()).c_str());
  }

  void check_limit(FuncState* f, int v, int limit, const char* what) {
    if (v > limit) error_limit(f, limit, what);
  }

  bool test_next(int c) {
    if (ls->t.token != c) return false;
    ls->next();
    return true;
  }

  void check(int c) {
    if (ls->t.token != c) error_expected(c);
  }

  void check_next(int c) {
    check(c);
    ls->next();
  }

  void check_condition(bool c, const char* msg) {
    if (!c) ls->syntax_error(msg);
  }

  // Closing token `what` of a construct opened by `who` at line `where`.
  void check_match(int what, int who, int where) {
    if (test_next(what)) return;
    if (where == ls->linenumber) error_expected(what);
    std::string w = ls->token_to_str(what);
    std::string o = ls->token_to_str(who);
    ls->syntax_error(fmt("%s expected (to close %s at line %d)", w.c_str(), o.c_str(), where).c_str());
  }

  // The string of the current token, shared with equal long strings seen before.
  String* token_string() {
    String* ts = ls->t.seminfo.ts;
    if (ts->tag == Tag::ShortStr) return ts;
    auto ins = dyd()->long_strings.emplace(std::string(ts->data, ts->len), ts);
    return ins.first->second;
  }

  String* str_checkname() {
    check(TK_NAME);
    String* ts = token_string();
    ls->next();
    return ts;
  }

  static void init_exp(ExpDesc* e, EK k, int info) {
    e->f = e->t = NO_JUMP;
    e->ro_global = nullptr;
    e->k = k;
    e->u.info = info;
  }

  static void code_string(ExpDesc* e, String* s) {
    e->f = e->t = NO_JUMP;
    e->k = EK::KStr;
    e->u.strval = s;
  }

  void code_name(ExpDesc* e) { code_string(e, str_checkname()); }

  // ---------------------------------------------------------- variables

  int register_localvar(FuncState* f, String* name) {
    Proto* p = f->f;
    if (f->ndebugvars >= p->sizelocvars) {
      int old = p->sizelocvars;
      int n = old < 4 ? 4 : old * 2;
      if (n > SHRT_MAX) n = SHRT_MAX;
      if (f->ndebugvars >= n) error_limit(f, SHRT_MAX, "local variables");
      p->locvars = mem_resize_array<LocVar>(ls->L, p->locvars, size_t(old), size_t(n));
      for (int i = old; i < n; i++) p->locvars[i] = LocVar{nullptr, 0, 0};
      p->sizelocvars = n;
    }
    p->locvars[f->ndebugvars] = LocVar{name, f->pc, 0};
    return f->ndebugvars++;
  }

  // Declares a new (not yet active) local; returns its index in the function.
  int new_localvar(String* name) {
    FuncState* f = fs();
    check_limit(f, static_cast<int>(dyd()->actvar.size()) + 1 - f->firstlocal - f->nglobals, MAX_VARS,
                "local variables");
    VarDesc vd{};
    vd.kind = VD_REG;
    vd.name = name;
    dyd()->actvar.push_back(vd);
    return static_cast<int>(dyd()->actvar.size()) - 1 - f->firstlocal;
  }

  int new_localvar_lit(const char* name) { return new_localvar(ls->new_string(name, std::strlen(name))); }

  VarDesc* get_local_vardesc(FuncState* f, int vidx) { return &dyd()->actvar[size_t(f->firstlocal + vidx)]; }

  LocVar* local_debuginfo(FuncState* f, int vidx) {
    VarDesc* vd = get_local_vardesc(f, vidx);
    if (!vd_has_register(vd->kind)) return nullptr;  // compile-time constants and globals
    return &f->f->locvars[vd->pidx];
  }

  void init_var(FuncState* f, ExpDesc* e, int vidx) {
    e->f = e->t = NO_JUMP;
    e->k = EK::Local;
    e->u.var.vidx = static_cast<unsigned short>(vidx);
    e->u.var.ridx = get_local_vardesc(f, vidx)->ridx;
  }

  void check_readonly(ExpDesc* e) {
    FuncState* f = fs();
    String* varname = e->ro_global;
    switch (e->k) {
      case EK::Const: varname = dyd()->actvar[size_t(e->u.info)].name; break;
      case EK::Local: {
        VarDesc* vd = get_local_vardesc(f, e->u.var.vidx);
        if (vd->kind != VD_REG) varname = vd->name;
        break;
      }
      case EK::Upval: {
        UpvalDesc* up = &f->f->upvalues[e->u.info];
        if (up->kind != VD_REG) varname = up->name;
        break;
      }
      default: break;
    }
    if (varname) sem_error(ls, fmt("attempt to assign to const variable '%s'", varname->c_str()));
  }

  // Activates the last nvars declared locals (their scope starts here).
  void adjust_localvars(int nvars) {
    FuncState* f = fs();
    int reglevel = nvarstack(f);
    for (int i = 0; i < nvars; i++) {
      int vidx = f->nactvar++;
      VarDesc* var = get_local_vardesc(f, vidx);
      var->ridx = static_cast<uint8_t>(reglevel++);
      var->pidx = static_cast<short>(register_localvar(f, var->name));
    }
  }

  // Ends the scope of the locals above tolevel; their debug ranges end here.
  void remove_vars(FuncState* f, int tolevel) {
    for (int i = f->nactvar - 1; i >= tolevel; i--) {
      if (vd_is_global(get_local_vardesc(f, i)->kind)) f->nglobals--;
      LocVar* lv = local_debuginfo(f, i);
      if (lv) lv->endpc = f->pc;
    }
    dyd()->actvar.resize(dyd()->actvar.size() - size_t(f->nactvar - tolevel));
    f->nactvar = static_cast<short>(tolevel);
  }

  int search_upvalue(FuncState* f, String* name) {
    for (int i = 0; i < f->nups; i++)
      if (same_name(f->f->upvalues[i].name, name)) return i;
    return -1;
  }

  UpvalDesc* alloc_upvalue(FuncState* f) {
    Proto* p = f->f;
    check_limit(f, f->nups + 1, MAX_UPVALS, "upvalues");
    if (f->nups >= p->sizeupvalues) {
      int old = p->sizeupvalues;
      int n = old < 4 ? 4 : old * 2;
      if (n > MAX_UPVALS) n = MAX_UPVALS;
      p->upvalues = mem_resize_array<UpvalDesc>(ls->L, p->upvalues, size_t(old), size_t(n));
      for (int i = old; i < n; i++) p->upvalues[i] = UpvalDesc{nullptr, false, 0, 0};
      p->sizeupvalues = n;
    }
    return &p->upvalues[f->nups++];
  }

  int new_upvalue(FuncState* f, String* name, ExpDesc* v) {
    UpvalDesc* up = alloc_upvalue(f);
    FuncState* prev = f->prev;
    if (v->k == EK::Local) {
      up->instack = true;
      up->idx = v->u.var.ridx;
      up->kind = get_local_vardesc(prev, v->u.var.vidx)->kind;
    } else {
      up->instack = false;
      up->idx = static_cast<uint8_t>(v->u.info);
      up->kind = prev->f->upvalues[v->u.info].kind;
    }
    up->name = name;
    return f->nups - 1;
  }

  // What a name resolved to a global is (EK::Void's info): 5.5's global
  // declarations make a name read-only or, outside any declaration naming
  // it once some is in scope, an error.
  enum : int { GLOBAL_FREE = 0, GLOBAL_CONST = 1, GLOBAL_UNDECLARED = 2 };
  bool global_declared_ = false;  // the current search passed a global declaration
  int collective_ = -1;           // kind of the innermost global * it passed, or -1

  // Finds the innermost active declaration of n in f and fills var (a
  // local, a constant, or a declared global: EK::Void); false if none.
  bool search_var(FuncState* f, String* n, ExpDesc* var) {
    for (int i = f->nactvar - 1; i >= 0; i--) {
      VarDesc* vd = get_local_vardesc(f, i);
      if (vd_is_global(vd->kind)) {
        global_declared_ = true;
        // global * covers the names no earlier declaration covers (and
        // never _ENV, which stays the chunk's): the search goes on.
        if (vd->name == star_) {
          if (collective_ < 0 && n != ls->envn) collective_ = vd->kind;
          continue;
        }
        if (!same_name(n, vd->name)) continue;
        init_exp(var, EK::Void, vd->kind == VD_GCONST ? GLOBAL_CONST : GLOBAL_FREE);
        return true;
      }
      if (same_name(n, vd->name)) {
        if (vd->kind == VD_CTC)
          init_exp(var, EK::Const, f->firstlocal + i);
        else
          init_var(f, var, i);
        return true;
      }
    }
    return false;
  }

  // The block where local `level` lives must close its upvalues at exit.
  static void mark_upval(FuncState* f, int level) {
    BlockCnt* bl = f->bl;
    while (bl->nactvar > level) bl = bl->previous;
    bl->upval = true;
    f->needclose = true;
  }

  static void mark_to_be_closed(FuncState* f) {
    BlockCnt* bl = f->bl;
    bl->upval = true;
    bl->insidetbc = true;
    f->needclose = true;
  }

  // Resolves name n in f and its enclosing functions: local, upvalue,
  // or Void for a global.
  void single_var_aux(FuncState* f, String* n, ExpDesc* var, bool base) {
    if (f == nullptr) {
      int scope = global_declared_ ? GLOBAL_UNDECLARED : GLOBAL_FREE;
      if (collective_ >= 0) scope = collective_ == VD_GCONST ? GLOBAL_CONST : GLOBAL_FREE;
      init_exp(var, EK::Void, scope);
      return;
    }
    if (search_var(f, n, var)) {
      if (var->k == EK::Local && !base) mark_upval(f, var->u.var.vidx);  // used by an inner function
      return;
    }
    int idx = search_upvalue(f, n);
    if (idx < 0) {
      single_var_aux(f->prev, n, var, false);
      if (var->k != EK::Local && var->k != EK::Upval) return;  // global or constant
      idx = new_upvalue(f, n, var);
    }
    init_exp(var, EK::Upval, idx);
  }

  void single_var(ExpDesc* var) { single_var_named(var, str_checkname()); }

  void single_var_named(ExpDesc* var, String* varname) {
    FuncState* f = fs();
    global_declared_ = false;
    collective_ = -1;
    single_var_aux(f, varname, var, true);
    if (var->k == EK::Void) {  // global: _ENV[varname]
      int scope = var->u.info;
      if (scope == GLOBAL_UNDECLARED) sem_error(ls, fmt("variable '%s' is not declared", varname->c_str()));
      ExpDesc key;
      single_var_aux(f, ls->envn, var, true);
      if (var->k == EK::Void)
        sem_error(ls, fmt("variable '%s' cannot be reached: '_ENV' is declared global", varname->c_str()));
      exp2anyregup(f, var);
      code_string(&key, varname);
      indexed(f, var, &key);
      if (scope == GLOBAL_CONST) var->ro_global = varname;
    }
  }

  // Adjusts nexps values (the last one being e) to nvars registers.
  void adjust_assign(int nvars, int nexps, ExpDesc* e) {
    FuncState* f = fs();
    int needed = nvars - nexps;
    if (has_multret(e->k)) {
      int extra = needed + 1;
      if (extra < 0) extra = 0;
      set_returns(f, e, extra);
    } else {
      if (e->k != EK::Void) exp2nextreg(f, e);
      if (needed > 0) code_nil(f, f->freereg, needed);
    }
    if (needed > 0)
      reserve_regs(f, needed);
    else
      f->freereg = static_cast<uint8_t>(f->freereg + needed);  // drop extra values
  }

  // ------------------------------------------------------ labels, gotos

  [[noreturn]] void jump_scope_error(const LabelDesc& gt) {
    const char* varname = get_local_vardesc(fs(), gt.nactvar)->name->c_str();
    // Where declarations may be global ones (5.5), the message does not say local.
    const char* kind = dialect(ls->L).global_decls ? "" : "local ";
    sem_error(ls, fmt("<goto %s> at line %d jumps into the scope of %s'%s'", gt.name->c_str(), gt.line, kind, varname));
  }

  // Resolves pending goto g (removing it) to label lb.
  void solve_goto(int g, const LabelDesc& lb) {
    auto& gl = dyd()->gt;
    LabelDesc gt = gl[size_t(g)];
    if (gt.nactvar < lb.nactvar) jump_scope_error(gt);
    patch_list(fs(), gt.pc, lb.pc);
    gl.erase(gl.begin() + g);
  }

  // The innermost visible label of that name at or after `first` (labels
  // of closed blocks are gone, so the latest is the innermost: only 5.3
  // lets a nested block repeat a name).
  LabelDesc* find_label(String* name, int first) {
    auto& ll = dyd()->label;
    // The scan is compile work the budget and the time limit must see.
    charge_instruction_budget(ls->L, ll.size() - size_t(first));
    for (size_t i = ll.size(); i-- > size_t(first);)
      if (same_name(ll[i].name, name)) return &ll[i];
    return nullptr;
  }
  LabelDesc* find_label(String* name) { return find_label(name, fs()->firstlabel); }

  // Pending gotos and visible labels are capped as in PUC-Rio 5.4 (the
  // searches among them are linear): the message has no position.
  int new_label_entry(std::vector<LabelDesc>& l, String* name, int line, int pc, int nactvar) {
    if (l.size() >= size_t(SHRT_MAX)) run_error(ls->L, "too many labels/gotos (limit is %d)", SHRT_MAX);
    l.push_back(LabelDesc{name, pc, line, static_cast<short>(nactvar), false});
    return static_cast<int>(l.size()) - 1;
  }

  int new_goto_entry(String* name, int line, int pc) {
    return new_label_entry(dyd()->gt, name, line, pc, fs()->nactvar);
  }

  // Solves the block's pending gotos to label lb; true if some needs a close.
  bool solve_gotos(const LabelDesc& lb) {
    auto& gl = dyd()->gt;
    int i = fs()->bl->firstgoto;
    bool needsclose = false;
    while (i < static_cast<int>(gl.size())) {
      if (same_name(gl[size_t(i)].name, lb.name)) {
        needsclose = needsclose || gl[size_t(i)].close;
        solve_goto(i, lb);
      } else {
        i++;
      }
    }
    return needsclose;
  }

  // Creates a label at the current pc; `last` says it ends its block, so
  // the block's locals are already out of scope there.
  bool create_label(String* name, int line, bool last) {
    FuncState* f = fs();
    int l = new_label_entry(dyd()->label, name, line, get_label(f), f->nactvar);
    if (last) dyd()->label[size_t(l)].nactvar = f->bl->nactvar;
    LabelDesc lb = dyd()->label[size_t(l)];
    if (solve_gotos(lb)) {
      code_ABC(f, OP_CLOSE, nvarstack(f), 0, 0);
      return true;
    }
    return false;
  }

  // Pending gotos of a closing block now belong to the enclosing one.
  void move_gotos_out(FuncState* f, BlockCnt* bl) {
    auto& gl = dyd()->gt;
    for (size_t i = size_t(bl->firstgoto); i < gl.size(); i++) {
      LabelDesc* gt = &gl[i];
      if (reg_level(f, gt->nactvar) > reg_level(f, bl->nactvar)) gt->close = gt->close || bl->upval;
      gt->nactvar = bl->nactvar;
    }
    if (dialect(ls->L).label_per_block) solve_gotos_backward(f, bl->firstgoto);
  }

  // 5.3: a goto sees only its own block's labels until the block closes;
  // then the enclosing block's labels, which lie behind it. The goto's jump
  // is already emitted, so one leaving variable scopes lands on a CLOSE
  // placed here, out of the normal flow.
  void solve_gotos_backward(FuncState* f, int first) {
    auto& gl = dyd()->gt;
    size_t i = size_t(first);
    while (i < gl.size()) {
      LabelDesc gt = gl[i];
      LabelDesc* lb = find_label(gt.name, f->bl->firstlabel);
      if (lb == nullptr) {
        i++;
        continue;
      }
      int lbpc = lb->pc;
      int lblevel = reg_level(f, lb->nactvar);
      gl.erase(gl.begin() + static_cast<long>(i));
      if (gt.close || reg_level(f, gt.nactvar) > lblevel) {
        int skip = code_jump(f);
        patch_to_here(f, gt.pc);
        code_ABC(f, OP_CLOSE, lblevel, 0, 0);
        patch_list(f, code_jump(f), lbpc);
        patch_to_here(f, skip);
      } else {
        patch_list(f, gt.pc, lbpc);
      }
    }
  }

  [[noreturn]] void undef_goto(const LabelDesc& gt) {
    if (name_is(gt.name, "break"))
      sem_error(ls, fmt("break outside loop at line %d", gt.line));
    sem_error(ls, fmt("no visible label '%s' for <goto> at line %d", gt.name->c_str(), gt.line));
  }

  // ------------------------------------------------------------- blocks

  void enter_block(FuncState* f, BlockCnt* bl, bool isloop) {
    bl->isloop = isloop;
    bl->nactvar = f->nactvar;
    bl->firstlabel = static_cast<int>(dyd()->label.size());
    bl->firstgoto = static_cast<int>(dyd()->gt.size());
    bl->upval = false;
    bl->insidetbc = f->bl != nullptr && f->bl->insidetbc;
    bl->previous = f->bl;
    f->bl = bl;
  }

  void leave_block(FuncState* f) {
    BlockCnt* bl = f->bl;
    bool hasclose = false;
    int stklevel = reg_level(f, bl->nactvar);
    remove_vars(f, bl->nactvar);
    if (bl->isloop) hasclose = create_label(ls->new_string("break", 5), 0, false);
    if (!hasclose && bl->previous && bl->upval) code_ABC(f, OP_CLOSE, stklevel, 0, 0);
    f->freereg = static_cast<uint8_t>(stklevel);
    dyd()->label.resize(size_t(bl->firstlabel));
    f->bl = bl->previous;
    if (bl->previous)
      move_gotos_out(f, bl);
    else if (bl->firstgoto < static_cast<int>(dyd()->gt.size()))
      undef_goto(dyd()->gt[size_t(bl->firstgoto)]);
  }

  Proto* add_prototype() {
    FuncState* f = fs();
    Proto* p = f->f;
    if (f->np >= p->sizep) {
      int old = p->sizep;
      if (old >= MAXARG_Bx) error_limit(f, MAXARG_Bx, "functions");
      int n = old < 4 ? 4 : old * 2;
      if (n > MAXARG_Bx + 1) n = MAXARG_Bx + 1;
      p->p = mem_resize_array<Proto*>(ls->L, p->p, size_t(old), size_t(n));
      for (int i = old; i < n; i++) p->p[i] = nullptr;
      p->sizep = n;
    }
    Proto* clp = proto_new(ls->L);
    p->p[f->np++] = clp;
    return clp;
  }

  void open_func(FuncState* f, BlockCnt* bl) {
    f->prev = ls->fs;
    f->ls = ls;
    ls->fs = f;
    f->firstlocal = static_cast<int>(dyd()->actvar.size());
    f->firstlabel = static_cast<int>(dyd()->label.size());
    f->f->source = ls->source;
    f->f->maxstacksize = 2;  // registers 0/1 are always valid
    enter_block(f, bl, false);
  }

  template <typename T>
  void shrink(T*& arr, int& size, int n) {
    arr = mem_resize_array<T>(ls->L, arr, size_t(size), size_t(n));
    size = n;
  }

  // Does the code of f use register r other than as the table of a read
  // t[k] / t.k? Any other mention (a write, a move, a call, a capture by a
  // closure, A in any instruction) counts: at worst that builds a table
  // that was not needed.
  static bool register_escapes(FuncState* f, int r) {
    const Proto* p = f->f;
    for (int j = 0; j < f->np; j++)
      for (int u = 0; u < p->p[j]->sizeupvalues; u++)
        if (p->p[j]->upvalues[u].instack && p->p[j]->upvalues[u].idx == r) return true;
    for (int pc = 1; pc < f->pc; pc++) {  // pc 0 is VARARGPREP
      const Instruction i = p->code[pc];
      const OpCode op = get_op(i);
      if (op == OP_VARARG) continue;  // its A is a fresh register
      const bool b_reg = op == OP_MOVE || (op >= OP_GETTABLE && op <= OP_GETFIELD) || op == OP_SETTABLE ||
                         (op >= OP_SELF && op <= OP_MMBIN) || (op >= OP_UNM && op <= OP_LEN) ||
                         (op >= OP_EQ && op <= OP_LE) || op == OP_TESTSET;
      const bool c_reg = op == OP_GETTABLE || (op >= OP_ADD && op <= OP_SHR) ||
                         ((op == OP_SELF || (op >= OP_SETTABUP && op <= OP_SETFIELD)) && !getarg_k(i));
      const bool b_is_r = b_reg && getarg_B(i) == r, c_is_r = c_reg && getarg_C(i) == r;
      if (op_info[op].mode == OpMode::iAx || op_info[op].mode == OpMode::isJ) continue;
      if (getarg_A(i) == r || c_is_r) return true;
      if (b_is_r && !(op == OP_GETTABLE || op == OP_GETI || op == OP_GETFIELD)) return true;
    }
    return false;
  }

  // 5.5: a named vararg table that only ever serves as t in t[k] / t.k
  // cannot change, so it is not built and those reads take the extra
  // arguments directly (GETVARG). Otherwise `...` reads the table, which the
  // code may have changed.
  static void finish_vararg_table(FuncState* f) {
    Proto* p = f->f;
    const int r = f->vatab_reg;
    const bool escapes = register_escapes(f, r);
    if (!escapes) setarg_C(p->code[0], 2);  // VARARGPREP: no table, slot nil
    for (int pc = 1; pc < f->pc; pc++) {
      Instruction& i = p->code[pc];
      const OpCode op = get_op(i);
      if (escapes) {
        if (op == OP_VARARG) {
          setarg_B(i, r);
          setarg_k(i, 1);
        }
        continue;
      }
      if ((op == OP_GETTABLE || op == OP_GETFIELD || op == OP_GETI) && getarg_B(i) == r)
        i = create_ABCk(OP_GETVARG, getarg_A(i), op == OP_GETTABLE ? 0 : op == OP_GETFIELD ? 1 : 2,
                        getarg_C(i), 0);
    }
  }

  void close_func() {
    FuncState* f = fs();
    Proto* p = f->f;
    code_ret(f, nvarstack(f), 0);
    leave_block(f);
    code_finish(f);
    if (f->vatab_reg >= 0) finish_vararg_table(f);
    shrink(p->code, p->sizecode, f->pc);
    shrink(p->lineinfo, p->sizelineinfo, f->pc);
    shrink(p->k, p->sizek, f->nk);
    clear_key_hints(p->k, p->sizek);
    shrink(p->p, p->sizep, f->np);
    shrink(p->locvars, p->sizelocvars, f->ndebugvars);
    shrink(p->upvalues, p->sizeupvalues, f->nups);
    ls->fs = f->prev;
  }

  // --------------------------------------------------------- statements

  bool block_follow(bool withuntil) {
    switch (ls->t.token) {
      case TK_ELSE: case TK_ELSEIF: case TK_END: case TK_EOS: return true;
      case TK_UNTIL: return withuntil;
      default: return false;
    }
  }

  void statlist() {
    while (!block_follow(true)) {
      if (ls->t.token == TK_RETURN) {
        statement();
        return;  // 'return' must be the last statement
      }
      statement();
    }
  }

  void fieldsel(ExpDesc* v) {
    FuncState* f = fs();
    ExpDesc key;
    v->ro_global = nullptr;
    exp2anyregup(f, v);
    ls->next();  // skip '.' or ':'
    code_name(&key);
    indexed(f, v, &key);
  }

  void yindex(ExpDesc* v) {
    ls->next();  // skip '['
    expr(v);
    exp2val(fs(), v);
    check_next(']');
  }

  // ------------------------------------------------------- constructors

  void recfield(ConsControl* cc) {
    FuncState* f = fs();
    int reg = f->freereg;
    ExpDesc tab, key, val;
    if (ls->t.token == TK_NAME) {
      check_limit(f, cc->nh, INT_MAX - 1, "items in a constructor");
      code_name(&key);
    } else {
      yindex(&key);
    }
    cc->nh++;
    check_next('=');
    tab = *cc->t;
    indexed(f, &tab, &key);
    expr(&val);
    store_var(f, &tab, &val);
    f->freereg = static_cast<uint8_t>(reg);  // free the key/value registers
  }

  void close_listfield(ConsControl* cc) {
    FuncState* f = fs();
    if (cc->v.k == EK::Void) return;
    exp2nextreg(f, &cc->v);
    cc->v.k = EK::Void;
    if (cc->tostore == FIELDS_PER_FLUSH) {
      code_setlist(f, cc->t->u.info, cc->na, cc->tostore);
      cc->na += cc->tostore;
      cc->tostore = 0;
    }
  }

  void last_listfield(ConsControl* cc) {
    FuncState* f = fs();
    if (cc->tostore == 0) return;
    if (has_multret(cc->v.k)) {
      set_multret(f, &cc->v);
      code_setlist(f, cc->t->u.info, cc->na, MULTRET);
      cc->na--;  // the open item is not counted in the array size
    } else {
      if (cc->v.k != EK::Void) exp2nextreg(f, &cc->v);
      code_setlist(f, cc->t->u.info, cc->na, cc->tostore);
    }
    cc->na += cc->tostore;
  }

  void listfield(ConsControl* cc) {
    expr(&cc->v);
    cc->tostore++;
  }

  void field(ConsControl* cc) {
    switch (ls->t.token) {
      case TK_NAME:
        if (ls->lookahead_token() != '=')
          listfield(cc);
        else
          recfield(cc);
        break;
      case '[': recfield(cc); break;
      default: listfield(cc); break;
    }
  }

  void constructor(ExpDesc* t) {
    FuncState* f = fs();
    int line = ls->linenumber;
    int pc = code_ABC(f, OP_NEWTABLE, 0, 0, 0);
    code_emit(f, create_Ax(OP_EXTRAARG, 0));  // room for a large array size
    ConsControl cc;
    cc.t = t;
    init_exp(t, EK::NonReloc, f->freereg);
    reserve_regs(f, 1);
    init_exp(&cc.v, EK::Void, 0);
    check_next('{');
    do {
      if (ls->t.token == '}') break;
      close_listfield(&cc);
      field(&cc);
    } while (test_next(',') || test_next(';'));
    check_match('}', '{', line);
    last_listfield(&cc);
    set_table_size(f, pc, t->u.info, cc.na, cc.nh);
  }

  // ---------------------------------------------------------- functions

  // C = 1 asks VARARGPREP for a named vararg table in register nparams (5.5).
  // A vararg function's prologue. 5.5's vararg table is a local right
  // above the parameters: the named one (...t) read-only, an anonymous one
  // "(vararg table)", which stays nil (VARARGPREP's C: 1 builds the table,
  // 2 clears the slot). A main chunk has none.
  void set_vararg(FuncState* f, int nparams, String* name, bool main_chunk = false) {
    f->f->is_vararg = 1;
    const bool has_slot = dialect(ls->L).named_varargs && !main_chunk;
    code_ABC(f, OP_VARARGPREP, nparams, 0, name != nullptr ? 1 : has_slot ? 2 : 0);
    if (has_slot) {  // active after VARARGPREP: not a parameter of debug.getlocal(f, n)
      int vidx = new_localvar(name != nullptr ? name : ls->new_string("(vararg table)", 14));
      if (name != nullptr) get_local_vardesc(f, vidx)->kind = VD_CONST;
      adjust_localvars(1);
      if (name != nullptr) f->vatab_reg = nparams;
    }
  }

  void parlist() {
    FuncState* f = fs();
    int nparams = 0;
    bool isvararg = false;
    String* vararg_name = nullptr;
    if (ls->t.token != ')') {
      do {
        switch (ls->t.token) {
          case TK_NAME:
            new_localvar(str_checkname());
            nparams++;
            break;
          case TK_DOTS:
            ls->next();
            isvararg = true;
            if (ls->t.token == TK_NAME && dialect(ls->L).named_varargs) vararg_name = str_checkname();
            break;
          default:
            ls->syntax_error("<name> or '...' expected");
        }
      } while (!isvararg && test_next(','));
    }
    adjust_localvars(nparams);
    f->f->numparams = f->nactvar;
    if (isvararg) set_vararg(f, f->f->numparams, vararg_name);
    reserve_regs(f, f->nactvar);
  }

  void body(ExpDesc* e, bool ismethod, int line) {
    FuncState nfs;
    BlockCnt bl;
    nfs.f = add_prototype();
    nfs.f->linedefined = line;
    open_func(&nfs, &bl);
    check_next('(');
    if (ismethod) {
      new_localvar_lit("self");
      adjust_localvars(1);
    }
    parlist();
    check_next(')');
    statlist();
    nfs.f->lastlinedefined = ls->linenumber;
    check_match(TK_END, TK_FUNCTION, line);
    // The closure instruction goes into the enclosing function.
    FuncState* parent = nfs.prev;
    init_exp(e, EK::Reloc, code_ABx(parent, OP_CLOSURE, 0, static_cast<unsigned>(parent->np - 1)));
    exp2nextreg(parent, e);
    close_func();
  }

  int explist(ExpDesc* v) {
    int n = 1;
    expr(v);
    while (test_next(',')) {
      exp2nextreg(fs(), v);
      expr(v);
      n++;
    }
    return n;
  }

  // Call arguments; the call is attributed to the line of its opening token
  // or, in 5.3, to prefix_line, where the called expression starts.
  void funcargs(ExpDesc* fn, int prefix_line) {
    FuncState* f = fs();
    ExpDesc args;
    int line = ls->linenumber;
    const int call_line = dialect(ls->L).call_line_at_prefix ? prefix_line : line;
    switch (ls->t.token) {
      case '(':
        ls->next();
        if (ls->t.token == ')')
          args.k = EK::Void;
        else {
          explist(&args);
          if (has_multret(args.k)) set_multret(f, &args);
        }
        check_match(')', '(', line);
        break;
      case '{':
        constructor(&args);
        break;
      case TK_STRING:
        code_string(&args, token_string());
        ls->next();
        break;
      default:
        ls->syntax_error("function arguments expected");
    }
    int base = fn->u.info;
    int nparams;
    if (has_multret(args.k)) {
      nparams = MULTRET;
    } else {
      if (args.k != EK::Void) exp2nextreg(f, &args);
      nparams = f->freereg - (base + 1);
    }
    init_exp(fn, EK::Call, code_ABC(f, OP_CALL, base, nparams + 1, 2));
    fix_line(f, call_line);
    f->freereg = static_cast<uint8_t>(base + 1);  // the call leaves one result by default
  }

  // -------------------------------------------------------- expressions

  void primaryexp(ExpDesc* v) {
    switch (ls->t.token) {
      case '(': {
        int line = ls->linenumber;
        ls->next();
        expr(v);
        check_match(')', '(', line);
        discharge_vars(fs(), v);  // parentheses truncate to one value
        return;
      }
      case TK_NAME:
        single_var(v);
        return;
      default:
        ls->syntax_error("unexpected symbol");
    }
  }

  void suffixedexp(ExpDesc* v) {
    FuncState* f = fs();
    int line = ls->linenumber;
    primaryexp(v);
    for (;;) {
      switch (ls->t.token) {
        case '.':
          fieldsel(v);
          break;
        case '[': {
          ExpDesc key;
          v->ro_global = nullptr;
          exp2anyregup(f, v);
          yindex(&key);
          indexed(f, v, &key);
          break;
        }
        case ':': {
          ExpDesc key;
          v->ro_global = nullptr;
          ls->next();
          code_name(&key);
          code_self(f, v, &key);
          funcargs(v, line);
          break;
        }
        case '(': case TK_STRING: case '{':
          v->ro_global = nullptr;
          exp2nextreg(f, v);
          funcargs(v, line);
          break;
        default:
          return;
      }
    }
  }

  void simpleexp(ExpDesc* v) {
    switch (ls->t.token) {
      case TK_FLT:
        init_exp(v, EK::KFlt, 0);
        v->u.nval = ls->t.seminfo.r;
        break;
      case TK_INT:
        init_exp(v, EK::KInt, 0);
        v->u.ival = ls->t.seminfo.i;
        break;
      case TK_STRING: code_string(v, token_string()); break;
      case TK_NIL: init_exp(v, EK::Nil, 0); break;
      case TK_TRUE: init_exp(v, EK::True, 0); break;
      case TK_FALSE: init_exp(v, EK::False, 0); break;
      case TK_DOTS: {
        FuncState* f = fs();
        check_condition(f->f->is_vararg, "cannot use '...' outside a vararg function");
        init_exp(v, EK::Vararg, code_ABC(f, OP_VARARG, 0, 0, 1));
        break;
      }
      case '{':
        constructor(v);
        return;
      case TK_FUNCTION:
        ls->next();
        body(v, false, ls->linenumber);
        return;
      default:
        suffixedexp(v);
        return;
    }
    ls->next();
  }

  static UnOpr get_unopr(int op) {
    switch (op) {
      case TK_NOT: return OPR_NOT;
      case '-': return OPR_MINUS;
      case '~': return OPR_BNOT;
      case '#': return OPR_LEN;
      default: return OPR_NOUNOPR;
    }
  }

  static BinOpr get_binopr(int op) {
    switch (op) {
      case '+': return OPR_ADD;
      case '-': return OPR_SUB;
      case '*': return OPR_MUL;
      case '%': return OPR_MOD;
      case '^': return OPR_POW;
      case '/': return OPR_DIV;
      case TK_IDIV: return OPR_IDIV;
      case '&': return OPR_BAND;
      case '|': return OPR_BOR;
      case '~': return OPR_BXOR;
      case TK_SHL: return OPR_SHL;
      case TK_SHR: return OPR_SHR;
      case TK_CONCAT: return OPR_CONCAT;
      case TK_NE: return OPR_NE;
      case TK_EQ: return OPR_EQ;
      case '<': return OPR_LT;
      case TK_LE: return OPR_LE;
      case '>': return OPR_GT;
      case TK_GE: return OPR_GE;
      case TK_AND: return OPR_AND;
      case TK_OR: return OPR_OR;
      default: return OPR_NOBINOPR;
    }
  }

  // Binding powers (left, right); right < left makes an operator right associative.
  struct Priority { uint8_t left, right; };
  static constexpr Priority priority[] = {
      {10, 10}, {10, 10},                                  // + -
      {11, 11}, {11, 11},                                  // * %
      {14, 13},                                            // ^ (right associative)
      {11, 11}, {11, 11},                                  // / //
      {6, 6}, {4, 4}, {5, 5},                              // & | ~
      {7, 7}, {7, 7},                                      // << >>
      {9, 8},                                              // .. (right associative)
      {3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3},      // == < <= ~= > >=
      {2, 2}, {1, 1},                                      // and or
  };

  // Parses an expression whose operators bind tighter than `limit`;
  // returns the first operator left unconsumed.
  BinOpr subexpr(ExpDesc* v, int limit) {
    LevelGuard guard(ls);
    UnOpr uop = get_unopr(ls->t.token);
    if (uop != OPR_NOUNOPR) {
      int line = ls->linenumber;
      ls->next();
      subexpr(v, UNARY_PRIORITY);
      code_prefix(fs(), uop, v, line);
    } else {
      simpleexp(v);
    }
    BinOpr op = get_binopr(ls->t.token);
    while (op != OPR_NOBINOPR && priority[op].left > limit) {
      ExpDesc v2;
      int line = ls->linenumber;
      ls->next();
      code_infix(fs(), op, v);
      BinOpr nextop = subexpr(&v2, priority[op].right);
      code_posfix(fs(), op, v, &v2, line);
      op = nextop;
    }
    return op;
  }

  void expr(ExpDesc* v) { subexpr(v, 0); }

  // -------------------------------------------------- statement kinds

  void block() {
    FuncState* f = fs();
    BlockCnt bl;
    enter_block(f, &bl, false);
    statlist();
    leave_block(f);
  }

  static bool is_indexed(EK k) {
    return k == EK::Indexed || k == EK::IndexUp || k == EK::IndexInt || k == EK::IndexStr;
  }

  // In a multiple assignment, a table or index register of an earlier
  // target may be overwritten by assigning local v first: copy it aside.
  void check_conflict(LhsAssign* lh, const ExpDesc* v) {
    FuncState* f = fs();
    int extra = f->freereg;
    bool conflict = false;
    for (; lh; lh = lh->prev) {
      if (!is_indexed(lh->v.k)) continue;
      if (lh->v.k == EK::IndexUp) {
        if (v->k == EK::Upval && lh->v.u.ind.t == v->u.info) {
          conflict = true;
          lh->v.k = EK::IndexStr;
          lh->v.u.ind.t = static_cast<uint8_t>(extra);
        }
      } else {
        if (v->k == EK::Local && lh->v.u.ind.t == v->u.var.ridx) {
          conflict = true;
          lh->v.u.ind.t = static_cast<uint8_t>(extra);
        }
        if (lh->v.k == EK::Indexed && v->k == EK::Local && lh->v.u.ind.idx == v->u.var.ridx) {
          conflict = true;
          lh->v.u.ind.idx = static_cast<short>(extra);
        }
      }
    }
    if (conflict) {
      if (v->k == EK::Local)
        code_ABC(f, OP_MOVE, extra, v->u.var.ridx, 0);
      else
        code_ABC(f, OP_GETUPVAL, extra, v->u.info, 0);
      reserve_regs(f, 1);
    }
  }

  static bool is_var(EK k) {
    return k == EK::Local || k == EK::Upval || k == EK::Const || is_indexed(k);
  }

  void restassign(LhsAssign* lh, int nvars) {
    ExpDesc e;
    check_condition(is_var(lh->v.k), "syntax error");
    check_readonly(&lh->v);
    if (test_next(',')) {
      LhsAssign nv;
      nv.prev = lh;
      suffixedexp(&nv.v);
      if (!is_indexed(nv.v.k)) check_conflict(lh, &nv.v);
      LevelGuard guard(ls);
      restassign(&nv, nvars + 1);
    } else {
      check_next('=');
      int nexps = explist(&e);
      if (nexps != nvars) {
        adjust_assign(nvars, nexps, &e);
      } else {
        set_oneret(fs(), &e);
        store_var(fs(), &lh->v, &e);
        return;
      }
    }
    // Values sit in consecutive registers: assign from the last one down.
    init_exp(&e, EK::NonReloc, fs()->freereg - 1);
    store_var(fs(), &lh->v, &e);
  }

  // Condition of a loop/if: returns the false-exit jump list.
  int cond() {
    ExpDesc v;
    expr(&v);
    if (v.k == EK::Nil) v.k = EK::False;  // 'falses' are all equal here
    go_if_true(fs(), &v);
    return v.f;
  }

  void gotostat() {
    FuncState* f = fs();
    int line = ls->linenumber;
    String* name = str_checkname();
    LabelDesc* lb = find_label(name, dialect(ls->L).label_per_block ? f->bl->firstlabel : f->firstlabel);
    if (lb == nullptr) {
      new_goto_entry(name, line, code_jump(f));  // forward jump: solved later
    } else {
      int lblevel = reg_level(f, lb->nactvar);
      int lbpc = lb->pc;
      if (nvarstack(f) > lblevel) code_ABC(f, OP_CLOSE, lblevel, 0, 0);  // leaving variable scopes
      patch_list(f, code_jump(f), lbpc);
    }
  }

  void breakstat() {
    int line = ls->linenumber;
    ls->next();
    new_goto_entry(ls->new_string("break", 5), line, code_jump(fs()));
  }

  void check_repeated(String* name) {
    LabelDesc* lb = find_label(name, dialect(ls->L).label_per_block ? fs()->bl->firstlabel : fs()->firstlabel);
    if (lb) sem_error(ls, fmt("label '%s' already defined on line %d", name->c_str(), lb->line));
  }

  void labelstat(String* name, int line) {
    check_next(TK_DBCOLON);
    while (ls->t.token == ';' || ls->t.token == TK_DBCOLON) statement();  // skip other no-op statements
    check_repeated(name);
    create_label(name, line, block_follow(false));
  }

  void whilestat(int line) {
    FuncState* f = fs();
    BlockCnt bl;
    ls->next();
    int whileinit = get_label(f);
    int condexit = cond();
    enter_block(f, &bl, true);
    check_next(TK_DO);
    block();
    patch_list(f, code_jump(f), whileinit);
    check_match(TK_END, TK_WHILE, line);
    leave_block(f);
    patch_to_here(f, condexit);
  }

  void repeatstat(int line) {
    FuncState* f = fs();
    int repeat_init = get_label(f);
    BlockCnt bl1, bl2;
    enter_block(f, &bl1, true);   // loop block
    enter_block(f, &bl2, false);  // scope block: 'until' sees its locals
    ls->next();
    statlist();
    check_match(TK_UNTIL, TK_REPEAT, line);
    int condexit = cond();
    leave_block(f);
    if (bl2.upval) {  // upvalues must be closed on the way back to the loop start
      int exit = code_jump(f);
      patch_to_here(f, condexit);
      code_ABC(f, OP_CLOSE, reg_level(f, bl2.nactvar), 0, 0);
      condexit = code_jump(f);
      patch_to_here(f, exit);
    }
    patch_list(f, condexit, repeat_init);
    leave_block(f);
  }

  void exp1() {
    ExpDesc e;
    expr(&e);
    exp2nextreg(fs(), &e);
  }

  // Sets the Bx jump of a for instruction at pc to reach dest.
  void fix_for_jump(int pc, int dest, bool back) {
    Instruction* jmp = &fs()->f->code[pc];
    int offset = dest - (pc + 1);
    if (back) offset = -offset;
    if (offset > MAXARG_Bx) ls->syntax_error("control structure too long");
    setarg_Bx(*jmp, static_cast<unsigned>(offset));
  }

  void forbody(int base, int line, int nvars, bool isgen) {
    FuncState* f = fs();
    BlockCnt bl;
    check_next(TK_DO);
    int prep = isgen ? code_ABx(f, OP_TFORPREP, base, 0) : code_ABx(f, OP_FORPREP, base, 0);
    enter_block(f, &bl, false);
    adjust_localvars(nvars);
    reserve_regs(f, nvars);
    block();
    leave_block(f);
    fix_for_jump(prep, get_label(f), false);
    if (isgen) {
      code_ABC(f, OP_TFORCALL, base, 0, nvars);
      fix_line(f, line);
    }
    int endfor = code_ABx(f, isgen ? OP_TFORLOOP : OP_FORLOOP, base, 0);
    fix_for_jump(endfor, prep + 1, true);
    fix_line(f, line);
  }

  // A loop's control variable: read-only where the version says so (5.5).
  void declare_control_var(String* name) {
    int vidx = new_localvar(name);
    if (dialect(ls->L).readonly_for) get_local_vardesc(fs(), vidx)->kind = VD_CONST;
  }

  void fornum(String* varname, int line) {
    FuncState* f = fs();
    int base = f->freereg;
    new_localvar_lit("(for state)");
    new_localvar_lit("(for state)");
    new_localvar_lit("(for state)");
    declare_control_var(varname);
    check_next('=');
    exp1();  // initial value
    check_next(',');
    exp1();  // limit
    if (test_next(','))
      exp1();  // step
    else {
      code_int(f, f->freereg, 1);
      reserve_regs(f, 1);
    }
    adjust_localvars(3);  // the control variables
    forbody(base, line, 1, false);
  }

  void forlist(String* indexname) {
    FuncState* f = fs();
    ExpDesc e;
    int nvars = 5;  // iterator, state, control, closing, first variable
    int base = f->freereg;
    new_localvar_lit("(for state)");
    new_localvar_lit("(for state)");
    // 5.5's control variable is the first declared one: its three internal
    // slots are iterator, state and closing value, so luna's copy of the
    // control value gets a name of its own there.
    if (dialect(ls->L).readonly_for)
      new_localvar_lit("(for control)");
    else
      new_localvar_lit("(for state)");
    new_localvar_lit("(for state)");
    declare_control_var(indexname);
    while (test_next(',')) {
      new_localvar(str_checkname());
      nvars++;
    }
    check_next(TK_IN);
    int line = ls->linenumber;
    adjust_assign(4, explist(&e), &e);
    adjust_localvars(4);
    mark_to_be_closed(f);  // the closing value may need a __close call
    check_stack(f, 3);     // room for the iterator call
    forbody(base, line, nvars - 4, true);
  }

  void forstat(int line) {
    FuncState* f = fs();
    BlockCnt bl;
    enter_block(f, &bl, true);
    ls->next();
    String* varname = str_checkname();
    switch (ls->t.token) {
      case '=': fornum(varname, line); break;
      case ',': case TK_IN: forlist(varname); break;
      default: ls->syntax_error("'=' or 'in' expected");
    }
    check_match(TK_END, TK_FOR, line);
    leave_block(f);
  }

  // One 'if'/'elseif' clause; escapelist collects the jumps to the end.
  void test_then_block(int* escapelist) {
    FuncState* f = fs();
    BlockCnt bl;
    ExpDesc v;
    int jf;
    ls->next();  // skip 'if' / 'elseif'
    expr(&v);
    const int cond_line = ls->lastline;
    check_next(TK_THEN);
    if (ls->t.token == TK_BREAK) {  // 'if cond then break': jump straight out
      int line = ls->linenumber;
      go_if_false(f, &v);
      ls->next();
      enter_block(f, &bl, false);
      new_goto_entry(ls->new_string("break", 5), line, v.t);
      while (test_next(';')) {}
      if (block_follow(false)) {  // nothing else in the clause
        leave_block(f);
        return;
      }
      jf = code_jump(f);
    } else {
      // The test's instructions take their line from lastline.
      const int then_line = ls->lastline;
      if (dialect(ls->L).if_test_at_cond) ls->lastline = cond_line;
      go_if_true(f, &v);
      ls->lastline = then_line;
      enter_block(f, &bl, false);
      jf = v.f;
    }
    statlist();
    leave_block(f);
    if (ls->t.token == TK_ELSE || ls->t.token == TK_ELSEIF) concat_jumps(f, escapelist, code_jump(f));
    patch_to_here(f, jf);
  }

  void ifstat(int line) {
    int escapelist = NO_JUMP;
    test_then_block(&escapelist);
    while (ls->t.token == TK_ELSEIF) test_then_block(&escapelist);
    if (test_next(TK_ELSE)) block();
    check_match(TK_END, TK_IF, line);
    patch_to_here(fs(), escapelist);
  }

  void localfunc() {
    FuncState* f = fs();
    ExpDesc b;
    int fvar = f->nactvar;
    new_localvar(str_checkname());
    adjust_localvars(1);  // visible inside its own body (recursion)
    body(&b, false, ls->linenumber);
    // debug information only sees the variable after its initialisation
    local_debuginfo(f, fvar)->startpc = f->pc;
  }

  uint8_t get_local_attribute(uint8_t dflt = VD_REG) {
    if (!dialect(ls->L).local_attribs || !test_next('<')) return dflt;
    String* attr = str_checkname();
    check_next('>');
    if (name_is(attr, "const")) return VD_CONST;
    if (name_is(attr, "close")) return VD_TOCLOSE;
    sem_error(ls, fmt("unknown attribute '%s'", attr->c_str()));
  }

  void check_toclose(int level) {
    if (level == -1) return;
    FuncState* f = fs();
    mark_to_be_closed(f);
    code_ABC(f, OP_TBC, reg_level(f, level), 0, 0);
  }

  void localstat() {
    FuncState* f = fs();
    int toclose = -1;
    int vidx = 0, nvars = 0, nexps;
    ExpDesc e;
    // 5.5: an attribute before the names applies to each of them.
    uint8_t common = dialect(ls->L).prefix_attribs ? get_local_attribute() : uint8_t{VD_REG};
    do {
      vidx = new_localvar(str_checkname());
      uint8_t kind = get_local_attribute(common);
      get_local_vardesc(f, vidx)->kind = kind;
      if (kind == VD_TOCLOSE) {
        if (toclose != -1) sem_error(ls, "multiple to-be-closed variables in local list");
        toclose = f->nactvar + nvars;
      }
      nvars++;
    } while (test_next(','));
    if (test_next('=')) {
      nexps = explist(&e);
    } else {
      e.k = EK::Void;
      nexps = 0;
    }
    VarDesc* var = get_local_vardesc(f, vidx);  // re-fetched: explist may grow actvar
    TValue cv;
    if (nvars == nexps && var->kind == VD_CONST && exp2const(f, &e, &cv)) {
      // A constant initialised with a literal needs no register.
      var->kind = VD_CTC;
      var->k = cv;
      adjust_localvars(nvars - 1);
      f->nactvar++;
    } else {
      adjust_assign(nvars, nexps, &e);
      adjust_localvars(nvars);
    }
    check_toclose(toclose);
  }

  bool funcname(ExpDesc* v) {
    bool ismethod = false;
    single_var(v);
    while (ls->t.token == '.') fieldsel(v);
    if (ls->t.token == ':') {
      ismethod = true;
      fieldsel(v);
    }
    return ismethod;
  }

  void funcstat(int line) {
    ExpDesc v, b;
    ls->next();
    bool ismethod = funcname(&v);
    // 5.5 reports a read-only name at the definition's first line.
    const bool early = dialect(ls->L).global_decls;
    if (early) check_readonly(&v);
    body(&b, ismethod, line);
    if (!early) check_readonly(&v);
    store_var(fs(), &v, &b);
    fix_line(fs(), line);  // the definition "happens" in the first line
  }

  // ---- 5.5 global declarations

  // "global" starts a declaration only when a name, an attribute, '*' or
  // 'function' follows: elsewhere it is an ordinary name.
  bool at_global_decl() {
    if (!dialect(ls->L).global_decls || ls->t.token != TK_NAME || !name_is(ls->t.seminfo.ts, "global")) return false;
    int next = ls->lookahead_token();
    return next == TK_NAME || next == '<' || next == '*' || next == TK_FUNCTION;
  }

  uint8_t global_attribute(uint8_t dflt) {
    if (!test_next('<')) return dflt;
    String* attr = str_checkname();
    check_next('>');
    if (name_is(attr, "const")) return VD_GCONST;
    if (name_is(attr, "close")) sem_error(ls, "global variables cannot be to-be-closed");
    sem_error(ls, fmt("unknown attribute '%s'", attr->c_str()));
  }

  // Makes a global declaration active from here to the end of the block.
  void declare_global(String* name, uint8_t kind) {
    FuncState* f = fs();
    check_limit(f, f->nactvar + 1, SHRT_MAX, "variable declarations");
    VarDesc vd{};
    vd.kind = kind;
    vd.name = name;
    dyd()->actvar.push_back(vd);
    f->nactvar++;
    f->nglobals++;
  }

  // Stores the value in register reg into global name (declared).
  void init_global(String* name, int reg) {
    ExpDesc var, val;
    single_var_named(&var, name);
    code_check_undefined(fs(), &var, name, ls->lastline);
    init_exp(&val, EK::NonReloc, reg);
    store_var(fs(), &var, &val);
  }

  void globalstat(int line) {
    ls->next();  // skip 'global'
    if (test_next(TK_FUNCTION)) {
      String* name = str_checkname();
      declare_global(name, VD_GLOBAL);  // visible in its own body
      ExpDesc b;
      body(&b, false, line);
      exp2anyreg(fs(), &b);  // the closure's register must not be the check's
      ExpDesc var;
      single_var_named(&var, name);
      code_check_undefined(fs(), &var, name, line);
      store_var(fs(), &var, &b);
      fix_line(fs(), line);
      return;
    }
    uint8_t common = global_attribute(VD_GLOBAL);
    if (test_next('*')) {
      declare_global(star_, common);
      return;
    }
    std::vector<std::pair<String*, uint8_t>> names;
    do {
      String* name = str_checkname();
      names.emplace_back(name, global_attribute(common));
    } while (test_next(','));
    if (!test_next('=')) {
      for (auto& [name, kind] : names) declare_global(name, kind);
      return;
    }
    // The values are computed outside the declarations' scope.
    FuncState* f = fs();
    int base = f->freereg;
    ExpDesc e;
    int nexps = explist(&e);
    int nvars = static_cast<int>(names.size());
    adjust_assign(nvars, nexps, &e);
    for (auto& [name, kind] : names) declare_global(name, kind);
    for (int i = nvars - 1; i >= 0; i--) init_global(names[size_t(i)].first, base + i);
  }

  void exprstat() {
    FuncState* f = fs();
    LhsAssign v;
    suffixedexp(&v.v);
    if (ls->t.token == '=' || ls->t.token == ',') {
      v.prev = nullptr;
      restassign(&v, 1);
    } else {
      check_condition(v.v.k == EK::Call, "syntax error");
      setarg_C(get_instruction(f, &v.v), 1);  // call statement keeps no results
    }
  }

  void retstat() {
    FuncState* f = fs();
    ExpDesc e;
    int nret;
    int first = nvarstack(f);
    if (block_follow(true) || ls->t.token == ';') {
      nret = 0;
    } else {
      nret = explist(&e);
      // 5.5 names the limit of RETURN's count (the registers run out at the same point)
      if (dialect(ls->L).lib_55) check_limit(f, nret, MAXARG_B - 1, "returns");
      if (has_multret(e.k)) {
        set_multret(f, &e);
        if (e.k == EK::Call && nret == 1 && !f->bl->insidetbc) {  // tail call
          Instruction& i = get_instruction(f, &e);
          i = (i & ~Instruction(0x7f)) | Instruction(OP_TAILCALL);
        }
        nret = MULTRET;
      } else if (nret == 1) {
        first = exp2anyreg(f, &e);  // can return a register in place
      } else {
        exp2nextreg(f, &e);  // values must be consecutive
      }
    }
    code_ret(f, first, nret);
    test_next(';');
  }

  void statement() {
    int line = ls->linenumber;
    LevelGuard guard(ls);
    charge_instruction_budget(ls->L, 1);  // so the limits can stop a huge load
    switch (ls->t.token) {
      case ';': ls->next(); break;
      case TK_IF: ifstat(line); break;
      case TK_WHILE: whilestat(line); break;
      case TK_DO:
        ls->next();
        block();
        check_match(TK_END, TK_DO, line);
        break;
      case TK_FOR: forstat(line); break;
      case TK_REPEAT: repeatstat(line); break;
      case TK_FUNCTION: funcstat(line); break;
      case TK_LOCAL:
        ls->next();
        if (test_next(TK_FUNCTION))
          localfunc();
        else
          localstat();
        break;
      case TK_DBCOLON:
        ls->next();
        labelstat(str_checkname(), line);
        break;
      case TK_RETURN:
        ls->next();
        retstat();
        break;
      case TK_BREAK: breakstat(); break;
      case TK_GOTO:
        ls->next();
        gotostat();
        break;
      default:
        if (at_global_decl())
          globalstat(line);
        else
          exprstat();
        break;
    }
    fs()->freereg = static_cast<uint8_t>(nvarstack(fs()));  // free temporaries
  }

  // The main chunk: a vararg function whose only upvalue is _ENV.
  void mainfunc(FuncState* f) {
    BlockCnt bl;
    open_func(f, &bl);
    set_vararg(f, 0, nullptr, true);
    UpvalDesc* env = alloc_upvalue(f);
    env->instack = true;
    env->idx = 0;
    env->kind = VD_REG;
    env->name = ls->envn;
    star_ = ls->new_string("*", 1);
    ls->next();
    statlist();
    check(TK_EOS);
    close_func();
  }
};


}  // namespace

void compile_source(State* L, const char* source, size_t size, const char* chunkname) {
  GcPause pause(L->g);  // the compiler holds unanchored objects
  String* src = str_new_cstr(L, chunkname);
  Lexer lexer(L, source, size, src);
  Dyndata dyd;
  lexer.dyd = &dyd;
  FuncState fs;
  fs.f = proto_new(L);
  fs.f->source = src;
  Parser parser{&lexer};
  parser.mainfunc(&fs);
  LClosure* cl = lclosure_new(L, 1);
  cl->p = fs.f;
  ensure_stack(L, 1);
  push_raw(L, TValue::object(cl));
  lclosure_init_upvals(L, cl);
}

}  // namespace luna
