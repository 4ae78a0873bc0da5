// Units of the trace compiler that need no Lua program: folding, CSE, DCE,
// the register allocator, and machine code with snapshot restore.
#include <catch2/catch.hpp>

#include <asmjit/core.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <sstream>

#include "compile.hpp"
#include "luna/api.hpp"
#include "state.hpp"

using namespace luna;
using namespace luna::jit;

namespace {

Ref sload(IrBuffer& ir, int slot, IrType t, int snap = 0) {
  IrIns i = ir_ins(IrOp::SLOAD, t, NO_REF, NO_REF, slot);
  i.snap = snap;
  return ir.emit(i);
}
Ref bin(IrBuffer& ir, IrOp op, IrType t, Ref a, Ref b) { return ir.emit(ir_ins(op, t, a, b)); }
// The loop marker, restoring snapshot snap at the back-edge.
void loop_end(IrBuffer& ir, uint32_t snap) {
  IrIns lp = ir_ins(IrOp::LOOP, IrType::Void);
  lp.snap = static_cast<int32_t>(snap);
  ir.emit_raw(lp);
}
Ref guard(IrBuffer& ir, IrOp op, Ref a, Ref b, int snap) {
  IrIns g = ir_ins(op, IrType::Void, a, b);
  g.snap = snap;
  return ir.emit(g);
}

}  // namespace

TEST_CASE("constant folding of integer and float arithmetic", "[jit][fold]") {
  IrBuffer ir;
  Ref r = bin(ir, IrOp::ADD, IrType::Int, ir.kint(INT64_MAX), ir.kint(1));
  REQUIRE(ir[r].op == IrOp::KINT);
  CHECK(ir[r].k.i == INT64_MIN);  // wraps
  r = bin(ir, IrOp::MUL, IrType::Int, ir.kint(3), ir.kint(-7));
  CHECK(ir[r].k.i == -21);
  r = bin(ir, IrOp::DIV, IrType::Num, ir.knum(1), ir.knum(0));
  REQUIRE(ir[r].op == IrOp::KNUM);
  CHECK(std::isinf(ir[r].k.n));
  r = ir.emit(ir_ins(IrOp::CONV, IrType::Num, ir.kint(7)));
  CHECK(ir[r].op == IrOp::KNUM);
  CHECK(ir[r].k.n == 7.0);
  r = ir.emit(ir_ins(IrOp::FLOOR, IrType::Num, ir.knum(-2.5)));
  CHECK(ir[r].k.n == -3.0);
  CHECK(ir.stats().folded == 5);
  r = ir.emit(ir_ins(IrOp::CEIL, IrType::Num, ir.knum(-2.5)));
  CHECK(ir[r].k.n == -2.0);
  r = ir.emit(ir_ins(IrOp::TOINT, IrType::Int, ir.knum(-0x1p63)));
  REQUIRE(ir[r].op == IrOp::KINT);
  CHECK(ir[r].k.i == INT64_MIN);
  r = ir.emit(ir_ins(IrOp::SQRT, IrType::Num, ir.knum(16.0)));
  CHECK(ir[r].k.n == 4.0);
  r = ir.emit(ir_ins(IrOp::ABS, IrType::Int, ir.kint(INT64_MIN)));
  CHECK(ir[r].k.i == INT64_MIN);  // wraps, as math.abs does
}

TEST_CASE("algebraic simplification keeps 5.4 semantics", "[jit][fold]") {
  IrBuffer ir;
  Ref x = sload(ir, 0, IrType::Int);
  Ref f = sload(ir, 1, IrType::Num);
  CHECK(bin(ir, IrOp::ADD, IrType::Int, x, ir.kint(0)) == x);
  CHECK(bin(ir, IrOp::ADD, IrType::Int, ir.kint(0), x) == x);  // commuted first
  CHECK(bin(ir, IrOp::MUL, IrType::Int, x, ir.kint(1)) == x);
  CHECK(ir[bin(ir, IrOp::SUB, IrType::Int, x, x)].k.i == 0);
  CHECK(ir[bin(ir, IrOp::BXOR, IrType::Int, x, x)].k.i == 0);
  CHECK(bin(ir, IrOp::BAND, IrType::Int, x, ir.kint(-1)) == x);
  // Float x + 0.0 is not x (-0.0 + 0.0 == +0.0); x - 0.0 and x * 1.0 are.
  Ref add0 = bin(ir, IrOp::ADD, IrType::Num, f, ir.knum(0.0));
  CHECK(add0 != f);
  CHECK(ir[add0].op == IrOp::ADD);
  CHECK(bin(ir, IrOp::SUB, IrType::Num, f, ir.knum(0.0)) == f);
  CHECK(bin(ir, IrOp::MUL, IrType::Num, f, ir.knum(1.0)) == f);
  // Float x - x is not 0 (NaN, inf).
  CHECK(ir[bin(ir, IrOp::SUB, IrType::Num, f, f)].op == IrOp::SUB);
  Ref n = ir.emit(ir_ins(IrOp::NEG, IrType::Int, x));
  CHECK(ir.emit(ir_ins(IrOp::NEG, IrType::Int, n)) == x);
}

TEST_CASE("guards on constants fold; NaN-sensitive ones stay", "[jit][fold]") {
  IrBuffer ir;
  CHECK(guard(ir, IrOp::LT, ir.kint(1), ir.kint(2), 0) == NO_REF);
  CHECK_FALSE(ir.failed());
  Ref f = sload(ir, 0, IrType::Num);
  Ref x = sload(ir, 1, IrType::Int);
  CHECK(guard(ir, IrOp::LE, x, x, 0) == NO_REF);          // integers: always true
  CHECK(guard(ir, IrOp::LE, f, f, 0) != NO_REF);          // floats: NaN makes it false
  CHECK(guard(ir, IrOp::NLT, ir.knum(NAN), ir.knum(1), 0) == NO_REF);  // !(NaN < 1) holds
  CHECK_FALSE(ir.failed());
  guard(ir, IrOp::LT, ir.knum(NAN), ir.knum(1), 0);
  CHECK(ir.failed());
}

TEST_CASE("the bounds check of index 1 is a test against zero", "[jit][fold]") {
  // (1 - 1) < asize unsigned holds exactly when asize ~= 0.
  IrBuffer ir;
  Ref n = sload(ir, 0, IrType::Int);
  Ref g = guard(ir, IrOp::ULT, ir.kint(0), n, 0);
  REQUIRE(g != NO_REF);
  CHECK(ir[g].op == IrOp::NE);
  CHECK(ir[g].a == n);
  CHECK(ir[ir[g].b].op == IrOp::KINT);
  CHECK(ir[ir[g].b].k.i == 0);
  CHECK(guard(ir, IrOp::ULT, ir.kint(0), ir.kint(0), 0) == NO_REF);
  CHECK(ir.failed());
}

TEST_CASE("CSE shares pure instructions, not loads across stores", "[jit][cse]") {
  IrBuffer ir;
  Ref x = sload(ir, 0, IrType::Int);
  Ref y = sload(ir, 1, IrType::Int);
  Ref a1 = bin(ir, IrOp::ADD, IrType::Int, x, y);
  Ref a2 = bin(ir, IrOp::ADD, IrType::Int, y, x);  // commutative
  CHECK(a1 == a2);
  CHECK(bin(ir, IrOp::SUB, IrType::Int, x, y) != bin(ir, IrOp::SUB, IrType::Int, y, x));
  Ref g1 = guard(ir, IrOp::LT, x, y, 0);
  CHECK(g1 != NO_REF);
  CHECK(guard(ir, IrOp::LT, x, y, 0) == NO_REF);  // already checked
  Ref p = ir.emit(ir_ins(IrOp::CLOSURE, IrType::Ptr));
  IrIns ld = ir_ins(IrOp::VLOAD, IrType::Int, p);
  ld.tag = Tag::Int;
  Ref l1 = ir.emit(ld);
  CHECK(ir.emit(ld) == l1);
  ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, x));
  CHECK(ir.emit(ld) != l1);  // the store may have changed it
  CHECK(ir.stats().cse >= 3);
}

