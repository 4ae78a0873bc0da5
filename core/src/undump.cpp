// Binary chunks, reading side. The input is untrusted: every size is
// checked against the remaining bytes before anything is allocated, and the
// bytecode is validated so that the VM never reads outside its registers,
// constants, upvalues, nested functions or code.
#include <vector>

#include "dump_format.hpp"
#include "opcodes.hpp"
#include "state.hpp"

namespace luna {

namespace {

// Nested functions deeper than this are refused (it bounds the recursion).
constexpr int MAX_NESTING = 200;

class Loader {
 public:
  Loader(State* L, const char* data, size_t size, const char* name)
      : L_(L), p_(reinterpret_cast<const uint8_t*>(data)), end_(p_ + size), name_(name) {}

  LClosure* run() {
    header();
    int nupvals = byte();
    Proto* f = proto_new(L_);
    function(f, nullptr, nullptr, 0);
    if (f->sizeupvalues != nupvals) corrupted();
    LClosure* cl = lclosure_new(L_, nupvals);
    cl->p = f;
    lclosure_init_upvals(L_, cl);
    return cl;
  }

 private:
  State* L_;
  const uint8_t* p_;
  const uint8_t* end_;
  const char* name_;
  std::vector<String*> saved_;  // 5.5: strings read, by index

  [[noreturn]] void fail(const char* why) {
    push_fstring(L_, "%s: bad binary format (%s)", name_, why);
    throw_status(L_, ERRSYNTAX);
  }
  [[noreturn]] void corrupted() { fail("corrupted chunk"); }

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  void need(size_t n) {
    if (remaining() < n) fail("truncated chunk");
  }

  uint8_t byte() {
    need(1);
    return *p_++;
  }
  void block(void* out, size_t n) {
    need(n);
    std::memcpy(out, p_, n);
    p_ += n;
  }
  size_t varint() {
    size_t x = 0;
    for (;;) {
      uint8_t b = byte();
      if (x >> (64 - 7) != 0) corrupted();  // would not fit in 64 bits
      x = (x << 7) | (b & 0x7f);
      if (b & 0x80) return x;
    }
  }
  // A count of elements, each at least min_bytes long in the input: larger
  // counts cannot be genuine, and are refused before any allocation.
  int count(size_t min_bytes, size_t limit = INT32_MAX) {
    size_t n = varint();
    if (n > limit) corrupted();
    if (min_bytes > 0 && n > remaining() / min_bytes) fail("truncated chunk");
    return static_cast<int>(n);
  }
  int small_int() {
    size_t n = varint();
    if (n > INT32_MAX) corrupted();
    return static_cast<int>(n);
  }
  uint64_t u64() {
    uint8_t buf[8];
    block(buf, 8);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= static_cast<uint64_t>(buf[i]) << (8 * i);
    return x;
  }
  Integer integer() { return static_cast<Integer>(u64()); }
  Number number() {
    uint64_t bits = u64();
    Number n;
    std::memcpy(&n, &bits, sizeof n);
    return n;
  }

  String* string() {
    size_t size = varint();
    if (size == 0) return nullptr;
    const bool v55 = dialect(L_).dump_55;
    if (v55 && size == 1) {  // a string read before
      size_t idx = varint();
      if (idx >= saved_.size()) fail("corrupted chunk");
      return saved_[idx];
    }
    size_t len = size - (v55 ? 2 : 1);
    need(len);
    String* s = str_new(L_, reinterpret_cast<const char*>(p_), len);
    p_ += len;
    if (v55) saved_.push_back(s);  // the collector is paused while loading
    return s;
  }

  void literal(const char* s, size_t n, const char* why) {
    for (size_t i = 0; i < n; i++)
      if (byte() != static_cast<uint8_t>(s[i])) fail(why);
  }
  void check_size(size_t expected, const char* tname) {
    if (byte() != expected) {
      const char* msg = push_fstring(L_, "%s size mismatch", tname);
      fail(msg);
    }
  }

