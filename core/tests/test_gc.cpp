// Collector tests: reachability, weak tables, finalizers, memory accounting.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#ifdef __linux__
#include <sys/sysinfo.h>
#endif

#include "luna/api.hpp"
#include "pool.hpp"
#include "state.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::StateGuard;
using luna::test::run;

TEST_CASE("unreachable objects are freed, reachable ones kept", "[gc]") {
  StateGuard s;
  State* L = s.L;
  gc_full(L, false);
  size_t base = gc_count_bytes(L);
  Table* keep = table_new(L);
  push_raw(L, TValue::object(keep));
  for (int i = 1; i <= 1000; i++) {
    Table* garbage = table_new(L);
    table_set_int(L, garbage, 1, TValue::integer(i));
    if (i % 10 == 0) table_set_int(L, keep, i / 10, TValue::object(garbage));
  }
  gc_full(L, false);
  size_t with_keep = gc_count_bytes(L);
  for (int i = 1; i <= 100; i++) {
    const TValue* v = table_get_int(keep, i);
    REQUIRE(v->is_table());
    CHECK(table_get_int(v->as_table(), 1)->u.i == i * 10);
  }
  L->top--;
  gc_full(L, false);
  CHECK(gc_count_bytes(L) < with_keep);
  CHECK(gc_count_bytes(L) <= base + 1024);
}

TEST_CASE("weak tables are cleared by a full collection", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    local k = setmetatable({}, {__mode = "k"})
    local v = setmetatable({}, {__mode = "v"})
    local kv = setmetatable({}, {__mode = "kv"})
    local live = {}
    k[{}] = 1; k[live] = 2; k["str"] = {}
    v[1] = {}; v[2] = live; v.s = "a string"; v.x = {}
    kv[{}] = {}; kv[live] = live; kv[1] = "s"
    collectgarbage()
    local n = 0
    for _ in pairs(k) do n = n + 1 end
    assert(n == 2 and k[live] == 2 and k.str, "weak keys")
    assert(v[1] == nil and v[2] == live and v.s == "a string" and v.x == nil, "weak values")
    n = 0
    for _ in pairs(kv) do n = n + 1 end
    assert(n == 2 and kv[live] == live and kv[1] == "s", "all weak")
    return "ok"
  )") == "ok");
}

// traverse_table skips the marking pass of an array part whose prefetch
// pass found nothing collectable; an object in any one slot, among numbers,
// booleans and nils, or after a small array's slots, must still be kept.
TEST_CASE("an object among an array's numbers is kept, wherever it is", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    local seen = setmetatable({}, {__mode = "k"})
    local holders = {}
    for n = 1, 12 do
      for at = 1, n do
        local t = {}
        for i = 1, n do t[i] = (i % 3 == 0) and (i % 2 == 0) or i * 0.5 end
        local o = {}
        t[at] = o
        seen[o] = n * 100 + at
        holders[#holders + 1] = t
      end
    end
    collectgarbage()
    collectgarbage()
    local count = 0
    for _ in pairs(seen) do count = count + 1 end
    assert(count == #holders, "kept " .. count .. " of " .. #holders)
    for _, t in ipairs(holders) do
      for _, v in ipairs(t) do
        if type(v) == "table" then assert(seen[v]) end
      end
    end
    holders = nil
    collectgarbage()
    assert(next(seen) == nil, "freed once unreachable")
    return "ok"
  )") == "ok");
}

TEST_CASE("ephemerons: a value does not keep its own key alive", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    local e = setmetatable({}, {__mode = "k"})
    local live = {}
    for i = 1, 10 do local key = {}; e[key] = {key} end
    -- chain: live -> a -> b, values reachable only through keys
    local a, b = {}, {}
    e[live] = a; e[a] = b; e[b] = "end"
    a, b = nil, nil
    collectgarbage()
    local n = 0
    for _ in pairs(e) do n = n + 1 end
    assert(n == 3, n)
    assert(e[e[e[live]]] == "end")
    return "ok"
  )") == "ok");
}