TEST_CASE("an upvalue's load is shared across table stores, not across its own", "[jit][cse][loop]") {
  auto fload = [](IrBuffer& ir, Ref a, IrType t, Field f) {
    IrIns i = ir_ins(IrOp::FLOAD, t, a);
    i.aux8 = static_cast<uint8_t>(f);
    return ir.emit(i);
  };
  // Slot 0 counts; slot 1 holds a table whose array slot 1 is stored to;
  // the closure's upvalue is read each iteration.
  auto build = [&](IrBuffer& ir, bool store_upvalue) {
    Instruction code[2] = {};
    uint32_t s0 = ir.add_snapshot(&code[0], {});
    Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
    Ref t = sload(ir, 1, IrType::Gc, static_cast<int>(s0));
    Ref uv = fload(ir, fload(ir, ir.emit(ir_ins(IrOp::CLOSURE, IrType::Ptr)), IrType::Ptr, Field::ClUpval), IrType::Ptr,
                   Field::UvValue);
    IrIns ld = ir_ins(IrOp::VLOAD, IrType::Int, uv);
    ld.tag = Tag::Int;
    ld.snap = static_cast<int>(s0);
    Ref u = ir.emit(ld);
    Ref x1 = bin(ir, IrOp::ADD, IrType::Int, x, u);
    Ref slot = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, fload(ir, t, IrType::Ptr, Field::TabArray), ir.kint(1)));
    ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, slot, x1));
    CHECK(ir.emit(ld) == u);  // the table store does not reach the upvalue
    if (store_upvalue) ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, uv, x1));
    uint32_t s1 = ir.add_snapshot(&code[1], {{0, x1}});
    guard(ir, IrOp::LT, x1, ir.kint(1000), static_cast<int>(s1));
    loop_end(ir, ir.add_snapshot(&code[0], {{0, x1}}));
    REQUIRE(loop_optimise(ir));
    int loads = 0;
    bool body = false;
    for (Ref r = 1; r < ir.size(); r++) {
      body = body || ir[r].op == IrOp::LOOPSTART;
      loads += body && ir[r].op == IrOp::VLOAD;
    }
    return loads;
  };
  IrBuffer hoisted, kept;
  CHECK(build(hoisted, false) == 0);  // loaded once, before LOOPSTART
  CHECK(build(kept, true) == 1);      // the loop writes it: read each time
}

TEST_CASE("a field read since the last store that changed a tag is known not nil, and keeps its tag", "[jit][fold]") {
  IrBuffer ir;
  Ref t = sload(ir, 0, IrType::Gc);
  IrIns arr = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
  arr.aux8 = static_cast<uint8_t>(Field::TabArray);
  Ref p = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, ir.emit(arr), ir.kint(1)));
  IrIns ld = ir_ins(IrOp::VLOAD, IrType::Num, p);
  ld.snap = 0;
  Ref v = ir.emit(ld);
  Ref v1 = bin(ir, IrOp::ADD, IrType::Num, v, ir.knum(1.0));
  CHECK(guard(ir, IrOp::NOTNIL, p, NO_REF, 0) == NO_REF);  // the load's guard proved it
  Ref st = ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, v1));
  CHECK(ir[st].aux8 == 1);  // a float over a float: the tag stays
  // That store left every tag as it was: the load's guard still holds.
  CHECK(guard(ir, IrOp::NOTNIL, p, NO_REF, 0) == NO_REF);
  CHECK(ir[ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, v1))].aux8 == 1);
  // An integer over the float read: its tag is written.
  Ref v2 = ir.emit(ld);
  REQUIRE(v2 != v);
  CHECK(ir[ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, ir.kint(3)))].aux8 == 0);
  // After that store nothing is known: the next store writes its tag.
  CHECK(guard(ir, IrOp::NOTNIL, p, NO_REF, 0) != NO_REF);
  CHECK(ir[ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, v1))].aux8 == 0);
}

TEST_CASE("DCE drops unused pure values and renumbers snapshots", "[jit][dce]") {
  IrBuffer ir;
  Ref x = sload(ir, 0, IrType::Int);
  Ref unused = bin(ir, IrOp::MUL, IrType::Int, x, ir.kint(3));
  Ref y = bin(ir, IrOp::ADD, IrType::Int, x, ir.kint(1));
  uint32_t s = ir.add_snapshot(nullptr, {{0, y}});
  loop_end(ir, s);
  (void)unused;
  Ref before = ir.size();
  dce(ir);
  CHECK(ir.size() == before - 2);  // the MUL and its constant 3
  Ref ny = ir.snap_entries()[0].ref;
  CHECK(ir[ny].op == IrOp::ADD);
  CHECK(ir[ir[ny].a].op == IrOp::SLOAD);
}

TEST_CASE("DCE keeps a type guard whose value is unused", "[jit][dce]") {
  // `if x then` records only the type guard of x's load; dropping it would
  // take the recorded branch whatever x holds.
  IrBuffer ir;
  Ref x = sload(ir, 0, IrType::True);
  (void)x;
  loop_end(ir, ir.add_snapshot(nullptr, {}));
  dce(ir);
  REQUIRE(ir.size() == 3);
  CHECK(ir[1].op == IrOp::SLOAD);
}

TEST_CASE("linear scan: disjoint registers, spills under pressure", "[jit][regalloc]") {
  IrBuffer ir;
  ir.add_snapshot(nullptr, {});
  std::vector<Ref> vals;
  for (int i = 0; i < 6; i++) vals.push_back(sload(ir, i, IrType::Int));
  // Sum them all at the end: all six are live together.
  Ref sum = vals[0];
  for (int i = 1; i < 6; i++) sum = bin(ir, IrOp::ADD, IrType::Int, sum, vals[static_cast<size_t>(i)]);
  uint32_t s = ir.add_snapshot(nullptr, {{0, sum}});
  loop_end(ir, s);
  RegSet few;
  few.gpr = {0, 1, 2};
  Allocation al = allocate(ir, few);
  // At the last SLOAD all six are live: three in registers, three in memory.
  Ref pos = vals[5];
  int in_reg = 0, in_mem = 0;
  std::vector<int> used;
  for (Ref v : vals) {
    const Interval& iv = al.iv[v];
    if (iv.in_reg(pos)) {
      in_reg++;
      for (int r : used) CHECK(r != iv.reg);
      used.push_back(iv.reg);
    } else {
      CHECK(iv.spill >= 0);
      in_mem++;
    }
  }
  CHECK(in_reg == 3);
  CHECK(in_mem == 3);
  CHECK(al.nspill >= 3);
  Allocation roomy = allocate(ir, RegSet::x64());
  CHECK(roomy.nspill == 0);
}

TEST_CASE("values live across a helper call survive it", "[jit][regalloc]") {
  IrBuffer ir;
  ir.add_snapshot(nullptr, {});
  Ref x = sload(ir, 0, IrType::Num);
  Ref y = sload(ir, 1, IrType::Num);
  IrIns c = ir_ins(IrOp::CALL, IrType::Num, x, y);
  c.aux8 = static_cast<uint8_t>(Helper::NumMod);
  Ref m = ir.emit(c);
  Ref sum = bin(ir, IrOp::ADD, IrType::Num, m, x);  // x is used after the call
  Allocation al = allocate(ir, RegSet::x64());
  CHECK(al.iv[x].spill >= 0);  // SSE registers are all caller-saved
  CHECK(al.iv[y].spill < 0);   // dies at the call
  (void)sum;
}

namespace {

// Runs a trace on a frame of 8 slots; returns the exit number.
struct Frame {
  TValue slots[9];
  TValue* base() { return slots + 1; }
};

}  // namespace