  // A chunk of a version luna speaks names both versions, so a host sees
  // which VM it needs.
  [[noreturn]] void version_mismatch(uint8_t v) {
    for (LuaVersion known : {LuaVersion::Lua53, LuaVersion::Lua54, LuaVersion::Lua55})
      if (dialect_for(known)->dump_version == v)
        fail(push_fstring(L_, "version mismatch: a %s chunk, but this VM speaks %s", version_name(known),
                          dialect(L_).name));
    fail("version mismatch");
  }

  void header() {
    literal(BINARY_SIGNATURE, 4, "not a binary chunk");
    uint8_t v = byte();
    if (v != dialect(L_).dump_version) version_mismatch(v);
    if (byte() != dumpfmt::FORMAT) fail("format mismatch");
    literal(dumpfmt::DATA, dumpfmt::DATA_LEN, "corrupted chunk");
    if (dialect(L_).dump_55) {
      check_size(sizeof(int), "int");
      int ti;
      block(&ti, sizeof ti);
      if (ti != -static_cast<int>(dumpfmt::TEST_INT)) fail("int format mismatch");
      check_size(sizeof(Instruction), "Instruction");
      if (u32() != dumpfmt::TEST_INSTRUCTION) fail("instruction format mismatch");
      check_size(sizeof(Integer), "lua_Integer");
      if (integer() != -dumpfmt::TEST_INT) fail("integer format mismatch");
      check_size(sizeof(Number), "lua_Number");
      if (number() != -dumpfmt::TEST_NUM) fail("float format mismatch");
      return;
    }
    if (dialect(L_).dump_c_sizes) {
      check_size(sizeof(int), "int");
      check_size(sizeof(size_t), "size_t");
    }
    check_size(sizeof(Instruction), "Instruction");
    check_size(sizeof(Integer), "lua_Integer");
    check_size(sizeof(Number), "lua_Number");
    if (integer() != dumpfmt::TEST_INT) fail("integer format mismatch");
    if (number() != dumpfmt::TEST_NUM) fail("float format mismatch");
  }

  // Arrays are stored in the Proto, with their sizes, as soon as they are
  // allocated and cleared, so a Proto abandoned by an error frees cleanly.
  void code(Proto* f) {
    int n = count(4);
    Instruction* c = mem_new_array<Instruction>(L_, static_cast<size_t>(n));
    for (int i = 0; i < n; i++) c[i] = 0;
    f->code = c;
    f->sizecode = n;
    for (int i = 0; i < n; i++) c[i] = u32();
  }
  uint32_t u32() {
    uint8_t buf[4];
    block(buf, 4);
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= static_cast<uint32_t>(buf[i]) << (8 * i);
    return x;
  }

  void constants(Proto* f) {
    int n = count(1);
    TValue* k = mem_new_array<TValue>(L_, static_cast<size_t>(n));
    for (int i = 0; i < n; i++) k[i] = TValue::nil();
    f->k = k;
    f->sizek = n;
    for (int i = 0; i < n; i++) {
      switch (byte()) {
        case dumpfmt::K_NIL: break;
        case dumpfmt::K_FALSE: k[i] = TValue::boolean(false); break;
        case dumpfmt::K_TRUE: k[i] = TValue::boolean(true); break;
        case dumpfmt::K_INT: k[i] = TValue::integer(integer()); break;
        case dumpfmt::K_FLOAT: k[i] = TValue::number(number()); break;
        case dumpfmt::K_SHORTSTR: case dumpfmt::K_LONGSTR: {
          String* s = string();
          if (s == nullptr) corrupted();
          k[i] = str_value(s);
          break;
        }
        default: corrupted();
      }
    }
    clear_key_hints(k, n);
  }

  // Upvalue descriptors refer to the enclosing function's registers or
  // upvalues; the main function's are created fresh, whatever they say.
  void upvalues(Proto* f, const Proto* parent) {
    int n = count(3, MAXARG_B + 1);
    UpvalDesc* u = mem_new_array<UpvalDesc>(L_, static_cast<size_t>(n));
    for (int i = 0; i < n; i++) u[i] = UpvalDesc{nullptr, false, 0, 0};
    f->upvalues = u;
    f->sizeupvalues = n;
    for (int i = 0; i < n; i++) {
      uint8_t instack = byte(), idx = byte(), kind = byte();
      if (instack > 1 || kind > 3) corrupted();
      if (parent != nullptr) {
        int limit = instack ? parent->maxstacksize : parent->sizeupvalues;
        if (idx >= limit) corrupted();
      }
      u[i].instack = instack != 0;
      u[i].idx = idx;
      u[i].kind = kind;
    }
  }

