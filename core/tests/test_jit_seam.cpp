// The JIT seam (core/src/jit_seam.hpp) driven by a fake backend that lives
// only here: hot loops, recording, entering a "trace" and resuming the
// interpreter from a hand-made exit, hooks and the budget with a backend
// installed, the collector's mark hook, prototype death.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jit_seam.hpp"
#include "luna/api.hpp"
#include "opcodes.hpp"
#include "state.hpp"

namespace {

using namespace luna;

// A trace whose behaviour is a C++ function of the frame: it stands for
// compiled code and its exit's snapshot restore.
struct FakeTrace : JitTrace {
  std::function<const Instruction*(State*, CallInfo*)> body;
};

const Instruction* run_fake(State* L, CallInfo* ci, JitTrace* t) noexcept {
  return static_cast<FakeTrace*>(t)->body(L, ci);
}

class FakeBackend final : public JitBackend {
 public:
  // What on_hot_loop does; the default only counts.
  std::function<void(State*, CallInfo*, const Instruction*)> on_hot;
  std::function<void(State*, CallInfo*, const Instruction*)> on_record;
  int hot_events = 0, records = 0, marks = 0, flushes = 0;
  std::vector<Proto*> freed;
  GCObject* keep = nullptr;  // marked at each collection
  FakeTrace trace;

  void on_hot_loop(State* L, CallInfo* ci, const Instruction* pc) noexcept override {
    hot_events++;
    if (on_hot) on_hot(L, ci, pc);
  }
  void on_hot_call(State* L, CallInfo* ci) noexcept override {
    if (on_call) on_call(L, ci);
  }
  std::function<void(State*, CallInfo*)> on_call;
  bool record(State* L, CallInfo* ci, const Instruction* pc) noexcept override {
    records++;
    if (on_record) on_record(L, ci, pc);
    return true;
  }
  void mark(JitMarker& m) noexcept override {
    marks++;
    if (keep != nullptr) m.mark(keep);
  }
  void on_proto_free(State*, Proto* p) noexcept override { freed.push_back(p); }
  void flush(State*) noexcept override { flushes++; }
  JitStats stats() const noexcept override { return {}; }

  // Attaches `trace` (running `body`) to every loop that gets hot.
  void attach_on_hot(std::function<const Instruction*(State*, CallInfo*)> body) {
    trace.run = run_fake;
    trace.stack_slots = 8;
    trace.frames = 2;
    trace.body = std::move(body);
    on_hot = [this](State* L, CallInfo*, const Instruction* pc) { jit_attach(L, pc, &trace); };
  }
};

struct Fixture {
  State* L = new_state();
  FakeBackend* jit = nullptr;
  explicit Fixture(unsigned hotloop = 1) {
    open_libs(L);
    auto b = std::make_unique<FakeBackend>();
    jit = b.get();
    set_jit_backend(L, std::move(b));
    JitOptions o;
    o.hotloop = hotloop;
    jit_set_options(L, o);
  }
  ~Fixture() { close_state(L); }
  // Runs a chunk; returns "ok:<first result as string>" or "err:<message>".
  std::string run(const char* src) {
    int top = get_top(L);
    if (load_string(L, src) != OK) return std::string("load:") + to_string(L, -1);
    int st = pcall(L, 0, 1, 0);
    std::string out = st == OK ? "ok:" : "err:";
    const char* s = to_string(L, -1);
    out += s != nullptr ? s : type_name(L, type(L, -1));
    set_top(L, top);
    return out;
  }
};

const Proto* frame_proto(CallInfo* ci) { return ci->func->as_lclosure()->p; }

// The first instruction with opcode op in the frame's function.
const Instruction* find_op(CallInfo* ci, OpCode op) {
  const Proto* p = frame_proto(ci);
  for (int n = 0; n < p->sizecode; n++)
    if (get_op(p->code[n]) == op) return p->code + n;
  return nullptr;
}

}  // namespace