TEST_CASE("machine code loops and restores its snapshot at a guard", "[jit][asm][snapshot]") {
  State* L = new_state();
  CodeArena arena;
  // for-like loop: x = x + 1 until x reaches 100; slot 1 gets x * 0.5 each
  // iteration; the exit writes slot 2 := x and the float.
  IrBuffer ir;
  Instruction code[4] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref x1 = bin(ir, IrOp::ADD, IrType::Int, x, ir.kint(1));
  Ref h = bin(ir, IrOp::MUL, IrType::Num, ir.emit(ir_ins(IrOp::CONV, IrType::Num, x1)), ir.knum(0.5));
  uint32_t s1 = ir.add_snapshot(&code[1], {{2, x1}, {3, h}, {4, ir.kbool(true)}});
  CHECK(s1 == 1);
  guard(ir, IrOp::LT, x1, ir.kint(100), static_cast<int>(s1));
  uint32_t s2 = ir.add_snapshot(&code[0], {{0, x1}, {1, h}});
  loop_end(ir, s2);
  auto t = compile_ir(ir, arena, true);
  REQUIRE(t != nullptr);
  CHECK(t->mcode_size > 0);
  INFO(t->dump);

  Frame f;
  f.base()[0] = TValue::integer(5);
  const ExitInfo* ex = t->entry(L, f.base());
  // The exit is the copy of guard s1 in the optimised loop.
  CHECK(ex->pc == &code[1]);
  CHECK(ex->sideable);
  CHECK(f.base()[0].is_int());
  CHECK(f.base()[0].u.i == 99);   // written back by the last completed iteration
  CHECK(f.base()[1].is_float());
  CHECK(f.base()[1].u.n == 49.5);
  CHECK(f.base()[2].u.i == 100);  // restored from the failing iteration
  CHECK(f.base()[3].u.n == 50.0);
  CHECK(f.base()[4].tag == Tag::True);

  // A type guard at entry: nothing written, exit 0, marked as a change of
  // the number's subtype; a nil there is not one.
  Frame g;
  g.base()[0] = TValue::number(5.0);
  ExitInfo* gx = t->entry(L, g.base());
  CHECK(gx->index == s0);
  CHECK(gx->type_exit);
  CHECK(g.base()[0].is_float());
  CHECK(g.base()[1].is_nil());
  gx->type_exit = false;
  Frame n;
  gx = t->entry(L, n.base());
  CHECK(gx->index == s0);
  CHECK(!gx->type_exit);
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("spilled values and helper calls in machine code", "[jit][asm]") {
  State* L = new_state();
  CodeArena arena;
  IrBuffer ir;
  Instruction code[2] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  // 20 integers live at once force spills with the full register set.
  std::vector<Ref> v;
  for (int i = 0; i < 20; i++) v.push_back(bin(ir, IrOp::MUL, IrType::Int, sload(ir, 0, IrType::Int, static_cast<int>(s0)), ir.kint(i + 1)));
  Ref sum = ir.kint(0);
  for (Ref r : v) sum = bin(ir, IrOp::ADD, IrType::Int, sum, r);
  IrIns c = ir_ins(IrOp::CALL, IrType::Int, sum, ir.kint(7));
  c.aux8 = static_cast<uint8_t>(Helper::IntMod);
  Ref m = ir.emit(c);
  Ref total = bin(ir, IrOp::ADD, IrType::Int, m, v[19]);  // v[19] lives across the call
  uint32_t s1 = ir.add_snapshot(&code[1], {{1, sum}, {2, total}});
  guard(ir, IrOp::GE, total, ir.kint(0), static_cast<int>(s1));  // total < 0: fails at once
  loop_end(ir, ir.add_snapshot(&code[0], {}));
  auto t = compile_ir(ir, arena, false);
  REQUIRE(t != nullptr);
  Frame f;
  f.base()[0] = TValue::integer(-3);
  CHECK(t->entry(L, f.base())->index == s1);
  Integer expect_sum = -3 * (20 * 21 / 2);
  CHECK(f.base()[1].u.i == expect_sum);
  CHECK(f.base()[2].u.i == int_mod(expect_sum, 7) + (-3 * 20));
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("integer floored division and modulo inline, keeping every live register", "[jit][asm]") {
  State* L = new_state();
  CodeArena arena;
  IrBuffer ir;
  Instruction code[2] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref a = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref b = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  // Ten values live across the divisions fill rax and rdx, which idiv uses.
  std::vector<Ref> v;
  for (int i = 0; i < 10; i++) v.push_back(bin(ir, IrOp::ADD, IrType::Int, a, ir.kint(i + 1)));
  auto helper = [&](Helper h, Ref x, Ref y) {
    IrIns c = ir_ins(IrOp::CALL, IrType::Int, x, y);
    c.aux8 = static_cast<uint8_t>(h);
    return ir.emit(c);
  };
  Ref m = helper(Helper::IntMod, a, b);
  Ref q = helper(Helper::IntIdiv, a, b);
  Ref m7 = helper(Helper::IntMod, a, ir.kint(7));
  Ref qm7 = helper(Helper::IntIdiv, a, ir.kint(-7));
  Ref mm1 = helper(Helper::IntMod, a, ir.kint(-1));
  Ref qm1 = helper(Helper::IntIdiv, a, ir.kint(-1));
  Ref sum = ir.kint(0);
  for (Ref r : v) sum = bin(ir, IrOp::BXOR, IrType::Int, bin(ir, IrOp::MUL, IrType::Int, sum, ir.kint(3)), r);
  sum = bin(ir, IrOp::ADD, IrType::Int, sum, qm1);
  uint32_t s1 = ir.add_snapshot(&code[1], {{2, m}, {3, q}, {4, m7}, {5, qm7}, {6, mm1}, {7, sum}});
  guard(ir, IrOp::EQ, a, ir.kint(INT64_MAX - 5), static_cast<int>(s1));  // fails at once
  loop_end(ir, ir.add_snapshot(&code[0], {}));
  // No helper is called: values stay in caller-saved registers across them.
  CHECK(allocate(ir, RegSet::x64()).calls.empty());
  auto t = compile_ir(ir, arena, false);
  REQUIRE(t != nullptr);
  const Integer xs[] = {0, 1, -1, 13, -13, 14, -14, 2147483646, INT64_MIN, INT64_MIN + 1, INT64_MAX - 6};
  const Integer ys[] = {1, -1, 2, -2, 7, -7, 3, -3, INT64_MAX, INT64_MIN, 2147483647};
  for (Integer x : xs) {
    for (Integer y : ys) {
      Frame f;
      f.base()[0] = TValue::integer(x);
      f.base()[1] = TValue::integer(y);
      INFO(x << " and " << y);
      CHECK(t->entry(L, f.base())->index == s1);
      CHECK(f.base()[2].u.i == int_mod(x, y));
      CHECK(f.base()[3].u.i == int_floor_div(x, y));
      CHECK(f.base()[4].u.i == int_mod(x, 7));
      CHECK(f.base()[5].u.i == int_floor_div(x, -7));
      CHECK(f.base()[6].u.i == 0);
      Unsigned expect = 0;
      for (int i = 0; i < 10; i++) expect = (expect * 3) ^ (static_cast<Unsigned>(x) + static_cast<Unsigned>(i + 1));
      expect -= static_cast<Unsigned>(x);
      CHECK(static_cast<Unsigned>(f.base()[7].u.i) == expect);
    }
  }
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("integer floored division and modulo by constants, by multiplication", "[jit][asm]") {
  State* L = new_state();
  CodeArena arena;
  const Integer ds[] = {2, 3, 5, 7, 10, 12, 16, 641, 1000000007, 2147483647, Integer(1) << 40, INT64_MAX - 1, INT64_MAX};
  const Integer xs[] = {0, 1, -1, 2, -2, 6, -6, 7, -7, 2147483646, 2147483647, -2147483647, 16807LL * 2147483646,
                        INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, -1000000007, 1LL << 62, -(1LL << 62) - 3};
  for (Integer d : ds) {
    IrBuffer ir;
    Instruction code[2] = {};
    uint32_t s0 = ir.add_snapshot(&code[0], {});
    Ref a = sload(ir, 0, IrType::Int, static_cast<int>(s0));
    IrIns c = ir_ins(IrOp::CALL, IrType::Int, a, ir.kint(d));
    c.aux8 = static_cast<uint8_t>(Helper::IntMod);
    Ref m = ir.emit(c);
    c.aux8 = static_cast<uint8_t>(Helper::IntIdiv);
    Ref q = ir.emit(c);
    uint32_t s1 = ir.add_snapshot(&code[1], {{2, m}, {3, q}, {4, a}});
    guard(ir, IrOp::EQ, a, ir.kint(12345), static_cast<int>(s1));  // fails for every x below
    loop_end(ir, ir.add_snapshot(&code[0], {}));
    auto t = compile_ir(ir, arena, false);
    REQUIRE(t != nullptr);
    for (Integer x : xs) {
      Frame f;
      f.base()[0] = TValue::integer(x);
      INFO(x << " and " << d);
      CHECK(t->entry(L, f.base())->index == s1);
      CHECK(f.base()[2].u.i == int_mod(x, d));
      CHECK(f.base()[3].u.i == int_floor_div(x, d));
      CHECK(f.base()[4].u.i == x);
    }
    arena.release(t.get());
  }
  close_state(L);
}

TEST_CASE("loop optimisation hoists invariants and carries slots in PHIs", "[jit][loop]") {
  IrBuffer ir;
  Instruction code[2] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));   // written: loop-carried
  Ref k = sload(ir, 1, IrType::Int, static_cast<int>(s0));   // never written: invariant
  Ref inv = bin(ir, IrOp::MUL, IrType::Int, k, ir.kint(3));
  Ref x1 = bin(ir, IrOp::ADD, IrType::Int, x, inv);
  uint32_t s1 = ir.add_snapshot(&code[1], {{0, x1}});
  guard(ir, IrOp::LT, x1, ir.kint(1000), static_cast<int>(s1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, x1}}));
  REQUIRE(loop_optimise(ir));
  // The copy holds one ADD and one guard; the MUL and the SLOADs are shared.
  Ref start = 0;
  int muls = 0, adds = 0, sloads = 0, phis = 0;
  for (Ref r = 1; r < ir.size(); r++) {
    if (ir[r].op == IrOp::LOOPSTART) start = r;
    if (start == 0 || r == start) continue;
    muls += ir[r].op == IrOp::MUL;
    adds += ir[r].op == IrOp::ADD;
    sloads += ir[r].op == IrOp::SLOAD;
    phis += ir[r].op == IrOp::PHI;
  }
  CHECK(start != 0);
  CHECK(muls == 0);
  CHECK(adds == 1);
  CHECK(sloads == 0);
  CHECK(phis == 1);

  // And it runs: x goes 5, 5+3k, ... until the guard fails.
  State* L = new_state();
  CodeArena arena;
  IrBuffer again = ir;
  dce(again);
  Allocation al = allocate(again, RegSet::x64());
  REQUIRE(al.ok);
  Trace t;
  REQUIRE(arena.assemble(again, al, &t));
  Frame f;
  f.base()[0] = TValue::integer(5);
  f.base()[1] = TValue::integer(7);  // step 21
  const ExitInfo* ex = t.entry(L, f.base());
  CHECK(ex->pc == &code[1]);
  CHECK(f.base()[0].u.i == 5 + 21 * 48);  // the snapshot names the failing value
  arena.release(&t);
  close_state(L);
}