  void protos(Proto* f, int depth) {
    int n = count(1);
    Proto** ps = mem_new_array<Proto*>(L_, static_cast<size_t>(n));
    for (int i = 0; i < n; i++) ps[i] = nullptr;
    f->p = ps;
    f->sizep = n;
    for (int i = 0; i < n; i++) {
      ps[i] = proto_new(L_);
      function(ps[i], f->source, f, depth + 1);
    }
  }

  void debug(Proto* f) {
    int n = count(1);
    if (n != 0 && n != f->sizecode) corrupted();
    int* li = mem_new_array<int>(L_, static_cast<size_t>(n));
    for (int i = 0; i < n; i++) li[i] = 0;
    f->lineinfo = li;
    f->sizelineinfo = n;
    for (int i = 0; i < n; i++) li[i] = static_cast<int8_t>(byte());
    // Each ABSLINEINFO takes the next absolute (pc, line) pair, in order.
    int nabs = count(2, static_cast<size_t>(n));
    int used = 0;
    int64_t line = f->linedefined;
    for (int pc = 0; pc < n; pc++) {
      if (li[pc] == dumpfmt::ABSLINEINFO) {
        check(used++ < nabs && varint() == static_cast<size_t>(pc));
        line = static_cast<int64_t>(varint());
      } else {
        line += li[pc];
      }
      if (line < 0 || line > INT32_MAX) corrupted();
      li[pc] = static_cast<int>(line);
    }
    check(used == nabs);
    n = count(3);
    LocVar* lv = mem_new_array<LocVar>(L_, static_cast<size_t>(n));
    for (int i = 0; i < n; i++) lv[i] = LocVar{nullptr, 0, 0};
    f->locvars = lv;
    f->sizelocvars = n;
    for (int i = 0; i < n; i++) {
      lv[i].name = string();
      lv[i].startpc = small_int();
      lv[i].endpc = small_int();
      if (lv[i].name == nullptr || lv[i].startpc > lv[i].endpc || lv[i].endpc > f->sizecode) corrupted();
    }
    n = count(1);
    if (n != 0 && n != f->sizeupvalues) corrupted();
    for (int i = 0; i < n; i++) f->upvalues[i].name = string();
  }

  void function(Proto* f, String* psource, const Proto* parent, int depth) {
    if (depth > MAX_NESTING) corrupted();
    f->source = string();
    if (f->source == nullptr) f->source = psource;
    f->linedefined = small_int();
    f->lastlinedefined = small_int();
    f->numparams = byte();
    f->is_vararg = byte();
    f->maxstacksize = byte();
    if (f->is_vararg > 1 || f->numparams > f->maxstacksize) corrupted();
    code(f);
    constants(f);
    upvalues(f, parent);
    protos(f, depth);
    debug(f);
    validate(f);
  }

  // ---------------------------------------------------- code validation

  void validate(const Proto* f) {
    int n = f->sizecode;
    if (n == 0) corrupted();
    // Execution must never run off the end of the code.
    switch (get_op(f->code[n - 1])) {
      case OP_RETURN: case OP_RETURN0: case OP_RETURN1: case OP_JMP: break;
      default: corrupted();
    }
    if (f->is_vararg && get_op(f->code[0]) != OP_VARARGPREP) corrupted();
    for (int pc = 0; pc < n; pc++) check_instruction(f, pc);
    check_flow(f);
  }

