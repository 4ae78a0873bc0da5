// Binary-chunk validation: genuine code patched the way an attacker would
// (registers of open-top producers and consumers, jumps landing on a
// consumer, to-be-closed variables and upvalues left open by a return) must
// be refused at load time. Each case also loads and runs the unpatched
// chunk, so a test fails if the patch stops applying.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "luna/api.hpp"
#include "opcodes.hpp"
#include "state.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::StateGuard;

namespace {


int append_chunk(State*, const void* p, size_t sz, void* ud) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(p), sz);
  return 0;
}

// Index of the n-th (0-based) instruction with opcode op in p.
int find_op(const Proto* p, OpCode op, int n = 0) {
  for (int pc = 0; pc < p->sizecode; pc++)
    if (get_op(p->code[pc]) == op && n-- == 0) return pc;
  FAIL("opcode not found");
  return -1;
}

// src compiled, its main function's code changed by patch, then dumped.
std::string patched(const std::string& src, const std::function<void(Proto*)>& patch) {
  StateGuard s;
  REQUIRE(load_bufferx(s.L, src.data(), src.size(), "=patched", "t") == OK);
  if (patch) patch(s.L->top[-1].as_lclosure()->p);
  std::string out;
  REQUIRE(dump(s.L, append_chunk, &out, false) == 0);
  return out;
}

// "ok" when the chunk loads and runs, else the load or run error.
std::string load_and_run(const std::string& chunk) {
  StateGuard s;
  if (load_bufferx(s.L, chunk.data(), chunk.size(), "=chunk", "b") != OK)
    return std::string("load: ") + to_string(s.L, -1);
  if (pcall(s.L, 0, MULTRET, 0) != OK) return std::string("run: ") + to_string(s.L, -1);
  return "ok";
}

void check_rejected(const std::string& src, const std::function<void(Proto*)>& patch) {
  CHECK(load_and_run(patched(src, nullptr)) == "ok");
  std::string r = load_and_run(patched(src, patch));
  CHECK(r.rfind("load: ", 0) == 0);
  CHECK(r.find("bad binary format") != std::string::npos);
}

const char* const kTwentySix = "local a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z = 1 ";

}  // namespace

TEST_CASE("undump: RETURN up to the top must not start above the vararg producer", "[undump]") {
  check_rejected(std::string(kTwentySix) + "return ...", [](Proto* p) {
    Instruction& va = p->code[find_op(p, OP_VARARG)];
    Instruction& ret = p->code[find_op(p, OP_RETURN)];
    REQUIRE(getarg_C(va) == 0);
    REQUIRE(getarg_B(ret) == 0);
    setarg_A(va, 0);
    setarg_A(ret, p->maxstacksize);
  });
}

TEST_CASE("undump: an open CALL must not take its arguments from below its function", "[undump]") {
  check_rejected("local a, b, c, d, e, f = print, print a(b())", [](Proto* p) {
    Instruction& producer = p->code[find_op(p, OP_CALL, 0)];
    Instruction& consumer = p->code[find_op(p, OP_CALL, 1)];
    REQUIRE(getarg_C(producer) == 0);
    REQUIRE(getarg_B(consumer) == 0);
    setarg_A(producer, 0);
  });
}

TEST_CASE("undump: a jump landing on an open-top consumer is refused", "[undump]") {
  check_rejected("local a = 1 local b = 2 return ...", [](Proto* p) {
    int ret = find_op(p, OP_RETURN);
    int from = find_op(p, OP_LOADI, 1);
    REQUIRE(getarg_B(p->code[ret]) == 0);
    p->code[from] = create_sJ(OP_JMP, ret - from - 1, 0);
  });
}

TEST_CASE("undump: an open SETLIST needs its values above the table", "[undump]") {
  check_rejected("local t = {print()}", [](Proto* p) {
    Instruction& set = p->code[find_op(p, OP_SETLIST)];
    REQUIRE(getarg_B(set) == 0);
    // The values now start at the table register: the count goes negative.
    Instruction& call = p->code[find_op(p, OP_CALL)];
    setarg_A(set, getarg_A(call));
  });
}

TEST_CASE("undump: an open TAILCALL needs a producer just before it", "[undump]") {
  check_rejected("local function f(...) return select('#', ...) end return f(f())", [](Proto* p) {
    int tc = find_op(p, OP_TAILCALL);
    REQUIRE(getarg_B(p->code[tc]) == 0);
    // The producer becomes a fixed-result call: nothing sets the top.
    setarg_C(p->code[tc - 1], 2);
  });
}

TEST_CASE("undump: a return that skips closing a live to-be-closed variable is refused", "[undump]") {
  const char* src = "local x <close> = setmetatable({}, {__close = function() end}) return 1, 2";
  check_rejected(src, [](Proto* p) { setarg_k(p->code[find_op(p, OP_RETURN)], 0); });
  // Closing it first makes the same return safe.
  std::string r = load_and_run(patched(src, [](Proto* p) {
    int ret = find_op(p, OP_RETURN);
    p->code[ret - 1] = create_ABCk(OP_CLOSE, 0, 0, 0, 0);
    setarg_k(p->code[ret], 0);
  }));
  CHECK(r == "ok");
}

TEST_CASE("undump: a to-be-closed variable below a live one is refused", "[undump]") {
  const char* src =
      "local mt = {__close = function() end} "
      "local x <close> = setmetatable({}, mt) local y <close> = setmetatable({}, mt) return 1";
  check_rejected(src, [](Proto* p) {
    Instruction& second = p->code[find_op(p, OP_TBC, 1)];
    setarg_A(second, getarg_A(p->code[find_op(p, OP_TBC, 0)]));
  });
}