TEST_CASE("jit seam: a trace is entered at its loop and the interpreter resumes at its exit", "[jit]") {
  Fixture f;
  int runs = 0;
  // The "trace" finishes the loop at once: s := 1000, the loop's count
  // := 0, then exits to the FORLOOP, which falls through.
  f.jit->attach_on_hot([&](State*, CallInfo* ci) {
    runs++;
    const Instruction* forloop = find_op(ci, OP_FORLOOP);
    TValue* base = ci->func + 1;
    base[0] = TValue::integer(1000);
    base[getarg_A(*forloop) + 1] = TValue::integer(0);
    return forloop;
  });
  CHECK(f.run("local s = 0 for i = 1, 100 do s = s + i end return s") == "ok:1000");
  CHECK(runs == 1);
  CHECK(jit_stats(f.L).entries == 1);
  // Switched off: no entry, the loop runs in the interpreter.
  jit_set_enabled(f.L, false);
  CHECK(f.run("local s = 0 for i = 1, 100 do s = s + i end return s") == "ok:5050");
  CHECK(runs == 1);
}

TEST_CASE("jit seam: an error after a trace exit is the interpreter's, caught by pcall", "[jit]") {
  Fixture f;
  // The exit resumes at the addition with x made nil, as a guard on x's
  // type would before an operation that must raise.
  f.jit->attach_on_hot([](State*, CallInfo* ci) {
    ci->func[1] = TValue::nil();  // x is register 0
    return find_op(ci, OP_ADD);
  });
  std::string r = f.run(
      "local function hot(x)\n"
      "  local s = 0\n"
      "  for i = 1, 10 do\n"
      "    s = s + x\n"
      "  end\n"
      "  return s\n"
      "end\n"
      "local ok, msg = pcall(hot, 1)\n"
      "assert(not ok)\n"
      "local ok2, tb = xpcall(hot, debug.traceback, 1)\n"
      "return msg .. '|' .. tb");
  INFO(r);
  CHECK(r.rfind("ok:[string \"local function hot(x)...\"]:4: attempt to perform arithmetic on a nil value (local 'x')|", 0) == 0);
  CHECK(r.find("stack traceback:") != std::string::npos);
  CHECK(r.find(":4: in function <[string \"local function hot(x)...\"]:1>") != std::string::npos);
}

TEST_CASE("jit seam: recording sees each instruction before it runs until stopped", "[jit]") {
  Fixture f;
  std::vector<OpCode> seen;
  const Instruction* start = nullptr;
  f.jit->on_hot = [&](State* L, CallInfo*, const Instruction* pc) {
    if (start != nullptr) return;  // one recording
    start = pc;
    jit_start_recording(L);
  };
  f.jit->on_record = [&](State* L, CallInfo*, const Instruction* pc) {
    if (pc == start && !seen.empty()) {
      jit_stop_recording(L);  // the loop closed
      return;
    }
    seen.push_back(get_op(*pc));
  };
  CHECK(f.run("local s = 0 for i = 1, 5 do s = s + i end return s") == "ok:15");
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == OP_ADD);
  CHECK(seen[1] == OP_FORLOOP);
  CHECK(f.jit->records == 3);  // two recorded, one that closed the loop
  CHECK(f.L->g->jit.recorder == nullptr);
}

TEST_CASE("jit seam: recording follows calls into Lua functions", "[jit]") {
  Fixture f;
  std::vector<const Proto*> frames;
  const Instruction* start = nullptr;
  f.jit->on_hot = [&](State* L, CallInfo*, const Instruction* pc) {
    if (start != nullptr) return;
    start = pc;
    jit_start_recording(L);
  };
  f.jit->on_record = [&](State* L, CallInfo* ci, const Instruction* pc) {
    if (pc == start && !frames.empty()) {
      jit_stop_recording(L);
      return;
    }
    const Proto* p = frame_proto(ci);
    if (frames.empty() || frames.back() != p) frames.push_back(p);
  };
  CHECK(f.run("local function add(a, b) return a + b end\n"
              "local s = 0 for i = 1, 5 do s = add(s, i) end return s") == "ok:15");
  REQUIRE(frames.size() == 3);  // the loop, the callee, the loop again
  CHECK(frames[0] == frames[2]);
  CHECK(frames[1] != frames[0]);
}