  // ------------------------------------- register contents along the flow
  // Some instructions trust what a register holds: SETLIST stores into R[A]
  // as a table, SELF with a register key reads it as a string, and FORLOOP
  // updates R[A..A+2] in place as numbers. A forward data-flow pass over the
  // control-flow graph proves that on every path reaching them, those
  // registers were set by NEWTABLE, LOADK(X) of a string and FORPREP, and
  // not changed since, neither directly nor through an upvalue capturing
  // the register (a captured register is trusted again after CLOSE).
  //
  // The same pass follows the stack top and the frame's bookkeeping:
  //  - an operand "up to the top" (B == 0 of CALL, TAILCALL, RETURN,
  //    SETLIST) is reached only straight from an open CALL or VARARG whose
  //    results start at or above the consumer's own registers, on every
  //    path (a jump never carries a top), so the count of values the VM
  //    computes from the top is never negative;
  //  - a to-be-closed variable is only opened above every live one, and no
  //    exit that skips closing (RETURN without k, RETURN0, RETURN1,
  //    TAILCALL) leaves one live, nor an open upvalue on the frame's
  //    registers for the non-closing ones: stale entries would point into
  //    a stack that later shrinks.

  struct RegSet {
    uint64_t w[4] = {0, 0, 0, 0};
    bool has(int r) const { return r < 256 && ((w[r >> 6] >> (r & 63)) & 1); }
    void set(int r, bool on) {
      if (r >= 256) return;
      uint64_t bit = uint64_t(1) << (r & 63);
      if (on) w[r >> 6] |= bit; else w[r >> 6] &= ~bit;
    }
    void set_range(int r, int count, bool on) {
      for (int i = r < 0 ? 0 : r; i < r + count && i < 256; i++) set(i, on);
    }
    bool full() const { return (w[0] & w[1] & w[2] & w[3]) == ~uint64_t(0); }
    bool full_from(int r) const {  // every register r..255
      for (int i = r; i < 256; i++)
        if (!has(i)) return false;
      return true;
    }
    bool meet(const RegSet& o) {  // intersection; true if it changed
      bool changed = false;
      for (int i = 0; i < 4; i++) {
        uint64_t nw = w[i] & o.w[i];
        if (nw != w[i]) changed = true;
        w[i] = nw;
      }
      return changed;
    }
  };
  struct Known {
    RegSet tables, strings;
    RegSet loops;       // bit b: R[b..b+2] hold FORPREP's numbers
    RegSet uncaptured;  // no open upvalue of a closure made here points to it
    RegSet no_tbc;      // no live to-be-closed variable in it
    int top_from = -1;  // the stack top is open, at or above R[top_from]; -1: not open
    bool meet(const Known& o) {
      bool a = tables.meet(o.tables);
      bool b = strings.meet(o.strings);
      bool c = loops.meet(o.loops);
      bool d = uncaptured.meet(o.uncaptured);
      bool e = no_tbc.meet(o.no_tbc);
      int t = top_from < 0 || o.top_from < 0 ? -1 : std::min(top_from, o.top_from);
      bool f = t != top_from;
      top_from = t;
      return a || b || c || d || e || f;
    }
    // Registers r .. r+count-1 get unknown values.
    void kill(int r, int count) {
      tables.set_range(r, count, false);
      strings.set_range(r, count, false);
      loops.set_range(r - 2, count + 2, false);
    }
  };