TEST_CASE("under pressure, values carried around the loop keep their registers", "[jit][loop][regalloc]") {
  // x is carried in a PHI and k is used by the copy: both live to the
  // end of the sum. a and b make four values live at once with three
  // registers; one of them must be spilled, not x or k.
  IrBuffer ir;
  Instruction code[1] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref k = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  Ref a = bin(ir, IrOp::MUL, IrType::Int, x, ir.kint(2));
  Ref b = bin(ir, IrOp::MUL, IrType::Int, x, ir.kint(3));
  Ref x1 = bin(ir, IrOp::ADD, IrType::Int, bin(ir, IrOp::ADD, IrType::Int, bin(ir, IrOp::ADD, IrType::Int, a, b), x), k);
  loop_end(ir, ir.add_snapshot(&code[0], {{0, x1}}));
  REQUIRE(loop_optimise(ir));
  dce(ir);
  RegSet three = RegSet::x64();
  three.gpr = {0, 1, 2};
  three.gpr_saved.clear();
  Allocation al = allocate(ir, three);
  CHECK(al.ok);
  CHECK(al.nspill > 0);
}

TEST_CASE("a result takes the register of its dying operand", "[jit][regalloc]") {
  IrBuffer ir;
  ir.add_snapshot(nullptr, {});
  Ref x = sload(ir, 0, IrType::Num);
  Ref y = sload(ir, 1, IrType::Num);
  Ref z = sload(ir, 2, IrType::Num);
  Ref s = bin(ir, IrOp::ADD, IrType::Num, x, y);  // x and y die here
  Ref u = bin(ir, IrOp::MUL, IrType::Num, z, s);  // s dies, z lives on: commutes
  Ref w = bin(ir, IrOp::SUB, IrType::Num, u, z);
  Ref k = bin(ir, IrOp::SUB, IrType::Int, sload(ir, 3, IrType::Int), ir.kint(5));
  // A load through a table that dies there: the array pointer takes the
  // table's register. An array slot only read through is never in one
  // (fused into the loads' addresses), nor one a float, an immediate or an
  // integer in a register is stored through; one a 64-bit constant is
  // stored through is (the constant is built in a scratch register).
  Ref t = sload(ir, 4, IrType::Gc);
  IrIns fl = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
  fl.aux8 = static_cast<uint8_t>(Field::TabArray);
  Ref arr = ir.emit(fl);
  Ref read = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, ir.kint(2)));
  IrIns vl = ir_ins(IrOp::VLOAD, IrType::Num, read);
  vl.snap = 0;
  Ref v = ir.emit(vl);
  Ref written = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, k));
  ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, written, k));
  Ref float_slot = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, ir.kint(3)));
  ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, float_slot, v));
  Ref flag_slot = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, ir.kint(4)));
  ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, flag_slot, ir.kbool(true)));
  Ref wide_slot = ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, ir.kint(5)));
  ir.emit(ir_ins(IrOp::VSTORE, IrType::Void, wide_slot, ir.kint(Integer(1) << 40)));
  loop_end(ir, ir.add_snapshot(nullptr, {{0, w}, {1, k}}));
  Allocation al = allocate(ir, RegSet::x64());
  CHECK(al.iv[s].reg == al.iv[x].reg);
  CHECK(al.iv[u].reg == al.iv[s].reg);
  CHECK(al.iv[w].reg == al.iv[u].reg);
  CHECK(al.iv[k].reg == al.iv[ir[k].a].reg);
  CHECK(al.iv[arr].reg == al.iv[t].reg);
  CHECK(al.fused[read]);
  CHECK(al.iv[read].reg < 0);
  CHECK(al.fused[written]);
  CHECK_FALSE(al.fused[wide_slot]);
  CHECK(al.iv[wide_slot].reg >= 0);
  CHECK(al.fused[float_slot]);
  CHECK(al.fused[flag_slot]);  // an immediate
  CHECK(al.iv[arr].end > v);  // the fused slot's load uses the array
  CHECK(al.nspill == 0);
}

namespace {

// The machine instructions of an optimised loop's body: from the label
// LOOPSTART binds to the back-edge's conditional jump to it.
int loop_body_length(const std::string& dump) {
  std::vector<std::string> lines;
  std::istringstream in(dump);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  // The back-edge: "je L<n>" or "short je L<n>".
  auto jump_target = [](std::string l) -> std::string {
    if (l.rfind("short ", 0) == 0) l.erase(0, 6);
    if (l.rfind("je L", 0) != 0 || l.size() == 4) return "";
    for (size_t c = 4; c < l.size(); c++)
      if (l[c] < '0' || l[c] > '9') return "";
    return l.substr(3);
  };
  for (size_t e = lines.size(); e-- > 0;) {
    const std::string target = jump_target(lines[e]);
    if (target.empty()) continue;
    for (size_t b = 0; b < e; b++)
      if (lines[b] == target + ":") return static_cast<int>(e - b);
  }
  return -1;
}

}  // namespace