TEST_CASE("jit seam: a recording abandoned by an error is dropped", "[jit]") {
  Fixture f;
  CallInfo* recorded = nullptr;
  f.jit->on_hot = [&](State* L, CallInfo* ci, const Instruction*) {
    recorded = ci;
    jit_start_recording(L);
  };
  // Records until it sees a frame it did not expect, as a backend must.
  f.jit->on_record = [&](State* L, CallInfo* ci, const Instruction*) {
    if (ci != recorded) jit_stop_recording(L);
  };
  CHECK(f.run("local function g() for i = 1, 3 do if i == 2 then error('boom') end end end\n"
              "return tostring((pcall(g)))") == "ok:false");
  int before = f.jit->hot_events;
  CHECK(f.run("local s = 0 for i = 1, 3 do s = s + i end return s") == "ok:6");
  CHECK(f.jit->hot_events > before);  // hot events flow again
}

TEST_CASE("jit seam: the seam drops a recording whose frames no longer trap", "[jit]") {
  Fixture f;
  // A backend that never aborts: only the seam's rule ends the recording
  // when the loop after the pcall (in a frame that does not trap) gets hot.
  f.jit->on_hot = [](State* L, CallInfo*, const Instruction*) { jit_start_recording(L); };
  CHECK(f.run("local function g() for i = 1, 3 do if i == 2 then error('boom') end end end\n"
              "local ok = pcall(g)\n"
              "local s = 0 for i = 1, 3 do s = s + i end return s") == "ok:6");
  CHECK(f.jit->hot_events >= 2);  // g's loop, then the chunk's own
}

TEST_CASE("jit seam: hooks fire and compiled code is not entered while they are set", "[jit]") {
  Fixture f;
  int runs = 0;
  f.jit->attach_on_hot([&](State*, CallInfo* ci) {
    runs++;
    return ci->savedpc;  // an exit that changes nothing: the loop goes on
  });
  REQUIRE(f.run("function loop()\n"
                "  local s = 0\n"
                "  for i = 1, 10 do\n"
                "    s = s + i\n"
                "  end\n"
                "  return s\n"
                "end\n"
                "return loop()") == "ok:55");
  REQUIRE(runs > 0);  // attached and entered
  const char* hooked =
      "local count, lines = 0, 0\n"
      "debug.sethook(function(e) if e == 'count' then count = count + 1 else lines = lines + 1 end end, 'l', 1)\n"
      "local r = loop()\n"
      "debug.sethook()\n"
      "return r .. ' ' .. count .. ' ' .. lines";
  int before = runs;
  std::string with_jit = f.run(hooked);
  CHECK(runs == before);
  jit_set_enabled(f.L, false);
  std::string without = f.run(hooked);
  CHECK(with_jit == without);  // every count and line event, as the interpreter alone gives them
  CHECK(with_jit.rfind("ok:55 ", 0) == 0);
  CHECK(with_jit != "ok:55 0 0");
  jit_set_enabled(f.L, true);
}

TEST_CASE("jit seam: the instruction budget stops an endless loop, compiled or not", "[jit]") {
  SECTION("counting backend, nothing compiled") {
    Fixture f;
    set_instruction_budget(f.L, 100000);
    CHECK(f.run("while true do end") == "err:[string \"while true do end\"]:1: instruction budget exhausted");
    set_instruction_budget(f.L, 0);
  }
  SECTION("a trace that loops until the budget runs out") {
    Fixture f;
    int iterations = 0;
    f.jit->attach_on_hot([&](State* L, CallInfo* ci) {
      while (jit_charge_budget(L->g, 1)) iterations++;
      return ci->savedpc;  // exit to the loop: the interpreter raises
    });
    set_instruction_budget(f.L, 100000);
    CHECK(f.run("while true do end") == "err:[string \"while true do end\"]:1: instruction budget exhausted");
    CHECK(iterations > 90000);
    set_instruction_budget(f.L, 0);
  }
}

TEST_CASE("jit seam: the collector marks what traces refer to", "[jit]") {
  Fixture f;
  REQUIRE(f.run("held = setmetatable({}, {__mode = 'v'}) held[1] = {} return 1") == "ok:1");
  get_global(f.L, "held");
  raw_get_i(f.L, -1, 1);
  f.jit->keep = static_cast<GCObject*>(const_cast<void*>(to_pointer(f.L, -1)));
  set_top(f.L, 0);
  gc(f.L, GCCOLLECT);
  CHECK(f.jit->marks > 0);
  CHECK(f.run("return type(held[1])") == "ok:table");
  f.jit->keep = nullptr;
  gc(f.L, GCCOLLECT);
  CHECK(f.run("return type(held[1])") == "ok:nil");
}

