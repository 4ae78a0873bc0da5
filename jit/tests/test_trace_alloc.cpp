// New keys, setmetatable and closures in traces (record_alloc.cpp and the
// table writes of record.cpp): each program runs with the JIT off, with low
// thresholds and in stress mode, and must give the same output. New keys
// take free hash nodes, or rehash a full hash part where the array part
// stays (the trace leaves where entries would move between the parts),
// setmetatable leaves for protected metatables and __gc, and the
// collector may run between iterations (collectgarbage("step") in the loop).
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Mode;
using jit_test::Run;

Run same_all_ways(const std::string& src, size_t memlimit = 0) {
  Run off = jit_test::run(src, Mode::off, "=alloc", memlimit);
  Run low = jit_test::run(src, Mode::low, "=alloc", memlimit);
  Run on = jit_test::run(src, Mode::stress, "=alloc", memlimit);
  INFO(off.out);
  CHECK(low.out == off.out);
  CHECK(on.out == off.out);
  CHECK(on.stats.traces_compiled >= 1);
  return on;
}

}  // namespace

TEST_CASE("constructors with fields and new string keys compile; a full hash part exits to rehash", "[jit][alloc][keys]") {
  Run r = same_all_ways(R"(
    local R = {}
    local grow = {}
    for i = 1, 300 do
      local rec = { group = i % 7, id = i, value = i * 3 }
      rec.extra = i
      rec["k" .. (i % 3)] = i
      grow["w" .. i] = rec
      if i % 50 == 0 then collectgarbage("step") end
      R[#R + 1] = rec.group + rec.id + rec.value + rec.extra + (rec.k0 or 0)
    end
    local n = 0
    for k, v in pairs(grow) do n = n + v.id end
    return table.concat(R, ",") .. "|" .. n)");
  CHECK(r.out.size() > 100);
}

TEST_CASE("new keys in objects with a metatable: no __newindex (cached or not), then one added mid-loop", "[jit][keys]") {
  same_all_ways(R"(
    local log = {}
    local A = {}; A.__index = A
    local B = {}; B.__index = B
    local objs = {}
    for i = 1, 8 do objs[i] = setmetatable({}, i % 2 == 0 and A or B) end
    local R = {}
    for i = 1, 200 do
      local o = objs[i % 8 + 1]
      o["f" .. (i % 13)] = i
      o.last = i
      if i == 120 then B.__newindex = function(t, k, v) log[#log + 1] = k .. "=" .. tostring(v) end end
      if i == 160 then A.__newindex = A end
      R[#R + 1] = tostring(rawget(o, "last")) .. ":" .. tostring(o.f3)
    end
    return table.concat(R, ",") .. "|" .. #log .. "|" .. tostring(rawget(A, "f5")))");
}

TEST_CASE("a new key may move another key's node: fields read before and after stay right", "[jit][keys]") {
  same_all_ways(R"(
    local R = {}
    for i = 1, 100 do
      local t = { a = 1, b = 2, c = 3, d = 4 }
      t.a = t.a + i
      t["x" .. (i % 17)] = i
      t.b = t.b + t.a
      t["y" .. (i % 5)] = t.c
      t.c = t.c + t.b + t.d
      t[i * 1000] = i
      t[-i] = t.a
      R[#R + 1] = t.a .. "/" .. t.b .. "/" .. t.c .. "/" .. t.d .. "/" .. t[i * 1000] .. "/" .. t[-i]
    end
    return table.concat(R, ","))");
}

TEST_CASE("a trace adding __newindex or __index to a metatable: the metamethod cache is reset", "[jit][keys]") {
  same_all_ways(R"(
    local log = {}
    local R = {}
    local function ni(t, k, v) log[#log + 1] = k end
    local function idx(t, k) return "idx" .. k end
    for i = 1, 60 do
      local mt = {}
      local o = setmetatable({}, mt)
      o.first = i
      if i % 3 == 0 then mt.__newindex = ni end
      if i % 4 == 0 then mt.__index = idx end
      o.second = i
      R[#R + 1] = tostring(o.second) .. ":" .. tostring(o.first)
    end
    return table.concat(R, ",") .. "|" .. table.concat(log, ","))");
}

TEST_CASE("setmetatable in traces: fresh tables, nil, protected metatables and __gc", "[jit][setmetatable]") {
  same_all_ways(R"(
    local Class = {}; Class.__index = Class
    function Class.get(self) return self.v end
    local finalized = 0
    local Fin = { __gc = function() finalized = finalized + 1 end }
    local Prot = { __metatable = "locked" }
    local R = {}
    for i = 1, 200 do
      local o = setmetatable({ v = i }, Class)
      R[#R + 1] = o:get()
      local p = setmetatable({}, nil)
      R[#R + 1] = tostring(getmetatable(p))
      if i % 40 == 0 then setmetatable({}, Fin) end
      if i % 50 == 0 then
        local q = setmetatable({}, Prot)
        local ok, e = pcall(setmetatable, q, Class)
        R[#R + 1] = tostring(ok) .. e .. tostring(getmetatable(q))
      end
      if i % 25 == 0 then collectgarbage("step") end
    end
    local ok, e = pcall(function() for i = 1, 20 do setmetatable({}, i < 15 and Class or 5) end end)
    R[#R + 1] = tostring(ok) .. " " .. e
    collectgarbage(); collectgarbage()
    return table.concat(R, ",") .. "|" .. finalized)");
}

TEST_CASE("objects made and filled in a loop keep to the memory limit", "[jit][keys][alloc]") {
  Run r = same_all_ways(R"(
    local keep = {}
    local ok, e = pcall(function()
      for i = 1, 10000000 do
        local o = setmetatable({}, {})
        o.name = "n" .. i
        o.id = i
        o[i] = i
        keep[i] = o
      end
    end)
    keep = nil
    collectgarbage()
    return tostring(ok) .. " " .. tostring(e))", 8 << 20);
  CHECK(r.out == "false not enough memory");
}

TEST_CASE("closures made in traces: no upvalues, upvalues passed on, locals captured by inlined frames", "[jit][closures]") {
  same_all_ways(R"(
    local function map(t, f)
      local r = {}
      for i = 1, #t do r[i] = f(t[i]) end
      return r
    end
    local function compose(f, g) return function(x) return f(g(x)) end end
    local function adder(k) return function(x) return x + k end end
    local function counter()
      local c = 0
      return function() c = c + 1; return c end, function() return c end
    end
    local function shared(v)
      local get = function() return v end
      v = v * 2
      return get
    end
    local base = {}
    for i = 1, 20 do base[i] = i end
    local tick, count = counter()
    local R, fs = {}, {}
    local outer = 5
    for round = 1, 300 do
      local add = adder(round % 10)
      local f = compose(add, function(x) tick(); return x * 2 + outer end)
      local m = map(base, f)
      R[#R + 1] = m[round % 20 + 1]
      local inc, get = counter()
      inc(); inc()
      R[#R + 1] = get()
      fs[round % 7 + 1] = function() return round end
      if round % 50 == 0 then collectgarbage("step") end
      if round == 200 then outer = 7 end
    end
    for i = 1, 7 do R[#R + 1] = fs[i]() end
    return table.concat(R, ",") .. "|" .. count())");
}

TEST_CASE("loop locals captured by closures are closed at each iteration", "[jit][closures]") {
  same_all_ways(R"(
    local fs, R = {}, {}
    local shared = 0
    for i = 1, 200 do
      local x = i * 3
      local y = i
      fs[i % 10 + 1] = function() y = y + 1; shared = shared + 1; return x + y end
      local g = function() return y end
      R[#R + 1] = fs[i % 10 + 1]() + g()
      if i % 64 == 0 then collectgarbage("step") end
    end
    for i = 1, 10 do R[#R + 1] = fs[i]() end
    return table.concat(R, ",") .. "|" .. shared)");
}

TEST_CASE("closures made in a loop keep to the memory limit", "[jit][closures][alloc]") {
  Run r = same_all_ways(R"(
    local keep = {}
    local ok, e = pcall(function()
      for i = 1, 10000000 do
        local v = i
        keep[i] = function() return v end
      end
    end)
    keep = nil
    collectgarbage()
    return tostring(ok) .. " " .. tostring(e))", 8 << 20);
  CHECK(r.out == "false not enough memory");
}

TEST_CASE("appends grow the array part in the trace as the interpreter's rehash does", "[jit][keys][alloc]") {
  same_all_ways(R"(
    local R = {}
    for round = 1, 30 do
      local r, holes = {}, {}
      for i = 1, 40 + round do
        r[i] = i * round
        if i % 3 ~= 0 then holes[i] = i end  -- holes: some keys go to the hash part
      end
      local n = 0
      for k, v in pairs(holes) do n = n + k * v end
      local order = {}
      for k in pairs(r) do order[#order + 1] = k end
      R[#R + 1] = #r .. ":" .. n .. ":" .. table.concat(order, " ", 1, 5)
      if round % 7 == 0 then collectgarbage("step") end
    end
    return table.concat(R, ","))");
}

TEST_CASE("a constructor's table made in the trace grows by a size store, no helper; keys added first exit",
          "[jit][alloc]") {
  // {i, one(i)}: NEWTABLE's hint counts one item, the inlined call gives
  // the other; the trace stores the size after the values ({i, two(i)}
  // outgrows the room and takes the helper). A debug hook
  // adding a key to the table between NEWTABLE and SETLIST makes the
  // trace leave, and the interpreter grows the table as it must.
  const char* src = R"(
    local function one(x) return x + 1 end
    local function two(x) return x + 1, x + 2 end
    local function none() end
    local R = {}
    for i = 1, 60 do
      local t = {i, one(i)}
      local w = {i, two(i)}
      local u = {i, none()}
      R[#R + 1] = #t .. ":" .. t[2] .. ":" .. tostring(next(t, 2)) .. ":" .. #w .. ":" .. #u .. ":" .. tostring(next(u, 1))
      if i == 40 then
        debug.sethook(function()
          local _, v = debug.getlocal(3, 7)
          if type(v) == "table" and v.x == nil then v.x = 1 end
        end, "c")
      end
    end
    debug.sethook()
    return table.concat(R, ","))";
  same_all_ways(src);
  std::string all;
  for (const std::string& t : jit_test::traces_of(src)) all += t;
  CHECK(jit_test::count(all, "FSTORE") > 0);
}

TEST_CASE("{f(), f()} reloaded after its calls grows in its block when checks show room; a key added or the table replaced exits",
          "[jit][alloc]") {
  // The recursive calls are CALLOUTs, so SETLIST finds the table reloaded
  // from its slot: flags, size, inline room and no hash part are checked
  // before the size is stored. A hook adds a key to the table being built,
  // or puts another table in its register, from some iteration on.
  const char* src = R"(
    local mode = 0
    local function node(d)
      if d == 0 then return {} end
      return {node(d - 1), node(d - 1)}
    end
    local function size(t)
      if t[1] then return 1 + size(t[1]) + size(t[2]) end
      return 1
    end
    local R = {}
    for i = 1, 60 do
      local t = node(i % 4)
      local k = 0
      for _ in pairs(t) do k = k + 1 end
      R[#R + 1] = size(t) .. ":" .. #t .. ":" .. k
      if i == 30 or i == 45 then
        mode = mode + 1
        debug.sethook(function()
          local _, v = debug.getlocal(3, 2)
          if type(v) == "table" and rawget(v, "x") == nil then
            if mode == 1 then v.x = 1 else debug.setlocal(3, 2, {5, 6, 7, 8}) end
          end
        end, "c")
      end
    end
    debug.sethook()
    return table.concat(R, ","))";
  same_all_ways(src);
  std::string all;
  for (const std::string& t : jit_test::traces_of(src)) all += t;
  CHECK(jit_test::count(all, "tab_grow_array") == 0);
  CHECK(jit_test::count(all, "FSTORE") > 0);
}

TEST_CASE("tables taken from the pool's freelist by the trace: sizes, later keys, metatables, collections between",
          "[jit][alloc]") {
  // NEWTABLE without a hash part and with its slots in its block is made
  // in line when its class's freelist has a block (after the collections
  // here, most of the time): the header and the nil slots the trace writes
  // must be what table_try_new writes (every metamethod known absent, no
  // hash part, the array in the block), and the memory counted the same.
  same_all_ways(R"(
    local function make(d)
      if d == 0 then return {} end
      return {make(d - 1), make(d - 1)}
    end
    local function size(t)
      if t[1] then return 1 + size(t[1]) + size(t[2]) end
      return 1
    end
    local keep, R = {}, {}
    local mt = {__index = function(_, k) return "i" .. tostring(k) end, __len = function() return 99 end}
    for round = 1, 120 do
      local a, b, c, d = {}, {round}, {round, round + 1, round + 2}, {nil, nil}
      b[2] = "x"
      c.k = round
      a[1] = round
      a.f = 1
      d[2] = round
      if round % 3 == 0 then setmetatable(b, mt) end
      local t = make(round % 5)
      keep[round % 7] = t
      R[#R + 1] = #a .. #b .. #c .. tostring(#d) .. b.zz .. c.k .. tostring(next(a)) .. tostring(rawlen(c)) ..
        tostring(d[1]) .. d[2] .. size(t)
      if round % 11 == 0 then collectgarbage() end
      if round % 13 == 0 then collectgarbage("step") end
    end
    local n = 0
    for _, t in pairs(keep) do n = n + size(t) end
    collectgarbage()
    return table.concat(R, ",") .. "|" .. n)");
}

TEST_CASE("an integer key outside the array of a table with no hash part reads nil without a lookup; a hash part, "
          "a metatable or a longer array exits",
          "[jit][alloc]") {
  // The trace recorded on plain leaves answers t[k] with nil behind three
  // guards (no metatable, the dummy hash part, asize < k); every later
  // table breaks one of them and must read what the interpreter reads.
  std::string src = R"(
    local mt = {__index = function(_, k) return "i" .. k end}
    local T = {}
    for i = 1, 400 do
      local t = {}
      local m = i > 200 and i % 6 or 0
      if m == 1 then t[3] = "h" .. i; t[-1] = "n"; t[0] = "z"
      elseif m == 2 then t[1] = i; t[2] = i; t[3] = i
      elseif m == 3 then setmetatable(t, mt)
      elseif m == 4 then t.x = 1; t.x = nil; t[1] = nil
      elseif m == 5 then t[1] = "a"; t[3] = "c"
      end
      T[i] = t
    end
    local R = {}
    for i = 1, 400 do
      local t = T[i]
      R[#R + 1] = tostring(t[1]) .. tostring(t[3]) .. tostring(t[0]) .. tostring(t[-1])
    end
    return table.concat(R, ","))";
  same_all_ways(src);
  // With leaves only, no trace calls the lookup.
  std::string leaves = src;
  leaves.replace(leaves.find("i > 200"), 7, "i > 400");
  same_all_ways(leaves);
  std::string all;
  for (const std::string& t : jit_test::traces_of(leaves)) all += t;
  CHECK(jit_test::count(all, "tab_get_int") == 0);
}

TEST_CASE("a full hash part is rehashed in the trace: fields read across it, a dummy-node guard, few exits",
          "[jit][keys][rehash]") {
  // Each new word doubles `counts`' hash part now and then inside the loop;
  // t.a and t.b are read through a node found before the insert (an HREFK
  // behind a hash-size guard): shared across the rehash, they would read
  // the freed hash part. u[1] is read before u gets its first string key.
  std::string src = R"(
    local R = {}
    local counts = {}
    local t = { a = 1, b = 2 }
    for i = 1, 3000 do
      local w = "w" .. (i % 1500)
      counts[w] = (counts[w] or 0) + 1
      local x = t.a
      t["k" .. i] = i
      t.a = x + t.b
      local u = {}
      local before = u[1]
      u["s" .. (i % 7)] = i
      u.z = i
      R[#R + 1] = (before == nil and "n" or "x") .. (u[1] or "-") .. u.z
    end
    local n, sum = 0, 0
    for k, v in pairs(counts) do n = n + 1; sum = sum + v end
    local m = 0
    for k, v in pairs(t) do m = m + 1 end
    return n .. "/" .. sum .. "/" .. m .. "/" .. t.a .. "/" .. t.k2999 .. "/" .. #table.concat(R))";
  Run r = same_all_ways(src);
  CHECK(r.out == "1500/3000/3002/6001/2999/16893");
  // Without the rehash in the trace ~2,960 of the 6,000 rehashes of the
  // u's leave it (measured); with it ~1,350 exits remain, those where a
  // collection step is due.
  CHECK(r.stats.exits_taken < 2000);
}