TEST_CASE("finalizers run once, in reverse order of marking", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    order = {}
    local count = 0
    for i = 1, 3 do
      setmetatable({}, {__gc = function(o) count = count + 1; order[#order + 1] = i end})
    end
    collectgarbage()
    assert(count == 3, count)
    assert(order[1] == 3 and order[2] == 2 and order[3] == 1)
    collectgarbage(); collectgarbage()
    assert(count == 3, "ran twice")
    -- resurrection: the object is alive again after its finalizer
    local saved
    setmetatable({name = "r"}, {__gc = function(o) saved = o end})
    collectgarbage()
    assert(saved and saved.name == "r")
    saved = nil
    collectgarbage()
    return "ok"
  )") == "ok");
}

TEST_CASE("__gc set after setmetatable is not a finalizer", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    local ran = false
    local mt = {}
    setmetatable({}, mt)
    mt.__gc = function() ran = true end
    collectgarbage()
    assert(not ran)
    return "ok"
  )") == "ok");
}

TEST_CASE("an error in __gc becomes a warning", "[gc]") {
  StateGuard s;
  State* L = s.L;
  static std::string warned;
  warned.clear();
  set_warnf(L, [](void*, const char* msg, int) { warned += msg; }, nullptr);
  CHECK(run(L, R"(
    setmetatable({}, {__gc = function() error("boom") end})
    collectgarbage()
    return "ok"
  )") == "ok");
  CHECK(warned.find("error in __gc") != std::string::npos);
  CHECK(warned.find("boom") != std::string::npos);
}

TEST_CASE("finalizers pending at close run", "[gc]") {
  static int closed = 0;
  closed = 0;
  {
    StateGuard s;
    State* L = s.L;
    push_native_function(L, [](State*) {
      closed++;
      return 0;
    });
    set_global(L, "bump");
    CHECK(run(L, "keep = setmetatable({}, {__gc = function() bump() end}) return 'ok'") == "ok");
  }
  CHECK(closed == 1);
}

TEST_CASE("memory limit raises a memory error and the state survives", "[gc]") {
  StateGuard s;
  State* L = s.L;
  gc_full(L, false);
  set_memory_limit(L, gc_count_bytes(L) + 200 * 1024);
  std::string r = run(L, R"(
    local t = {}
    for i = 1, 1e7 do t[i] = {} end
    return "no error"
  )");
  CHECK(r == "error: not enough memory");
  set_memory_limit(L, 0);
  CHECK(run(L, "local t = {} for i = 1, 1000 do t[i] = i end return #t") == "1000");
}

TEST_CASE("collectgarbage count drops after garbage is collected", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    collectgarbage()
    local before = collectgarbage("count")
    do local t = {} for i = 1, 10000 do t[i] = {i} end end
    local mid = collectgarbage("count")
    collectgarbage()
    local after = collectgarbage("count")
    assert(mid > before + 100, "allocation counted")
    assert(after < before + 10, "freed")
    return "ok"
  )") == "ok");
}

TEST_CASE("automatic collection keeps memory bounded", "[gc]") {
  StateGuard s;
  State* L = s.L;
  CHECK(run(L, R"(
    local peak = 0
    for i = 1, 200000 do
      local t = {i, tostring(i)}
      if i % 1000 == 0 then peak = math.max(peak, collectgarbage("count")) end
    end
    assert(peak < 20000, peak)
    return "ok"
  )") == "ok");
}

namespace {
size_t slab_count(State* L) {
  size_t n = 0;
  for (void* s = L->g->pool.slabs; s != nullptr; s = *static_cast<void**>(s)) n++;
  return n;
}
}  // namespace

TEST_CASE("small blocks: freed blocks are reused, accounting stays exact", "[gc][pool]") {
  StateGuard s;
  State* L = s.L;
  REQUIRE(L->g->pooled);
  const char* churn =
      "local t = {} for i = 1, 5000 do t[i] = {i, tostring(i) .. 'x'} end "
      "local g = {} for i = 1, 40 do g[i] = i * 2 end "  // array regrown across size classes
      "local sum = 0 for i = 1, 40 do sum = sum + g[i] end return sum";
  CHECK(run(L, churn) == "1640");
  gc_full(L, false);
  size_t after_first = gc_count_bytes(L);
  size_t slabs = slab_count(L);
  CHECK(slabs > 20);
  CHECK(run(L, churn) == "1640");
  gc_full(L, false);
  // The count is of requested sizes, not of pooled capacity, so the same
  // garbage collected again leaves the same count.
  CHECK(gc_count_bytes(L) == after_first);
  // The second round lived on the first round's freed blocks.
  CHECK(slab_count(L) - slabs <= slabs / 10);
}

TEST_CASE("finished coroutines go back to their freelist in the sweep, counted exactly", "[gc][pool][coroutine]") {
  // The sweep pushes a coroutine that owns only its block (finished:
  // release_finished) straight onto its class's freelist; one not started
  // (its own stack) or suspended (its CallInfos, an open upvalue) goes
  // through thread_free. thread_new takes the block back in line.
  StateGuard s;
  State* L = s.L;
  REQUIRE(L->g->pooled);
  const char* churn = R"(
    local body = function(a) return a + 1 end
    local n = 0
    for i = 1, 500 do
      local co = coroutine.create(body)
      n = n + select(2, coroutine.resume(co, i))
    end
    local fresh = coroutine.create(body)
    local held = coroutine.create(function() local x = 1; coroutine.yield(function() return x end) end)
    coroutine.resume(held)
    return n)";
  CHECK(run(L, churn) == "125750");
  gc_full(L, false);
  size_t after_first = gc_count_bytes(L);
  CHECK(run(L, churn) == "125750");
  gc_full(L, false);
  CHECK(gc_count_bytes(L) == after_first);
  void* head = L->g->pool.free[SmallPool::THREAD_CLASS];
  REQUIRE(head != nullptr);
  State* co = new_thread(L);
  CHECK(static_cast<void*>(co) == head);
  CHECK(L->g->pool.free[SmallPool::THREAD_CLASS] != head);
  set_top(L, 0);
}

TEST_CASE("finished coroutines with grown stacks free them, counted exactly", "[gc][coroutine]") {
  // release_finished keeps a first stack of the basic size as the spare
  // one and frees any other (free_first_stack): a body that recursed deep
  // grew its stack. The bytes in use must come back to the same count.
  StateGuard s;
  State* L = s.L;
  const char* churn = R"(
    local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
    local body = function(a) return deep(a) end
    local n = 0
    for i = 1, 200 do
      local co = coroutine.create(body)
      local ok, r = coroutine.resume(co, i % 2 == 0 and 300 or 3)
      n = n + r
      assert(coroutine.status(co) == "dead" and not coroutine.resume(co))
    end
    return n)";
  CHECK(run(L, churn) == "30300");
  gc_full(L, false);
  size_t after_first = gc_count_bytes(L);
  CHECK(run(L, churn) == "30300");
  gc_full(L, false);
  CHECK(gc_count_bytes(L) == after_first);
}