TEST_CASE("an optimised float loop: constants from memory, carried values in place", "[jit][loop][asm]") {
  // x = x * 0.5 + 1.0 and i = i + 1 until i reaches 1000.
  IrBuffer ir;
  Instruction code[2] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Num, static_cast<int>(s0));
  Ref i = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  Ref x1 = bin(ir, IrOp::ADD, IrType::Num, bin(ir, IrOp::MUL, IrType::Num, x, ir.knum(0.5)), ir.knum(1.0));
  Ref i1 = bin(ir, IrOp::ADD, IrType::Int, i, ir.kint(1));
  uint32_t s1 = ir.add_snapshot(&code[1], {{0, x1}, {1, i1}});
  guard(ir, IrOp::LT, i1, ir.kint(1000), static_cast<int>(s1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, x1}, {1, i1}}));
  IrBuffer opt = ir;
  REQUIRE(loop_optimise(opt));
  dce(opt);
  Allocation al = allocate(opt, RegSet::x64());
  REQUIRE(al.ok);
  // Each loop-carried value is computed into its PHI's register.
  int phis = 0;
  for (Ref r = 1; r < opt.size(); r++) {
    if (opt[r].op != IrOp::PHI) continue;
    phis++;
    CHECK(al.iv[opt[r].b].reg == al.iv[opt[r].a].reg);
  }
  CHECK(phis == 2);

  State* L = new_state();
  CodeArena arena;
  auto t = compile_ir(ir, arena, true);
  REQUIRE(t != nullptr);
  INFO(t->dump);
  // mulsd and addsd with the constants as memory operands, add, cmp and
  // jge for the guard, the hook test and the back-edge: no moves, no
  // constants built in registers, no budget test per iteration.
  int body = loop_body_length(t->dump);
  CHECK(body > 0);
  CHECK(body <= 7);
  Frame f;
  f.base()[0] = TValue::number(0.0);
  f.base()[1] = TValue::integer(0);
  const ExitInfo* ex = t->entry(L, f.base());
  CHECK(ex->pc == &code[1]);
  double want = 0.0;
  for (int k = 1; k <= 1000; k++) want = want * 0.5 + 1.0;
  CHECK(f.base()[0].is_float());
  CHECK(f.base()[0].u.n == want);
  CHECK(f.base()[1].u.i == 1000);
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("bounds checks on a counted index are hoisted before the loop", "[jit][loop]") {
  // Slots: 0 the index i, 1 the counter c (iterations left), 2 a bound b,
  // 3 a sum. Each iteration checks i - 1 < b (unsigned), adds i, and goes
  // on while c ~= 0 with i + 1 and c - 1, as a numeric for loop does.
  IrBuffer ir;
  Instruction code[3] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref i = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref c = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  Ref b = sload(ir, 2, IrType::Int, static_cast<int>(s0));
  Ref acc = sload(ir, 3, IrType::Int, static_cast<int>(s0));
  guard(ir, IrOp::ULT, bin(ir, IrOp::SUB, IrType::Int, i, ir.kint(1)), b, static_cast<int>(s0));
  Ref acc1 = bin(ir, IrOp::ADD, IrType::Int, acc, i);
  uint32_t s1 = ir.add_snapshot(&code[1], {{3, acc1}});
  guard(ir, IrOp::NE, c, ir.kint(0), static_cast<int>(s1));
  Ref i1 = bin(ir, IrOp::ADD, IrType::Int, i, ir.kint(1));
  Ref c1 = bin(ir, IrOp::SUB, IrType::Int, c, ir.kint(1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, i1}, {1, c1}, {3, acc1}}));

  IrBuffer opt = ir;
  REQUIRE(loop_optimise(opt));
  REQUIRE(hoist_bounds(opt));
  Ref start = 0;
  int hoisted = 0, in_loop = 0;
  for (Ref r = 1; r < opt.size(); r++) {
    if (opt[r].op == IrOp::LOOPSTART) start = r;
    bool check = opt[r].op == IrOp::ULT || opt[r].op == IrOp::GE;
    if (start != 0 && check) in_loop++;
    if (start == 0 && check && opt[r].aux8 == 1) hoisted++;
  }
  CHECK(in_loop == 0);
  CHECK(hoisted == 3);  // c >= 0, the first index and the last

  State* L = new_state();
  CodeArena arena;
  IrBuffer again = ir;
  auto t = compile_ir(again, arena, false);
  REQUIRE(t != nullptr);
  // Within the bound: 1 + ... + 10, leaving at the counter's guard.
  Frame f;
  f.base()[0] = TValue::integer(1);
  f.base()[1] = TValue::integer(9);
  f.base()[2] = TValue::integer(10);
  f.base()[3] = TValue::integer(0);
  const ExitInfo* ex = t->entry(L, f.base());
  CHECK(ex->pc == &code[1]);
  CHECK(f.base()[3].u.i == 55);
  // The last index beyond it: the first iteration runs, then the hoisted
  // check leaves with the state at the loop's start.
  Frame g;
  g.base()[0] = TValue::integer(1);
  g.base()[1] = TValue::integer(9);
  g.base()[2] = TValue::integer(5);
  g.base()[3] = TValue::integer(0);
  ex = t->entry(L, g.base());
  CHECK(ex->bounds);
  CHECK_FALSE(ex->sideable);
  CHECK(ex->pc == &code[0]);
  CHECK(g.base()[0].u.i == 2);
  CHECK(g.base()[1].u.i == 8);
  CHECK(g.base()[3].u.i == 1);
  // A negative counter (2^64 - 1 iterations as unsigned) hoists nothing it
  // cannot prove: it leaves there too.
  Frame h;
  h.base()[0] = TValue::integer(1);
  h.base()[1] = TValue::integer(-5);
  h.base()[2] = TValue::integer(1000);
  h.base()[3] = TValue::integer(0);
  CHECK(t->entry(L, h.base())->bounds);
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("bounds checks on an index stepped by a loop invariant are hoisted", "[jit][loop]") {
  // sieve's `for j = i * i, n, i`: slots 0 the index j, 1 the counter c,
  // 2 a bound b, 3 a sum, 4 the step s. Each iteration checks j - 1 < b,
  // adds j, and goes on while c ~= 0 with j + s and c - 1.
  IrBuffer ir;
  Instruction code[3] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref j = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref c = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  Ref b = sload(ir, 2, IrType::Int, static_cast<int>(s0));
  Ref acc = sload(ir, 3, IrType::Int, static_cast<int>(s0));
  Ref step = sload(ir, 4, IrType::Int, static_cast<int>(s0));
  guard(ir, IrOp::ULT, bin(ir, IrOp::SUB, IrType::Int, j, ir.kint(1)), b, static_cast<int>(s0));
  Ref acc1 = bin(ir, IrOp::ADD, IrType::Int, acc, j);
  uint32_t s1 = ir.add_snapshot(&code[1], {{3, acc1}});
  guard(ir, IrOp::NE, c, ir.kint(0), static_cast<int>(s1));
  Ref j1 = bin(ir, IrOp::ADD, IrType::Int, step, j);
  Ref c1 = bin(ir, IrOp::SUB, IrType::Int, c, ir.kint(1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, j1}, {1, c1}, {3, acc1}}));

  IrBuffer opt = ir;
  REQUIRE(loop_optimise(opt));
  REQUIRE(hoist_bounds(opt));
  Ref start = 0;
  int in_loop = 0;
  for (Ref r = 1; r < opt.size(); r++) {
    if (opt[r].op == IrOp::LOOPSTART) start = r;
    if (start != 0 && (opt[r].op == IrOp::ULT || opt[r].op == IrOp::GE)) in_loop++;
  }
  CHECK(in_loop == 0);

  State* L = new_state();
  CodeArena arena;
  IrBuffer again = ir;
  auto t = compile_ir(again, arena, false);
  REQUIRE(t != nullptr);
  auto entry = [&](Frame& f, Integer j0, Integer c0, Integer b0, Integer s0v) {
    f.base()[0] = TValue::integer(j0);
    f.base()[1] = TValue::integer(c0);
    f.base()[2] = TValue::integer(b0);
    f.base()[3] = TValue::integer(0);
    f.base()[4] = TValue::integer(s0v);
    return t->entry(L, f.base());
  };
  // 4, 7, .. 31 within 31: the sum, leaving at the counter's guard.
  Frame f;
  const ExitInfo* ex = entry(f, 4, 9, 31, 3);
  CHECK(ex->pc == &code[1]);
  CHECK(f.base()[3].u.i == 175);
  // The last index one past the bound: the hoisted check leaves after the
  // first iteration.
  Frame g;
  ex = entry(g, 4, 9, 30, 3);
  CHECK(ex->bounds);
  CHECK(g.base()[0].u.i == 7);
  // A step whose product with the counter wraps: not hoisted past.
  Frame h;
  CHECK(entry(h, 1, Integer(1) << 33, Integer(1) << 31, Integer(1) << 31)->bounds);
  Frame k;
  CHECK(entry(k, 1, 4, 1000, -3)->bounds);
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("a type-unstable loop is left unoptimised", "[jit][loop]") {
  IrBuffer ir;
  Instruction code[1] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref f = bin(ir, IrOp::ADD, IrType::Num, ir.emit(ir_ins(IrOp::CONV, IrType::Num, x)), ir.knum(0.5));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, f}}));
  Ref before = ir.size();
  CHECK_FALSE(loop_optimise(ir));
  CHECK(ir.size() == before);
}