TEST_CASE("undump: a tail call with a live to-be-closed variable is refused", "[undump]") {
  check_rejected("local x <close> = nil return print()", [](Proto* p) {
    Instruction& i = p->code[find_op(p, OP_CALL)];
    i = (i & ~Instruction(0x7f)) | Instruction(OP_TAILCALL);
    setarg_C(i, getarg_C(p->code[find_op(p, OP_RETURN)]));
  });
}

TEST_CASE("undump: a return without k leaving an upvalue open on the frame is refused", "[undump]") {
  check_rejected("local x = 1 local f = function() return x end return f", [](Proto* p) {
    setarg_k(p->code[find_op(p, OP_RETURN)], 0);
  });
}

TEST_CASE("undump: every chunk the compiler makes still loads", "[undump]") {
  // Producers and consumers in their genuine shapes.
  const char* srcs[] = {
      "local function f(...) return ... end return f(f(1, 2, 3))",
      "local t = {f and f() or 1, select(2, ...)} return #t",
      "local function g(a, ...) return a, ... end return g(1, g(2, 3))",
      "for i = 1, 3 do local x <close> = nil if i == 2 then break end end return 1",
      "for k, v in pairs({1, 2}) do local f = function() return k end end return 2",
      "local x <close> = nil do local y <close> = nil end return (print())",
  };
  for (const char* src : srcs) {
    INFO(src);
    CHECK(load_and_run(patched(src, nullptr)) == "ok");
  }
}

namespace {

// src compiled and dumped, loaded back (its code now carries the MMBIN*
// that PUC-Rio's format has after arithmetic), patched, and dumped again.
std::string patched_reloaded(const std::string& src, const std::function<void(Proto*)>& patch) {
  std::string first = patched(src, nullptr);
  StateGuard s;
  REQUIRE(load_bufferx(s.L, first.data(), first.size(), "=reloaded", "b") == OK);
  if (patch) patch(s.L->top[-1].as_lclosure()->p);
  std::string out;
  REQUIRE(dump(s.L, append_chunk, &out, false) == 0);
  return out;
}

void check_mmbin_rejected(const std::string& src, const std::function<void(Proto*)>& patch) {
  CHECK(load_and_run(patched_reloaded(src, nullptr)) == "ok");
  std::string r = load_and_run(patched_reloaded(src, patch));
  CHECK(r.rfind("load: ", 0) == 0);
  CHECK(r.find("bad binary format") != std::string::npos);
}

const char* const kArith = "local x, y = 5, 6 local a, b, c = x + y, x + 1, x * 2.5 return a, b, c";

}  // namespace

TEST_CASE("undump: dumped code carries MMBIN after each arithmetic instruction", "[undump]") {
  std::string chunk = patched_reloaded(kArith, nullptr);
  StateGuard s;
  REQUIRE(load_bufferx(s.L, chunk.data(), chunk.size(), "=c", "b") == OK);
  const Proto* p = s.L->top[-1].as_lclosure()->p;
  for (int pc = 0; pc < p->sizecode; pc++)
    if (is_mm_arith(get_op(p->code[pc]))) CHECK(get_op(p->code[pc + 1]) == mmbin_for(get_op(p->code[pc])));
  CHECK(load_and_run(chunk) == "ok");
}

TEST_CASE("undump: an MMBIN event other than binary arithmetic is refused", "[undump]") {
  check_mmbin_rejected(kArith, [](Proto* p) { setarg_C(p->code[find_op(p, OP_MMBIN)], TM_CONCAT); });
  check_mmbin_rejected(kArith, [](Proto* p) { setarg_C(p->code[find_op(p, OP_MMBINI)], TM_INDEX); });
}

TEST_CASE("undump: MMBIN operands out of range are refused", "[undump]") {
  check_mmbin_rejected(kArith, [](Proto* p) { setarg_B(p->code[find_op(p, OP_MMBIN)], p->maxstacksize); });
  check_mmbin_rejected(kArith, [](Proto* p) { setarg_A(p->code[find_op(p, OP_MMBINI)], p->maxstacksize); });
  check_mmbin_rejected(kArith, [](Proto* p) { setarg_B(p->code[find_op(p, OP_MMBINK)], p->sizek); });
}

TEST_CASE("undump: an MMBIN not right after arithmetic of its form is refused", "[undump]") {
  // After a MOVE instead of the ADD it served.
  check_mmbin_rejected(kArith, [](Proto* p) {
    int pc = find_op(p, OP_ADD);
    p->code[pc] = create_ABCk(OP_MOVE, getarg_A(p->code[pc]), 0, 0, 0);
  });
  // An MMBINI where the ADD's MMBIN was.
  check_mmbin_rejected(kArith, [](Proto* p) {
    Instruction& i = p->code[find_op(p, OP_MMBIN)];
    i = (i & ~Instruction(0x7f)) | OP_MMBINI;
  });
}

TEST_CASE("undump: the metamethod of reloaded arithmetic gets the source's operand order", "[undump]") {
  const char* src =
      "local mt = {__sub = function(a, b) return type(a) .. '-' .. type(b) end,"
      "            __shl = function(a, b) return type(a) .. '<<' .. type(b) end}"
      "local o = setmetatable({}, mt)"
      "assert(o - 1 == 'table-number' and 1 - o == 'number-table')"
      "assert(o << 1 == 'table<<number' and 1 << o == 'number<<table')";
  CHECK(load_and_run(patched_reloaded(src, nullptr)) == "ok");
}