TEST_CASE("small blocks: carved inline from the slab, counted, refused over the limit", "[gc][pool]") {
  StateGuard s;
  State* L = s.L;
  GlobalState* g = L->g;
  REQUIRE(g->pooled);
  constexpr size_t size = 40;  // a class of its own for this test: emptied first
  size_t c = SmallPool::class_of(size);
  std::vector<void*> taken;
  while (g->pool.free[c] != nullptr) taken.push_back(pool_try_carve(g, size));
  // A slab with room for one more (mem_alloc takes a new one when needed).
  if (static_cast<size_t>(g->pool.bump_end - g->pool.bump) < SmallPool::class_size(c))
    taken.push_back(mem_alloc(L, size));
  char* bump = g->pool.bump;
  size_t total = g->totalbytes;
  void* b = pool_try_carve(g, size);
  CHECK(b == bump);  // the empty list's class carves where pool_alloc would
  CHECK(g->pool.bump == bump + SmallPool::class_size(c));
  CHECK(g->totalbytes == total + size);
  taken.push_back(b);
  size_t limit = g->memlimit;
  g->memlimit = g->totalbytes + size - 1;
  CHECK(pool_try_carve(g, size) == nullptr);  // over the limit: the general way decides
  g->memlimit = limit;
  for (void* b : taken) mem_free(L, b, size);
  CHECK(g->pool.free[c] != nullptr);
  void* again = pool_try_carve(g, size);
  CHECK(again == taken.back());  // the freelist first
  mem_free(L, again, size);
}