namespace {

// A function trace's body `return k + 1` (slot 0 an integer) or, with
// plain, `return k`: RET of one result.
std::unique_ptr<Trace> ret_trace(CodeArena& arena, bool plain) {
  IrBuffer ir;
  static const Instruction code[2] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref k = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref v = plain ? k : bin(ir, IrOp::ADD, IrType::Int, k, ir.kint(1));
  uint32_t s1 = ir.add_snapshot(&code[1], plain ? std::vector<SnapEntry>{} : std::vector<SnapEntry>{{1, v}});
  IrIns rt = ir_ins(IrOp::RET, IrType::Void, v);
  rt.aux = plain ? 0 : 1;
  rt.k.i = 1;
  rt.snap = static_cast<int32_t>(s1);
  ir.emit_raw(rt);
  return compile_ir(ir, arena, true, true);
}

// Runs t in a frame the seam entered: a callee CallInfo above L->ci wanting
// `wanted` results, its ctx the seam's return as TraceBackend::run sets it.
// Returns L->top as a slot number from the function slot.
ptrdiff_t run_returning(State* L, const Trace& t, Frame& f, int wanted) {
  CallInfo* caller = L->ci;
  CallInfo callee{};
  callee.previous = caller;
  CallInfo* saved_next = caller->next;
  caller->next = &callee;
  callee.func = f.slots;
  callee.top = f.slots + 8;
  callee.nresults = static_cast<int16_t>(wanted);
  callee.ctx = reinterpret_cast<KContext>(t.seam_return);
  L->ci = &callee;
  TValue* saved_top = L->top;
  L->top = f.slots + 8;
  ExitInfo* x = t.entry(L, f.base());
  CHECK(x == returned_exit());
  CHECK(L->ci == caller);
  ptrdiff_t top = L->top - f.slots;
  L->top = saved_top;
  caller->next = saved_next;
  return top;
}

}  // namespace

TEST_CASE("RET stores results from registers and returns to the seam through ctx", "[jit][asm][callret]") {
  State* L = new_state();
  CodeArena arena;
  auto plain = ret_trace(arena, true);
  auto sum = ret_trace(arena, false);
  REQUIRE(plain != nullptr);
  REQUIRE(sum != nullptr);
  INFO(plain->dump);
  // All traces of an arena share the return to the seam.
  REQUIRE(plain->seam_return != nullptr);
  CHECK(sum->seam_return == plain->seam_return);
  // `return k` stores k from the register its load left it in, not by
  // copying the slot's payload and tag through a scratch register.
  CHECK(plain->dump.find("movzx") == std::string::npos);
  // The seam's return sets L->top above the results the caller wanted;
  // RET sets it itself for a caller wanting all of them, and the helper
  // for another fixed number (nil-filled).
  for (int wanted : {1, -1, 0, 3}) {
    Frame f;
    f.base()[0] = TValue::integer(41);
    f.base()[1] = TValue::integer(-5);
    f.base()[2] = TValue::integer(-6);
    INFO(wanted);
    ptrdiff_t top = run_returning(L, *sum, f, wanted);
    CHECK(top == (wanted < 0 ? 1 : wanted));
    if (wanted != 0) {
      CHECK(f.slots[0].is_int());
      CHECK(f.slots[0].u.i == 42);
    }
    if (wanted == 3) {
      CHECK(f.slots[1].is_nil());
      CHECK(f.slots[2].is_nil());
    }
    Frame g;
    g.base()[0] = TValue::integer(7);
    CHECK(run_returning(L, *plain, g, wanted) == (wanted < 0 ? 1 : wanted));
    if (wanted != 0) CHECK(g.slots[0].u.i == 7);
  }
  arena.release(plain.get());
  arena.release(sum.get());
  close_state(L);
}

TEST_CASE("a sideable exit jumps through ExitInfo::side, its own return until a side trace is attached",
          "[jit][asm][side]") {
  State* L = new_state();
  CodeArena arena;
  // Parent: exit at x < 10 failing. Side: exit at once (x < 0 fails).
  auto make = [&](Integer bound) {
    IrBuffer ir;
    static const Instruction code[2] = {};
    uint32_t s0 = ir.add_snapshot(&code[bound == 10 ? 0 : 1], {});
    Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
    guard(ir, IrOp::LT, x, ir.kint(bound), static_cast<int>(s0));
    uint32_t s1 = ir.add_snapshot(&code[0], {{0, bin(ir, IrOp::ADD, IrType::Int, x, ir.kint(1))}});
    loop_end(ir, s1);
    return compile_ir(ir, arena, false);
  };
  auto parent = make(10);
  auto side = make(0);
  REQUIRE(parent != nullptr);
  REQUIRE(side != nullptr);
  Frame f;
  f.base()[0] = TValue::integer(3);
  ExitInfo* x = parent->entry(L, f.base());
  REQUIRE(x->sideable);
  CHECK(f.base()[0].u.i == 10);
  // Before a side trace is attached, side is the trace's own return.
  CHECK(x->side != nullptr);
  CHECK(!x->attached);
  x->side = side->post;
  x->attached = true;
  f.base()[0] = TValue::integer(3);
  ExitInfo* y = parent->entry(L, f.base());
  CHECK(y->trace == side.get());
  arena.release(parent.get());
  arena.release(side.get());
  close_state(L);
}

TEST_CASE("a guard whose exit writes nothing jumps straight into its side trace", "[jit][asm][side]") {
  State* L = new_state();
  CodeArena arena;
  static const Instruction code[4] = {};
  // x counts up from slot 0 while x + 1 < 10; the guard's exit restores
  // nothing (an empty snapshot at code[1]).
  IrBuffer ir;
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref x1 = bin(ir, IrOp::ADD, IrType::Int, x, ir.kint(1));
  guard(ir, IrOp::LT, x1, ir.kint(10), static_cast<int>(ir.add_snapshot(&code[1], {})));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, x1}}));
  auto parent = compile_ir(ir, arena, true);
  REQUIRE(parent != nullptr);
  INFO(parent->dump);
  // The side trace leaves at once, at code[3].
  IrBuffer sir;
  uint32_t t0 = sir.add_snapshot(&code[3], {});
  guard(sir, IrOp::EQ, sload(sir, 0, IrType::Int, static_cast<int>(t0)), sir.kint(-1), static_cast<int>(t0));
  loop_end(sir, sir.add_snapshot(&code[0], {}));
  auto side = compile_ir(sir, arena, true);
  REQUIRE(side != nullptr);
  ExitInfo* x_exit = nullptr;
  for (size_t n = 0; n < parent->nexits; n++)
    if (parent->exits[n].pc == &code[1] && parent->exits[n].direct[0] != nullptr) x_exit = &parent->exits[n];
  REQUIRE(x_exit != nullptr);
  // Entered with 9, the first test of x + 1 fails (the loop's own copy of
  // the guard restores x: not a direct exit).
  Frame f;
  f.base()[0] = TValue::integer(9);
  CHECK(parent->entry(L, f.base())->pc == &code[1]);
  attach_side(x_exit, *side);
  // The guard's jump itself now goes to the side trace's entry.
  for (uint8_t* field : x_exit->direct) {
    if (field == nullptr) continue;
    int32_t rel;
    std::memcpy(&rel, field, sizeof rel);
    CHECK(field + 4 + rel == static_cast<uint8_t*>(side->post));
  }
  f.base()[0] = TValue::integer(9);
  CHECK(parent->entry(L, f.base())->pc == &code[3]);
  arena.release(side.get());
  arena.release(parent.get());
  close_state(L);
}