  static Known transfer(const Proto* f, int pc, Known k) {
    Instruction i = f->code[pc];
    int a = getarg_A(i), b = getarg_B(i);
    // Only an open call or vararg leaves the top open, for the next one; so
    // does a tail call, whose native callee's results (after a yield) run up
    // to the top.
    OpCode op = get_op(i);
    k.top_from = ((op == OP_CALL || op == OP_VARARG) && getarg_C(i) == 0) || op == OP_TAILCALL ? a : -1;
    switch (op) {
      case OP_NEWTABLE:
        k.kill(a, 1);
        k.tables.set(a, true);
        break;
      case OP_LOADK: case OP_LOADKX: {
        int idx = get_op(i) == OP_LOADK ? getarg_Bx(i) : getarg_Ax(f->code[pc + 1]);
        k.kill(a, 1);
        k.strings.set(a, f->k[idx].is_string());
        break;
      }
      case OP_MOVE: {
        bool t = k.tables.has(b), str = k.strings.has(b);
        k.kill(a, 1);
        k.tables.set(a, t);
        k.strings.set(a, str);
        break;
      }
      case OP_FORPREP:
        k.kill(a, 4);
        k.loops.set(a, true);
        break;
      case OP_FORLOOP: k.kill(a + 3, 1); break;  // A..A+2 stay numbers
      case OP_CLOSURE: {
        k.kill(a, 1);
        const Proto* np = f->p[getarg_Bx(i)];
        for (int u = 0; u < np->sizeupvalues; u++)
          if (np->upvalues[u].instack) k.uncaptured.set(np->upvalues[u].idx, false);
        break;
      }
      case OP_CLOSE:
        k.uncaptured.set_range(a, 256 - a, true);
        k.no_tbc.set_range(a, 256 - a, true);
        break;
      case OP_TBC: k.no_tbc.set(a, false); break;
      case OP_TFORPREP: k.no_tbc.set(a + 3, false); break;
      case OP_SELF: k.kill(a, 2); break;
      case OP_LOADNIL: k.kill(a, b + 1); break;
      case OP_CONCAT: k.kill(a, b); break;
      case OP_CALL: case OP_TAILCALL: case OP_VARARG: k.kill(a, 256); break;
      case OP_TFORCALL: k.kill(a + 3, 256); break;
      case OP_TFORLOOP: k.kill(a + 2, 1); break;
      default:
        if (op_info[get_op(i)].sets_a) k.kill(a, 1);
        break;
    }
    // Any instruction may run Lua code (metamethods, calls) that changes a
    // captured register through its upvalue.
    for (int w = 0; w < 4; w++) {
      if (k.uncaptured.w[w] == ~uint64_t(0)) continue;  // the usual case
      for (int r = w * 64; r < w * 64 + 64; r++)
        if (!k.uncaptured.has(r)) k.kill(r, 1);
    }
    return k;
  }

  // Where control may go after the instruction at pc (at most two places).
  static int successors(const Proto* f, int pc, int out[2]) {
    Instruction i = f->code[pc];
    OpCode op = get_op(i);
    switch (op) {
      case OP_JMP: out[0] = pc + 1 + getarg_sJ(i); return 1;
      case OP_RETURN: case OP_RETURN0: case OP_RETURN1: return 0;
      // A tail call of a Lua function never comes back to this frame, but a
      // native one that yields resumes it at the next instruction.
      case OP_TAILCALL: out[0] = pc + 1; return 1;
      case OP_LFALSESKIP: case OP_LOADKX: case OP_NEWTABLE: out[0] = pc + 2; return 1;
      case OP_SETLIST: out[0] = pc + (getarg_k(i) ? 2 : 1); return 1;
      case OP_FORPREP: out[0] = pc + 1; out[1] = pc + 2 + getarg_Bx(i); return 2;
      case OP_FORLOOP: case OP_TFORLOOP: out[0] = pc + 1; out[1] = pc + 1 - getarg_Bx(i); return 2;
      case OP_TFORPREP: out[0] = pc + 1 + getarg_Bx(i); return 1;
      default:
        out[0] = pc + 1;
        if (op_info[op].is_test) {
          out[1] = pc + 2;
          return 2;
        }
        return 1;
    }
  }