TEST_CASE("a host allocator sees every block itself", "[gc][pool]") {
  struct Counter {
    size_t live = 0;
    static void* alloc(void* ud, void* p, size_t osize, size_t nsize) {
      auto* c = static_cast<Counter*>(ud);
      if (p != nullptr) c->live -= osize;
      if (nsize == 0) {
        std::free(p);
        return nullptr;
      }
      void* q = std::realloc(p, nsize);
      c->live += q != nullptr ? nsize : (p != nullptr ? osize : 0);
      return q;
    }
  } counter;
  State* L = new_state(&Counter::alloc, &counter);
  REQUIRE(L != nullptr);
  CHECK_FALSE(L->g->pooled);
  open_libs(L);
  CHECK(run(L, "local t = {} for i = 1, 100 do t[i] = {i} end return #t") == "100");
  gc_full(L, false);
  CHECK(counter.live == gc_count_bytes(L));
  close_state(L);
  CHECK(counter.live == 0);
}

#ifdef __linux__
TEST_CASE("large blocks: pages never written are not cleared again", "[gc][pool]") {
  // A 2^19-slot array (8 MiB) of which 4.8 MiB were written: without swap
  // the kernel's residency says the rest is still zero, so the next lender
  // neither clears nor faults it in, and still reads nil there.
  StateGuard s;
  State* L = s.L;
  struct sysinfo si;
  if (!LargeBlocks::enabled || sysinfo(&si) != 0 || si.totalswap != 0) return;
  CHECK(run(L, "local t = {} for i = 1, 300000 do t[i] = i end t = nil return 0") == "0");
  gc_full(L, false);
  REQUIRE(L->g->large.spare != nullptr);
  CHECK(large_zero_from(L->g->large.spare) < (size_t(8) << 20));
  CHECK(run(L, "local t = {} for i = 1, 400000 do t[i] = true end "
               "for i = 1, 524288 do if (i <= 400000) ~= (rawget(t, i) ~= nil) then return i end end return 0") == "0");
}
#endif

TEST_CASE("large blocks: a freed one is lent to the next, given back by collectgarbage", "[gc][pool]") {
  StateGuard s;
  State* L = s.L;
  REQUIRE(L->g->pooled);
  if (!LargeBlocks::enabled) return;
  // 2^19 slots of 16 bytes: the array passes LargeBlocks::MIN while it grows.
  const char* build =
      "big = {} for i = 1, 300000 do big[i] = i end "
      "local sum = 0 for i = 1, #big do sum = sum + big[i] end return sum";
  CHECK(run(L, build) == "45000150000");
  gc_full(L, false);
  size_t with_big = gc_count_bytes(L);
  CHECK(L->g->large.spare == nullptr);
  CHECK(run(L, "big = nil return 0") == "0");
  gc_full(L, false);
  REQUIRE(L->g->large.spare != nullptr);
  // The next big array grows inside the spare, and its contents survive
  // growing past it (a move of the mapping).
  CHECK(run(L, build) == "45000150000");
  CHECK(L->g->large.spare == nullptr);
  CHECK(L->g->large.lent != nullptr);
  CHECK(run(L, "for i = 300001, 1100000 do big[i] = i end "
               "local sum = 0 for i = 1, #big do sum = sum + big[i] end return sum") == "605000550000");
  CHECK(L->g->large.lent == nullptr);
  CHECK(run(L, "big = nil collectgarbage() return 0") == "0");
  CHECK(L->g->large.spare == nullptr);
  CHECK(run(L, build) == "45000150000");
  gc_full(L, false);
  // The count is of sizes asked for, not of mapped capacity (which here
  // differs by megabytes); the chunks run meanwhile leave a few bytes.
  CHECK(gc_count_bytes(L) - with_big < 4096);
  // A lent block holds what its last user wrote: every slot past the
  // values must still read as nil, though fresh zero pages are not filled.
  CHECK(run(L, "big = nil collectgarbage() big = {} for i = 1, 524288 do big[i] = true end big = nil return 0") == "0");
  gc_full(L, false);
  void* spare = L->g->large.spare;
  REQUIRE(spare != nullptr);
  CHECK(run(L, "local t = {} for i = 1, 300000 do t[i] = i end "
               "for i = 300001, 524288 do if t[i] ~= nil then return i end end "
               "local n = 0 for _ in pairs(t) do n = n + 1 end return #t .. ' ' .. n") == "300000 300000");
  CHECK(L->g->large.lent == spare);
  // Under a memory limit, a freed block is unmapped at once.
  set_memory_limit(L, 256u << 20);
  CHECK(run(L, build) == "45000150000");
  CHECK(run(L, "big = nil return 0") == "0");
  gc_full(L, false);
  CHECK(L->g->large.spare == nullptr);
  set_memory_limit(L, 0);
}