TEST_CASE("a direct exit enters its side trace past the guards its failure proved", "[jit][asm][side]") {
  State* L = new_state();
  CodeArena arena;
  static const Instruction code[4] = {};
  // x counts up from slot 0 while x < 2 (fib's base case, inverted); the
  // guard's exit writes nothing and proves x >= 2, an integer.
  IrBuffer ir;
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref x = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  guard(ir, IrOp::LT, x, ir.kint(2), static_cast<int>(ir.add_snapshot(&code[1], {})));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, bin(ir, IrOp::ADD, IrType::Int, x, ir.kint(1))}}));
  auto parent = compile_ir(ir, arena, true);
  REQUIRE(parent != nullptr);
  // Side traces at code[1] testing x's type and x >= k, then leaving at
  // code[3] (x is never -1).
  auto make_side = [&](Integer k) {
    IrBuffer sir;
    uint32_t t0 = sir.add_snapshot(&code[1], {});
    Ref sx = sload(sir, 0, IrType::Int, static_cast<int>(t0));
    guard(sir, IrOp::GE, sx, sir.kint(k), static_cast<int>(t0));
    guard(sir, IrOp::EQ, sx, sir.kint(-1), static_cast<int>(sir.add_snapshot(&code[3], {})));
    loop_end(sir, sir.add_snapshot(&code[0], {}));
    return compile_ir(sir, arena, true);
  };
  auto proved = make_side(2), unproved = make_side(3);
  REQUIRE(proved != nullptr);
  REQUIRE(unproved != nullptr);
  CHECK(proved->checked_entry != nullptr);
  CHECK(proved->checks.rel == IrOp::GE);
  // Each starts by loading an integer slot: a CALLOUT passing a known
  // integer there may enter behind its tag guard.
  CHECK(parent->typed_entry != nullptr);
  CHECK(parent->typed_slot == 0);
  CHECK(proved->typed_entry != nullptr);
  CHECK(proved->typed_entry != proved->post);
  ExitInfo* x_exit = nullptr;
  for (size_t n = 0; n < parent->nexits; n++)
    if (parent->exits[n].pc == &code[1] && parent->exits[n].direct[0] != nullptr) x_exit = &parent->exits[n];
  REQUIRE(x_exit != nullptr);
  auto target = [&] {
    int32_t rel;
    std::memcpy(&rel, x_exit->direct[0], sizeof rel);
    return static_cast<void*>(x_exit->direct[0] + 4 + rel);
  };
  Frame f;
  // x >= 3 is not what the exit proved: the side trace's own guards run,
  // and 2 fails them.
  attach_side(x_exit, *unproved);
  CHECK(target() == unproved->post);
  f.base()[0] = TValue::integer(2);
  CHECK(parent->entry(L, f.base())->pc == &code[1]);
  f.base()[0] = TValue::integer(7);
  CHECK(parent->entry(L, f.base())->pc == &code[3]);
  // x >= 2 is: the jump skips them.
  attach_side(x_exit, *proved);
  CHECK(target() == proved->checked_entry);
  CHECK(target() != proved->post);
  f.base()[0] = TValue::integer(5);
  CHECK(parent->entry(L, f.base())->pc == &code[3]);
  CHECK(f.base()[0].u.i == 5);
  arena.release(proved.get());
  arena.release(unproved.get());
  arena.release(parent.get());
  close_state(L);
}