  void check_flow(const Proto* f) {
    int n = f->sizecode;
    // One block for all the scratch arrays, so that nothing leaks if the
    // allocation fails.
    size_t un = static_cast<size_t>(n);
    size_t bytes = un * (sizeof(Known) + sizeof(int) + 2 * sizeof(bool));
    char* block = static_cast<char*>(mem_alloc(L_, bytes));
    Known* in = reinterpret_cast<Known*>(block);
    int* work = reinterpret_cast<int*>(block + un * sizeof(Known));
    bool* seen = reinterpret_cast<bool*>(block + un * (sizeof(Known) + sizeof(int)));
    bool* queued = seen + un;
    for (int pc = 0; pc < n; pc++) {
      in[pc] = Known();
      seen[pc] = queued[pc] = false;
    }
    int nwork = 0;
    seen[0] = queued[0] = true;
    in[0].uncaptured.set_range(0, 256, true);
    in[0].no_tbc.set_range(0, 256, true);
    work[nwork++] = 0;
    while (nwork > 0) {
      int pc = work[--nwork];
      queued[pc] = false;
      Known out = transfer(f, pc, in[pc]);
      int succ[2];
      int ns = successors(f, pc, succ);
      for (int s = 0; s < ns; s++) {
        int t = succ[s];
        bool changed;
        if (!seen[t]) {
          in[t] = out;
          seen[t] = true;
          changed = true;
        } else {
          changed = in[t].meet(out);
        }
        if (changed && !queued[t]) {
          queued[t] = true;
          work[nwork++] = t;
        }
      }
    }
    bool ok = true;
    for (int pc = 0; pc < n && ok; pc++)
      if (seen[pc]) ok = flow_ok(f->code[pc], in[pc]);  // dead code never runs
    mem_free(L_, block, bytes);
    if (!ok) corrupted();
  }

  // What the instruction i needs from the state on entry.
  static bool flow_ok(Instruction i, const Known& in) {
    int a = getarg_A(i), b = getarg_B(i);
    switch (get_op(i)) {
      case OP_SETLIST:
        if (b == 0 && !(in.top_from > a)) return false;  // the table itself is below the top
        return in.tables.has(a);
      case OP_SELF: return getarg_k(i) || in.strings.has(getarg_C(i));
      case OP_FORLOOP: return in.loops.has(a);
      case OP_CALL: return b != 0 || in.top_from > a;  // the function is below the top
      case OP_TAILCALL:
        return (b != 0 || in.top_from > a) && in.no_tbc.full() && (getarg_k(i) || in.uncaptured.full());
      case OP_RETURN:
        if (b == 0 && !(in.top_from >= a)) return false;
        return getarg_k(i) || (in.no_tbc.full() && in.uncaptured.full());
      case OP_RETURN0: case OP_RETURN1: return in.no_tbc.full() && in.uncaptured.full();
      case OP_TBC: return in.no_tbc.full_from(a);
      case OP_TFORPREP: return in.no_tbc.full_from(a + 3);
      default: return true;
    }
  }

  void check(bool ok) {
    if (!ok) corrupted();
  }
  void reg(const Proto* f, int r) { check(r < f->maxstacksize); }
  void kst(const Proto* f, int k) { check(k < f->sizek); }
  void kstr(const Proto* f, int k) {
    check(k < f->sizek && f->k[k].is_short_string());
  }
  void knum(const Proto* f, int k) { check(k < f->sizek && f->k[k].is_number()); }
  void upv(const Proto* f, int u) { check(u < f->sizeupvalues); }
  void rk(const Proto* f, Instruction i) {
    if (getarg_k(i))
      kst(f, getarg_C(i));
    else
      reg(f, getarg_C(i));
  }
  // A jump destination: inside the code, never on an instruction that only
  // carries an argument for its predecessor, nor back to VARARGPREP.
  void target(const Proto* f, int dest) {
    check(dest >= 0 && dest < f->sizecode);
    check(get_op(f->code[dest]) != OP_EXTRAARG);
    check(!(f->is_vararg && dest == 0));
  }
  // C of RETURN and TAILCALL tells the VM how far a vararg frame was
  // shifted; any other value would move the frame base elsewhere.
  static int vararg_c(const Proto* f) { return f->is_vararg ? f->numparams + 1 : 0; }
  // The instruction after a test is the jump it conditionally skips.
  void test_jump(const Proto* f, int pc) {
    check(pc + 2 < f->sizecode && get_op(f->code[pc + 1]) == OP_JMP);
  }