TEST_CASE("jit seam: a dying prototype detaches its loops and tells the backend", "[jit]") {
  Fixture f;
  const Instruction* attached_pc = nullptr;
  Proto* hot_proto = nullptr;
  f.jit->attach_on_hot([](State*, CallInfo* ci) { return ci->savedpc; });
  auto attach = f.jit->on_hot;
  f.jit->on_hot = [&](State* L, CallInfo* ci, const Instruction* pc) {
    attached_pc = pc;
    hot_proto = ci->func->as_lclosure()->p;
    attach(L, ci, pc);
  };
  // No collection step before the check: one could free the dead function
  // (its loop detached) as soon as the chunk returns, depending on the
  // state's size and what was allocated before.
  gc(f.L, GCSTOP);
  CHECK(f.run("local f = load('local s = 0 for i = 1, 10 do s = s + i end return s') return f()") == "ok:55");
  REQUIRE(attached_pc != nullptr);
  CHECK(f.L->g->jit.attached[jit_slot(attached_pc)].pc == attached_pc);
  gc(f.L, GCRESTART);
  gc(f.L, GCCOLLECT);
  CHECK(std::find(f.jit->freed.begin(), f.jit->freed.end(), hot_proto) != f.jit->freed.end());
  CHECK(f.L->g->jit.attached[jit_slot(attached_pc)].pc == nullptr);
}

namespace {

// A "function trace" for `function(a, b) return a > b end` called through
// JitTrace::entry: it returns from the frame as a compiled RET does, except
// every fourth call, which leaves at the function's first instruction.
struct EntryCounts {
  int entries = 0, leaves = 0, runs = 0;
  JitExit* returned = reinterpret_cast<JitExit*>(&returned);
  JitExit* left = reinterpret_cast<JitExit*>(&left);
} entry_counts;

JitExit* greater_entry(State* L, TValue* base) {
  if (++entry_counts.entries % 4 == 0) return entry_counts.left;
  CallInfo* ci = L->ci;
  ci->func[0] = TValue::boolean(base[0].u.i > base[1].u.i);
  L->top = ci->func + 1;
  L->ci = ci->previous;
  return entry_counts.returned;
}

const Instruction* greater_leave(State* L, JitTrace*, JitExit* x) noexcept {
  CHECK(x == entry_counts.left);
  entry_counts.leaves++;
  return L->ci->savedpc;  // the frame's first instruction: the interpreter runs the call
}

const Instruction* greater_run(State*, CallInfo*, JitTrace*) noexcept {
  entry_counts.runs++;
  return nullptr;
}

}  // namespace

TEST_CASE("jit seam: table.sort calls a function trace's entry directly, exits resume in its frame", "[jit][sort]") {
  Fixture f;
  entry_counts = EntryCounts();
  FakeTrace greater;
  greater.run = greater_run;
  greater.entry = greater_entry;
  greater.return_ctx = 0;
  greater.returned = entry_counts.returned;
  greater.leave = greater_leave;
  f.jit->on_call = [&](State* L, CallInfo* ci) { jit_attach(L, ci->savedpc, &greater); };
  CHECK(f.run("local t = {} for i = 1, 200 do t[i] = (i * 37) % 201 end "
              "table.sort(t, function(a, b) return a > b end) "
              "for i = 2, 200 do assert(t[i - 1] > t[i]) end return t[1] .. ' ' .. t[200]") == "ok:200 1");
  CHECK(entry_counts.entries > 1000);
  CHECK(entry_counts.leaves == entry_counts.entries / 4);
  CHECK(entry_counts.runs == 0);
  // With a hook set the interpreter runs each call (and the hook sees it).
  entry_counts = EntryCounts();
  CHECK(f.run("local calls = 0 debug.sethook(function() calls = calls + 1 end, 'c') "
              "local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) "
              "debug.sethook() return calls > 0 and t[1] .. t[2] .. t[3]") == "ok:321");
  CHECK(entry_counts.entries == 0);
  CHECK(entry_counts.runs == 0);
}