TEST_CASE("a counted loop's test, a size byte, a doubled index, a float operand and i + c - 1 in fewer instructions", "[jit][loop][asm]") {
  // Slots: 0 the index i, 1 the counter c (iterations left), 2 a table of
  // tables A, 3 a table of floats B, 4 a sum. Each iteration reads A[i],
  // guards its hash part's size, adds B[i], and goes on while c ~= 0 with
  // i + 1 and c - 1, as a numeric for loop does.
  IrBuffer ir;
  Instruction code[3] = {};
  auto fload = [&](Ref o, IrType t, Field f) {
    IrIns i = ir_ins(IrOp::FLOAD, t, o);
    i.aux8 = static_cast<uint8_t>(f);
    return ir.emit(i);
  };
  auto vload = [&](Ref arr, Ref k, IrType t, Tag tag, int snap) {
    IrIns l = ir_ins(IrOp::VLOAD, t, ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, k)));
    l.tag = tag;
    l.snap = snap;
    return ir.emit(l);
  };
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref i = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref c = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  auto table_slot = [&](int slot) {
    IrIns l = ir_ins(IrOp::SLOAD, IrType::Gc, NO_REF, NO_REF, slot);
    l.tag = Tag::Table;
    l.snap = static_cast<int>(s0);
    return ir.emit(l);
  };
  Ref a = table_slot(2);
  Ref b = table_slot(3);
  Ref sum = sload(ir, 4, IrType::Num, static_cast<int>(s0));
  Ref row = vload(fload(a, IrType::Ptr, Field::TabArray), i, IrType::Gc, Tag::Table, static_cast<int>(s0));
  guard(ir, IrOp::EQ, fload(row, IrType::Int, Field::TabLsizenode), ir.kint(0), static_cast<int>(s0));
  Ref v = vload(fload(b, IrType::Ptr, Field::TabArray), i, IrType::Num, Tag::Float, static_cast<int>(s0));
  Ref sum1 = bin(ir, IrOp::ADD, IrType::Num, sum, v);
  Ref w = bin(ir, IrOp::SUB, IrType::Int, bin(ir, IrOp::ADD, IrType::Int, i, c), ir.kint(1));
  uint32_t s1 = ir.add_snapshot(&code[1], {{4, sum1}, {5, w}});
  guard(ir, IrOp::NE, c, ir.kint(0), static_cast<int>(s1));
  Ref i1 = bin(ir, IrOp::ADD, IrType::Int, i, ir.kint(1));
  Ref c1 = bin(ir, IrOp::SUB, IrType::Int, c, ir.kint(1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, i1}, {1, c1}, {4, sum1}, {5, w}}));

  State* L = new_state();
  CodeArena arena;
  auto t = compile_ir(ir, arena, true, false, false);
  REQUIRE(t != nullptr);
  INFO(t->dump);
  // The body: lea, tag test and load of A[i]; the size byte compared in
  // memory; B[i]'s tag test through the same doubled index, its value
  // added from memory; i + c - 1 as one lea; sub and jb for the counter;
  // the index; the hook test and the back-edge (20 instructions with a
  // movzx, a second lea, a movsd, an add, and cmp, je, sub for the counter).
  CHECK(t->dump.find("movzx") == std::string::npos);
  CHECK(t->dump.find("jb L") != std::string::npos);
  CHECK(t->dump.find("-1]") != std::string::npos);
  int body = loop_body_length(t->dump);
  CHECK(body > 0);
  CHECK(body <= 15);

  Table* ta = table_new(L);
  Table* tb = table_new(L);
  Table* rowt = table_new(L);
  double want = 0;
  for (int k = 1; k <= 10; k++) {
    table_set_int(L, ta, k, TValue::object(rowt));
    table_set_int(L, tb, k, TValue::number(k * 0.25));
    want += k * 0.25;
  }
  Frame f;
  f.base()[0] = TValue::integer(1);
  f.base()[1] = TValue::integer(9);  // ten iterations: i = 1 .. 10
  f.base()[2] = TValue::object(ta);
  f.base()[3] = TValue::object(tb);
  f.base()[4] = TValue::number(0);
  const ExitInfo* ex = t->entry(L, f.base());
  CHECK(ex->pc == &code[1]);
  CHECK(f.base()[0].u.i == 10);
  CHECK(f.base()[1].is_int());
  CHECK(f.base()[1].u.i == 0);  // the counter as the guard saw it, not c - 1
  CHECK(f.base()[4].u.n == want);
  CHECK(f.base()[5].u.i == 9);
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("an optimised loop's field guards compare keys held in registers", "[jit][loop][asm]") {
  // Slots: 0 the index i, 1 the counter c, 2 an array of tables, 3 a sum.
  // Each iteration reads A[i].x (A[i] differs each time, so the field's
  // guard stays in the loop) into the sum.
  State* L = new_state();
  String* key = str_new_cstr(L, "x");
  Table* rows = table_new(L);
  double want = 0;
  for (int k = 1; k <= 10; k++) {
    Table* row = table_new(L);
    table_set(L, row, TValue::object(key), TValue::number(k * 0.5));
    table_set_int(L, rows, k, TValue::object(row));
    want += k * 0.5;
  }
  Table* first = rows->array[0].as_table();
  int32_t slot = static_cast<int32_t>(reinterpret_cast<const Node*>(table_get_str(first, key)) - first->node);

  IrBuffer ir;
  Instruction code[2] = {};
  auto fload = [&](Ref o, IrType t, Field f) {
    IrIns i = ir_ins(IrOp::FLOAD, t, o);
    i.aux8 = static_cast<uint8_t>(f);
    return ir.emit(i);
  };
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref i = sload(ir, 0, IrType::Int, static_cast<int>(s0));
  Ref c = sload(ir, 1, IrType::Int, static_cast<int>(s0));
  IrIns al = ir_ins(IrOp::SLOAD, IrType::Gc, NO_REF, NO_REF, 2);
  al.tag = Tag::Table;
  al.snap = static_cast<int>(s0);
  Ref a = ir.emit(al);
  Ref sum = sload(ir, 3, IrType::Num, static_cast<int>(s0));
  IrIns rl = ir_ins(IrOp::VLOAD, IrType::Gc, ir.emit(ir_ins(IrOp::AREF, IrType::Ptr, fload(a, IrType::Ptr, Field::TabArray), i)));
  rl.tag = Tag::Table;
  rl.snap = static_cast<int>(s0);
  Ref row = ir.emit(rl);
  guard(ir, IrOp::EQ, fload(row, IrType::Int, Field::TabLsizenode), ir.kint(first->lsizenode), static_cast<int>(s0));
  IrIns hk = ir_ins(IrOp::HREFK, IrType::Ptr, fload(row, IrType::Ptr, Field::TabNode), ir.kgc(key, Tag::ShortStr), slot);
  hk.snap = static_cast<int>(s0);
  IrIns vl = ir_ins(IrOp::VLOAD, IrType::Num, ir.emit(hk));
  vl.tag = Tag::Float;
  vl.snap = static_cast<int>(s0);
  Ref sum1 = bin(ir, IrOp::ADD, IrType::Num, sum, ir.emit(vl));
  uint32_t s1 = ir.add_snapshot(&code[1], {{3, sum1}});
  guard(ir, IrOp::NE, c, ir.kint(0), static_cast<int>(s1));
  Ref i1 = bin(ir, IrOp::ADD, IrType::Int, i, ir.kint(1));
  Ref c1 = bin(ir, IrOp::SUB, IrType::Int, c, ir.kint(1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, i1}, {1, c1}, {3, sum1}}));

  CodeArena arena;
  auto t = compile_ir(ir, arena, true, false, false);
  REQUIRE(t != nullptr);
  INFO(t->dump);
  // The pre-roll's guard builds the key in the scratch register; the
  // loop's compares with the register loaded before LOOPSTART.
  // The register operand of each "cmp qword ptr [base+offset], reg" (a
  // plain scan: <regex> draws -Wmaybe-uninitialized from libstdc++ 12 in
  // the sanitized debug build).
  std::vector<std::string> regs;
  const std::string cmp = "cmp qword ptr [";
  for (size_t at = t->dump.find(cmp); at != std::string::npos; at = t->dump.find(cmp, at + 1)) {
    size_t close = t->dump.find("], ", at);
    size_t eol = t->dump.find('\n', at);
    std::string addr = t->dump.substr(at + cmp.size(), close - at - cmp.size());
    if (close == std::string::npos || close > eol || addr.find('+') == std::string::npos) continue;
    size_t reg = close + 3, end = reg;
    while (end < t->dump.size() && std::isalnum(static_cast<unsigned char>(t->dump[end]))) end++;
    if (t->dump[reg] == 'r' && end > reg + 1) regs.push_back(t->dump.substr(reg, end - reg));
  }
  REQUIRE(regs.size() == 2);
  CHECK(regs[0] == "r11");
  CHECK(regs[1] != "r11");

  Frame f;
  f.base()[0] = TValue::integer(1);
  f.base()[1] = TValue::integer(9);
  f.base()[2] = TValue::object(rows);
  f.base()[3] = TValue::number(0);
  const ExitInfo* ex = t->entry(L, f.base());
  CHECK(ex->pc == &code[1]);
  CHECK(f.base()[3].u.n == want);
  arena.release(t.get());
  close_state(L);
}

TEST_CASE("float arithmetic copies no operand where the CPU has three-operand forms", "[jit][loop][asm]") {
  // a, b = a * b * 0.5, a - b + 1.0 while i counts to 1000: each result
  // goes to a register other than its operands', which stay live.
  IrBuffer ir;
  Instruction code[2] = {};
  uint32_t s0 = ir.add_snapshot(&code[0], {});
  Ref a = sload(ir, 0, IrType::Num, static_cast<int>(s0));
  Ref b = sload(ir, 1, IrType::Num, static_cast<int>(s0));
  Ref i = sload(ir, 2, IrType::Int, static_cast<int>(s0));
  Ref p = bin(ir, IrOp::MUL, IrType::Num, bin(ir, IrOp::MUL, IrType::Num, a, b), ir.knum(0.5));
  Ref q = bin(ir, IrOp::ADD, IrType::Num, bin(ir, IrOp::SUB, IrType::Num, a, b), ir.knum(1.0));
  Ref i1 = bin(ir, IrOp::ADD, IrType::Int, i, ir.kint(1));
  uint32_t s1 = ir.add_snapshot(&code[1], {{0, p}, {1, q}, {2, i1}});
  guard(ir, IrOp::LT, i1, ir.kint(1000), static_cast<int>(s1));
  loop_end(ir, ir.add_snapshot(&code[0], {{0, p}, {1, q}, {2, i1}}));
  State* L = new_state();
  CodeArena arena;
  auto t = compile_ir(ir, arena, true);
  REQUIRE(t != nullptr);
  INFO(t->dump);
  if (asmjit::CpuInfo::host().hasFeature(asmjit::CpuFeatures::X86::kAVX)) {
    // Four arithmetic instructions, the counter's add, cmp and jge, the
    // back-edge's PHI move, the hook test and the jump (12 with copies).
    CHECK(t->dump.find("vmulsd") != std::string::npos);
    int body = loop_body_length(t->dump);
    CHECK(body > 0);
    CHECK(body <= 10);
  }
  Frame f;
  f.base()[0] = TValue::number(1.5);
  f.base()[1] = TValue::number(0.25);
  f.base()[2] = TValue::integer(0);
  const ExitInfo* ex = t->entry(L, f.base());
  CHECK(ex->pc == &code[1]);
  double x = 1.5, y = 0.25;
  for (int k = 1; k <= 1000; k++) {
    double nx = x * y * 0.5, ny = x - y + 1.0;
    x = nx;
    y = ny;
  }
  CHECK(f.base()[0].u.n == x);
  CHECK(f.base()[1].u.n == y);
  arena.release(t.get());
  close_state(L);
}