  void check_instruction(const Proto* f, int pc) {
    Instruction i = f->code[pc];
    int op = get_op(i);
    check(op < NUM_OPCODES);
    int a = getarg_A(i), b = getarg_B(i), c = getarg_C(i);
    int ms = f->maxstacksize;
    switch (op) {
      case OP_MOVE: reg(f, a); reg(f, b); break;
      case OP_LOADI: case OP_LOADF: case OP_LOADFALSE: case OP_LOADTRUE: reg(f, a); break;
      case OP_LOADK: reg(f, a); kst(f, getarg_Bx(i)); break;
      case OP_LOADKX:
        reg(f, a);
        check(pc + 1 < f->sizecode && get_op(f->code[pc + 1]) == OP_EXTRAARG);
        kst(f, getarg_Ax(f->code[pc + 1]));
        break;
      case OP_LFALSESKIP: reg(f, a); check(pc + 2 < f->sizecode); break;
      case OP_LOADNIL: check(a + b < ms); break;
      case OP_GETUPVAL: case OP_SETUPVAL: reg(f, a); upv(f, b); break;
      case OP_GETTABUP: reg(f, a); upv(f, b); kstr(f, c); break;
      case OP_GETTABLE: reg(f, a); reg(f, b); reg(f, c); break;
      case OP_GETI: reg(f, a); reg(f, b); break;
      case OP_GETFIELD: reg(f, a); reg(f, b); kstr(f, c); break;
      case OP_SETTABUP: upv(f, a); kstr(f, b); rk(f, i); break;
      case OP_SETTABLE: reg(f, a); reg(f, b); rk(f, i); break;
      case OP_SETI: reg(f, a); rk(f, i); break;
      case OP_SETFIELD: reg(f, a); kstr(f, b); rk(f, i); break;
      case OP_NEWTABLE: {
        reg(f, a);
        check(pc + 1 < f->sizecode && get_op(f->code[pc + 1]) == OP_EXTRAARG);
        // Size hints cannot exceed what the code could fill: one hash field
        // per instruction, one SETLIST batch of array items per instruction.
        // Larger ones would only be a way to allocate huge tables.
        check(b == 0 || b - 1 <= ceil_log2(static_cast<unsigned>(f->sizecode)));
        uint64_t asize = static_cast<uint64_t>(c);
        if (getarg_k(i)) asize += static_cast<uint64_t>(getarg_Ax(f->code[pc + 1])) * (MAXARG_C + 1);
        check(asize <= static_cast<uint64_t>(f->sizecode) * FIELDS_PER_FLUSH);
        break;
      }
      case OP_SELF:
        reg(f, a + 1);
        reg(f, b);
        if (getarg_k(i))
          check(c < f->sizek && f->k[c].is_string());
        else
          reg(f, c);
        break;
      case OP_ADDI: case OP_SHRI: case OP_SHLI:
      case OP_UNM: case OP_BNOT: case OP_NOT: case OP_LEN:
        reg(f, a); reg(f, b); break;
      case OP_ADDK: case OP_SUBK: case OP_MULK: case OP_MODK: case OP_POWK: case OP_DIVK:
      case OP_IDIVK: case OP_BANDK: case OP_BORK: case OP_BXORK:
        reg(f, a); reg(f, b); knum(f, c); break;
      case OP_ADD: case OP_SUB: case OP_MUL: case OP_MOD: case OP_POW: case OP_DIV: case OP_IDIV:
      case OP_BAND: case OP_BOR: case OP_BXOR: case OP_SHL: case OP_SHR:
        reg(f, a); reg(f, b); reg(f, c); break;
      // An event of binary arithmetic, right after the instruction it serves.
      case OP_MMBIN: case OP_MMBINI: case OP_MMBINK:
        reg(f, a);
        if (op == OP_MMBIN) reg(f, b);
        if (op == OP_MMBINK) kst(f, b);
        check(c >= TM_ADD && c <= TM_SHR);
        check(pc > 0 && is_mm_arith(get_op(f->code[pc - 1])) && mmbin_for(get_op(f->code[pc - 1])) == op);
        break;
      case OP_CONCAT: check(b >= 1 && a + b <= ms); break;
      case OP_CLOSE: case OP_TBC: reg(f, a); break;
      case OP_JMP: target(f, pc + 1 + getarg_sJ(i)); break;
      case OP_EQ: case OP_LT: case OP_LE: reg(f, a); reg(f, b); test_jump(f, pc); break;
      case OP_EQK: reg(f, a); kst(f, b); test_jump(f, pc); break;
      case OP_EQI: case OP_LTI: case OP_LEI: case OP_GTI: case OP_GEI: case OP_TEST:
        reg(f, a); test_jump(f, pc); break;
      case OP_TESTSET: reg(f, a); reg(f, b); test_jump(f, pc); break;
      case OP_CALL:
        reg(f, a);
        if (b != 0) check(a + b <= ms);
        if (c != 0) check(a + c - 1 <= ms);
        break;
      case OP_TAILCALL:
        reg(f, a);
        if (b != 0) check(a + b <= ms);
        check(c == vararg_c(f));
        break;
      case OP_RETURN:
        check(c == vararg_c(f));
        if (b == 0)
          check(a <= ms);
        else
          check(a + b - 1 <= ms);
        break;
      // The short forms do not undo a vararg frame's shift.
      case OP_RETURN0: check(!f->is_vararg); break;
      case OP_RETURN1: check(!f->is_vararg); reg(f, a); break;
      case OP_FORLOOP: check(a + 3 < ms); target(f, pc + 1 - getarg_Bx(i)); break;
      case OP_FORPREP: check(a + 3 < ms); target(f, pc + 2 + getarg_Bx(i)); break;
      case OP_TFORPREP: check(a + 3 < ms); target(f, pc + 1 + getarg_Bx(i)); break;
      case OP_TFORCALL:
        // The call itself uses three slots above R[A+3]; the frame's extra
        // slots cover them when the loop has few variables.
        check(c >= 1 && a + 3 + c < ms && a + 6 < ms + EXTRA_STACK);
        // The VM goes straight on to the TFORLOOP that follows.
        check(pc + 1 < f->sizecode && get_op(f->code[pc + 1]) == OP_TFORLOOP &&
              getarg_A(f->code[pc + 1]) == a);
        break;
      case OP_TFORLOOP: check(a + 4 < ms); target(f, pc + 1 - getarg_Bx(i)); break;
      case OP_SETLIST:
        reg(f, a);
        if (b != 0) check(a + b < ms);
        if (getarg_k(i)) check(pc + 1 < f->sizecode && get_op(f->code[pc + 1]) == OP_EXTRAARG);
        break;
      case OP_CLOSURE: reg(f, a); check(getarg_Bx(i) < f->sizep); break;
      case OP_VARARG:
        check(f->is_vararg);
        if (getarg_k(i)) reg(f, b);  // the vararg table it reads
        if (c == 0) check(a <= ms); else check(a + c - 1 <= ms);
        break;
      case OP_VARARGPREP:
        check(pc == 0 && f->is_vararg && a == f->numparams);
        if (c != 0) reg(f, a);  // a named vararg table goes to register a
        break;
      case OP_ERRNNIL:
        reg(f, a);
        check(getarg_Bx(i) <= f->sizek && (getarg_Bx(i) == 0 || f->k[getarg_Bx(i) - 1].is_string()));
        break;
      case OP_GETVARG:
        check(f->is_vararg && b <= 2);
        reg(f, a);
        if (b == 0) reg(f, c);
        if (b == 1) check(c < f->sizek);
        break;
      case OP_EXTRAARG: {
        check(pc > 0);
        Instruction prev = f->code[pc - 1];
        OpCode pop = get_op(prev);
        check(pop == OP_LOADKX || pop == OP_NEWTABLE || (pop == OP_SETLIST && getarg_k(prev)));
        break;
      }
      default: corrupted();
    }
  }
};

// The name used in messages: without the '=' or '@' prefix, and
// "binary string" for a chunk named by its own contents.
const char* display_name(const char* chunkname) {
  if (chunkname == nullptr) return "?";
  if (*chunkname == '@' || *chunkname == '=') return chunkname + 1;
  if (*chunkname == BINARY_SIGNATURE[0]) return "binary string";
  return chunkname;
}

}  // namespace

void undump_chunk(State* L, const char* data, size_t size, const char* chunkname) {
  GcPause pause(L->g);
  Loader loader(L, data, size, display_name(chunkname));
  LClosure* cl = loader.run();
  ensure_stack(L, 1);
  push_raw(L, TValue::object(cl));
}

}  // namespace luna
