// Tables, strings and builtins in traces (record_alloc.cpp,
// record_builtin.cpp, the __index chains of record.cpp): each program runs
// with the JIT off and in stress mode (every loop recorded at once, every
// exit traced at once) and must give the same output; the stress run must
// have compiled its loops, and allocation from traces must keep to the
// collector's accounting and the memory limit.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Run;

Run run(const std::string& src, bool jit, size_t memlimit = 0) {
  return jit_test::run(src, jit ? jit_test::Mode::stress : jit_test::Mode::off, "=objects", memlimit);
}

Run same_both_ways(const std::string& src, size_t memlimit = 0) {
  Run off = run(src, false, memlimit);
  Run on = run(src, true, memlimit);
  INFO(on.out);
  CHECK(on.out == off.out);
  CHECK(on.stats.traces_compiled >= 1);
  return on;
}

// Values as text with their subtype, floats in hex (signed zeros, NaN).
const char* kShow = R"(
  local function show(v)
    if math.type(v) == "float" then return string.format("%a", v) end
    return (math.type(v) or type(v)) .. ":" .. tostring(v)
  end
  local function dump(R)
    local out = {}
    for i = 1, #R do out[i] = show(R[i]) end
    return table.concat(out, " ")
  end
)";

}  // namespace

TEST_CASE("math.min, max, floor, ceil, abs and sqrt in traces: subtypes, NaN, -0.0, huge floats", "[jit][builtin]") {
  Run r = same_both_ways(std::string(kShow) + R"(
    local vals = {1, -1, 0, 2.5, -2.5, 0.0, -0.0, 1/0, -1/0, 0/0, math.maxinteger, math.mininteger,
                  2^53, 2^53 + 1, 2^63, -2^63, 1e300, 3}
    local max, min, floor, ceil, abs, sqrt = math.max, math.min, math.floor, math.ceil, math.abs, math.sqrt
    local R = {}
    for i = 1, #vals do
      for j = 1, #vals do
        local x, y = vals[i], vals[j]
        R[#R + 1] = max(x, y); R[#R + 1] = min(x, y); R[#R + 1] = max(x, y, 1); R[#R + 1] = min(y, x, -1)
      end
      local x = vals[i]
      R[#R + 1] = abs(x); R[#R + 1] = sqrt(x)
      if x == x and x > -2^63 and x < 2^63 then R[#R + 1] = floor(x); R[#R + 1] = ceil(x) end
    end
    return dump(R))");
  CHECK(r.out.find("float:-0x0p+0") == std::string::npos);  // shown as %a
  CHECK(r.out.find("-0x0p+0") != std::string::npos);
}

TEST_CASE("float % in traces: integral values by the remainder, signed zeros, huge, NaN, inf", "[jit][arith]") {
  Run r = same_both_ways(std::string(kShow) + R"(
    local vals = {4.0, -4.0, 3.0, -3.0, 0.0, -0.0, 2.0, -2.0, 7.0, 1.5, -2.5, 2^53 - 1, -(2^53 - 1), 2^53,
                  2^60, 1e300, 1/0, -1/0, 0/0, 5e-324, 26003.0, 39004.0}
    local R = {}
    for i = 1, #vals do
      for j = 1, #vals do R[#R + 1] = vals[i] % vals[j] end
    end
    return dump(R))");
  // -4.0 % 2.0 is -0.0 (fmod keeps a's sign); an integer remainder alone gives +0.0.
  CHECK(r.out.find("-0x0p+0") != std::string::npos);
}

TEST_CASE("string.byte, sub, len, char, # and type in traces: every position case", "[jit][builtin]") {
  Run r = same_both_ways(std::string(kShow) + R"(
    local strs = {"", "a", "hello world", string.rep("x", 50)}
    local idx = {0, 1, 2, -1, -2, 5, 11, 12, -11, -12, 100, -100, math.maxinteger, math.mininteger}
    local byte, sub, len, char = string.byte, string.sub, string.len, string.char
    local R = {}
    for k = 1, #strs do
      local s = strs[k]
      for m = 1, #idx do
        local i = idx[m]
        R[#R + 1] = byte(s, i) or "none"
        R[#R + 1] = len(s); R[#R + 1] = #s
        R[#R + 1] = sub(s, i)
        for q = 1, #idx do
          local t = sub(s, i, idx[q])
          R[#R + 1] = t; R[#R + 1] = #t
        end
        R[#R + 1] = sub(s, i, nil)
      end
      R[#R + 1] = byte(s) or "none"
    end
    for c = 0, 255 do R[#R + 1] = char(c) end
    local things = {1, 2.5, "s", {}, true, false, print, function() end}
    for i = 1, #things do R[#R + 1] = type(things[i]) end
    return dump(R))");
  CHECK(r.out.find("string:hello") != std::string::npos);
}

TEST_CASE("builtins given unusual arguments raise the library's errors through pcall", "[jit][builtin][errors]") {
  // Each loop is compiled with the arguments of its first call; a later
  // call's unusual argument fails a guard, and the interpreter raises.
  same_both_ways(R"(
    local char, sub, byte, max, floor = string.char, string.sub, string.byte, math.max, math.floor
    local function loop(f) return function(v) local r; for _ = 1, 3 do r = f(v) end return r end end
    local fs = {
      loop(function(v) return char(v) end), loop(function(v) return sub(v, 1) end),
      loop(function(v) return byte("abc", v) end), loop(function(v) return max(v, 2) end),
      loop(function(v) return floor(v) end), loop(function(v) return "x" .. v end),
      loop(function(v) return max() end), loop(function(v) return #v end),
    }
    local args = {65, "abc", 2, 1, 2.5, 7, nil, "abc", 300, {}, "x", "1", "2", {}, 0, {}, -1, 2^63, 1.5, 2^53, 0/0}
    local E = {}
    for i = 1, #args do
      for k = 1, #fs do
        local ok, e = pcall(fs[k], args[i])
        E[#E + 1] = tostring(ok) .. " " .. tostring(e)
      end
    end
    return table.concat(E, "\n"))");
}

TEST_CASE("concatenation of strings and integers in traces: short, long and empty pieces", "[jit][concat]") {
  Run r = same_both_ways(R"(
    local R = {}
    for i = 1, 60 do
      local s = "k" .. i .. "x" .. (i * 7) .. ("y"):rep(i) .. -i
      R[#R + 1] = s; R[#R + 1] = "a" .. ""; R[#R + 1] = "" .. "b"; R[#R + 1] = i .. i
      R[#R + 1] = s .. s; R[#R + 1] = math.mininteger .. "|" .. math.maxinteger
      local line = ""
      for k = 1, 8 do line = line .. string.char(97 + (i + k) % 26) end
      R[#R + 1] = line
    end
    local big = ""
    for i = 1, 300 do big = big .. i .. "," end
    R[#R + 1] = big
    R[#R + 1] = tostring(R[1] == "k1x7y-1")
    return table.concat(R, "\n"))");
  CHECK(r.out.find("k60x420") != std::string::npos);
}

TEST_CASE("table constructors in traces, and allocation within the collector's accounting", "[jit][alloc]") {
  // Tables made in a compiled loop are collected: the trace leaves at the
  // first allocation once a collection is due, so the heap stays bounded.
  Run r = same_both_ways(R"(
    local keep, peak = {}, 0
    for round = 1, 20 do
      for i = 1, 10000 do
        local t = {i, i + 1, {}}
        local e = {}
        if i % 5000 == 0 and round % 5 == 0 then keep[#keep + 1] = t end
      end
      peak = math.max(peak, collectgarbage("count"))
    end
    return #keep .. " " .. keep[4][2] .. " " .. #keep[1][3] .. " " .. tostring(peak < 20000))");
  CHECK(r.out == "8 10001 0 true");
}

TEST_CASE("allocation in a trace respects the memory limit: the interpreter raises", "[jit][alloc]") {
  Run r = same_both_ways(R"(
    local keep = {}
    local ok, e = pcall(function()
      for i = 1, 10000000 do keep[i] = {i, "s" .. i .. "t" .. i} end
    end)
    local n = #keep
    keep = nil
    collectgarbage()
    return tostring(ok) .. " " .. tostring(e))", 8 << 20);
  CHECK(r.out == "false not enough memory");
}

TEST_CASE("reads of absent fields through __index chains, with the chain changed mid-loop", "[jit][objects]") {
  same_both_ways(R"(
    local Base = {}; Base.__index = Base
    function Base.name() return "base" end
    local Class = setmetatable({}, Base); Class.__index = Class
    local obj = setmetatable({x = 1}, Class)
    local plain = {a = 1}
    local R = {}
    for i = 1, 100 do
      R[#R + 1] = obj.missing or "nil"; R[#R + 1] = plain.missing or "nil"; R[#R + 1] = obj.x
      R[#R + 1] = obj.name
      if i == 30 then Base.missing = "found" end
      if i == 50 then Class.name = function() return "class" end end
      if i == 70 then setmetatable(Class, nil) end
      if i == 80 then plain.missing = i end
      if i == 90 then Class.__index = function(t, k) return k end end
    end
    for i = 1, #R do R[i] = tostring(R[i]):gsub("0x%x+", "f") end
    return table.concat(R, " "))");
}

TEST_CASE("word counts: reads and updates of variable string keys", "[jit][objects]") {
  Run r = same_both_ways(R"(
    local syl = {"ka", "lo", "mi", "ne", "ru"}
    local counts, distinct, seed = {}, 0, 7
    for n = 1, 20000 do
      seed = (seed * 16807) % 2147483647
      local w = syl[seed % 5 + 1] .. syl[(seed // 5) % 5 + 1]
      local c = counts[w]
      if c then counts[w] = c + 1 else counts[w] = 1; distinct = distinct + 1 end
    end
    local keys = {}
    for k in pairs(counts) do keys[#keys + 1] = k end
    table.sort(keys)
    local out = {}
    for i = 1, #keys do out[i] = keys[i] .. "=" .. counts[keys[i]] end
    return distinct .. " " .. table.concat(out, ","))");
  CHECK(r.out.rfind("25 ", 0) == 0);
}

TEST_CASE("ipairs loops run compiled and end at the first nil, as interpreted", "[jit][builtin]") {
  Run r = same_both_ways(R"(
    local t, u = {}, {10, 20, 30, nil, 50}
    for i = 1, 300 do t[i] = i % 7 == 0 and i * 0.5 or i end
    local s, n, last = 0, 0, 0
    for round = 1, 20 do
      for i, v in ipairs(t) do s = s + v; last = i end
      for i, v in ipairs(u) do n = n + i * v end
      for i in ipairs(t) do n = n + i end
      if round == 10 then t[150] = nil end
    end
    local meta = setmetatable({}, {__index = function(_, i) if i < 5 then return i end end})
    for _, v in ipairs(meta) do n = n + v end
    return s .. " " .. n .. " " .. last)");
  CHECK(r.stats.exits_taken < 200);
}

TEST_CASE("math.sin, cos, exp, log, fmod, tostring, tonumber, table.insert and table.remove in traces", "[jit][builtin]") {
  Run r = same_both_ways(std::string(kShow) + R"(
    local vals = {0, -0.0, 1, -1, 0.5, 3, 1e300, -1e300, 1/0, -1/0, 0/0, math.maxinteger, math.mininteger}
    local sin, cos, exp, log, fmod = math.sin, math.cos, math.exp, math.log, math.fmod
    local R = {}
    for i = 1, #vals do
      local x = vals[i]
      R[#R + 1] = sin(x); R[#R + 1] = cos(x); R[#R + 1] = exp(x); R[#R + 1] = log(x)
      R[#R + 1] = tonumber(x); R[#R + 1] = math.type(x) == "integer" and tostring(x) or "f"
      for j = 1, #vals do
        local y = vals[j]
        if math.type(x) == "float" or math.type(y) == "float" then R[#R + 1] = fmod(x, y) end
      end
    end
    local t, u = {}, {}
    for i = 1, 100 do table.insert(t, i * 2); table.insert(t, "s" .. i) end
    for i = 1, 150 do u[#u + 1] = table.remove(t) end
    R[#R + 1] = #t; R[#R + 1] = #u; R[#R + 1] = u[1]; R[#R + 1] = u[150]; R[#R + 1] = t[50]
    local e = {}
    for i = 1, 3 do R[#R + 1] = tostring(table.remove(e)) end
    local ok, err = pcall(function() local z = {} for i = 1, 3 do table.insert(z, i, i, i) end end)
    R[#R + 1] = err
    -- The compiled loop guards that numbers have no metatable.
    local function texts() local s = {} for i = 1, 3 do s[i] = tostring(i) end return table.concat(s, ",") end
    R[#R + 1] = texts()
    debug.setmetatable(0, {__tostring = function(n) return "n" .. math.type(n) end})
    R[#R + 1] = texts()
    debug.setmetatable(0, nil)
    R[#R + 1] = texts()
    return dump(R))");
  CHECK(r.out.find("string:nfloat") == std::string::npos);
  CHECK(r.out.find("string:ninteger,ninteger,ninteger") != std::string::npos);
}

TEST_CASE("an exit inside a builtin taking the results of a call (B = 0) restores the arguments' top", "[jit][builtin]") {
  // table.insert(list, math.floor(x)) passes floor's results up to the top;
  // insert's bounds guard exits at each growth of the array, and the
  // interpreter must then see two arguments, not a stale top.
  Run r = same_both_ways(R"(
    local list, R = {}, {}
    for i = 1, 200 do
      table.insert(list, math.floor(i / 3))
      if #list > 150 then table.remove(list) end
      R[#R + 1] = string.sub("abcdef", math.max(1, i % 4))
      R[#R + 1] = tostring(math.max(i, 7))
    end
    return #list .. " " .. list[150] .. " " .. table.concat(R, ","))");
  CHECK(r.stats.exits_taken >= 1);
}

TEST_CASE("string methods (s:byte, s:sub) through the string metatable, which may change", "[jit][objects]") {
  same_both_ways(R"(
    local s, n, R = "hello, world", 0, {}
    local function scan()
      for i = 1, #s do n = n + s:byte(i); R[#R + 1] = s:sub(i, i + 1) .. s:len() end
    end
    scan()
    local methods = getmetatable("").__index
    methods.extra = function(x) return "e" .. #x end
    for i = 1, 20 do R[#R + 1] = s:extra() end
    getmetatable("").__index = {byte = function() return 1 end, sub = methods.sub, len = methods.len}
    scan()
    getmetatable("").__index = methods
    scan()
    return n .. " " .. table.concat(R, ","))");
}

TEST_CASE("integer keys outside the array part: present in the hash part, or absent", "[jit][objects]") {
  same_both_ways(R"(
    local sparse = {[0] = "z", [-5] = 5, [1000] = 1.5}
    local leaf, node = {}, {{}, {}}
    local meta = setmetatable({}, {__index = function(_, k) return k end})
    local R = {}
    for i = 1, 60 do
      local k = i % 3 == 0 and 0 or i % 3 == 1 and -5 or 1000
      R[#R + 1] = sparse[k]; R[#R + 1] = sparse[i + 2000] or "none"
      R[#R + 1] = leaf[1] and "leaf" or "none"; R[#R + 1] = node[1] and "node" or "none"
      if i == 30 then sparse[2030] = "late"; leaf[1] = {} end
      if i == 40 then setmetatable(leaf, {__index = function() return "idx" end}); leaf[1] = nil end
    end
    for i = 1, 3 do R[#R + 1] = meta[i] end
    for i = 1, #R do R[i] = tostring(R[i]):gsub("0x%x+", "t") end
    return table.concat(R, ","))");
}

TEST_CASE("a tail call from a side trace's frame: the callee takes the frame, tracebacks show it", "[jit][calls]") {
  same_both_ways(R"(
    local R = {}
    local big = 7
    local function sum(t, n)
      local a, b, c, d, e, f = 1, 2, 3, 4, 5, 6
      if n == 78 then R[#R + 1] = debug.traceback("tb", 1):gsub("0x%x+", "t") end
      if n == 90 then error("boom " .. n) end
      return t.v + n * big + a + b + c + d + e + f
    end
    local obj = {v = 1}
    function obj:run(n)
      for i = 1, 3 do self.v = self.v + i end
      if n % 2 == 0 then return sum(self, n) end
      return self.v
    end
    local total = 0
    local function main()
      for n = 1, 100 do total = total + obj:run(n) end
    end
    local ok, e = pcall(main)
    return total .. "|" .. tostring(e) .. "|" .. table.concat(R, "|"))");
}

TEST_CASE("t.name = nil where the field is nil and no __newindex runs stores nothing", "[jit][objects]") {
  same_both_ways(R"(
    local log = {}
    local mt = {__index = {}}
    local R = {}
    local t = setmetatable({}, mt)
    local plain = {}
    for i = 1, 60 do
      t.link = nil
      plain.link = nil
      local v = nil
      plain.other = v
      if i == 20 then t.link = i end
      if i == 30 then mt.__newindex = function(_, k, x) log[#log + 1] = k .. tostring(x) end end
      if i == 40 then plain = setmetatable({}, {__newindex = function(_, k) log[#log + 1] = "p" .. k end}) end
      R[#R + 1] = (t.link or 0) + (plain.link or 0)
    end
    local n = 0
    for _ in pairs(plain) do n = n + 1 end
    return table.concat(R, ",") .. "|" .. table.concat(log, ",") .. "|" .. n)");
}

TEST_CASE("SETLIST grows a constructor's array part ({f(), f()}), or exits where the interpreter must", "[jit][objects]") {
  same_both_ways(R"(
    local function bottom_up(depth)
      if depth == 0 then return {} end
      depth = depth - 1
      return { bottom_up(depth), bottom_up(depth) }
    end
    local function check(t)
      if t[1] then return 1 + check(t[1]) + check(t[2]) end
      return 1
    end
    local function three() return 7, 8, 9 end
    local R = {}
    for i = 1, 40 do
      R[#R + 1] = check(bottom_up(i % 6))
      local t = {i, three()}
      R[#R + 1] = #t .. ":" .. t[4]
    end
    return table.concat(R, ","))");
}

TEST_CASE("constructors made with room for their SETLIST: tails of no, one and many values, then grown and shrunk", "[jit][alloc]") {
  // The room a compiled NEWTABLE reserves is never visible: sizes, borders
  // and traversal orders stay the interpreter's, in and out of the room.
  same_both_ways(R"(
    local function none() end
    local function one(x) return x end
    local function many(n) return table.unpack({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, 1, n) end
    local function keys(t)
      local ks = {}
      for k in pairs(t) do ks[#ks + 1] = tostring(k) end
      return table.concat(ks, ".")
    end
    local R = {}
    for i = 1, 60 do
      local a = {i, none()}
      local b = {i, one(i)}
      local c = {i, many(i % 15)}
      local d = {one(i), x = i, many(i % 4)}
      a[3] = i; b[4] = i; c[#c + 2] = i; d[#d + 1] = i
      if i % 3 == 0 then b[2] = nil; c[1] = nil end
      for k = 5, 5 + i % 9 do b[k] = k end
      R[#R + 1] = #a .. #b .. #c .. #d .. keys(a) .. keys(b) .. keys(c) .. keys(d)
    end
    return table.concat(R, ","))");
}

TEST_CASE("absent keys looked up inline: chains, empty and large hash parts, shadowing", "[jit][objects]") {
  // A method call checks that its name is absent from the object (compiled
  // inline from the key's main position along the chain). Objects with no
  // hash part, a few fields, and hundreds (long chains, sizes up to 2^9),
  // then a field shadowing the method mid-loop and removed again.
  Run r = same_both_ways(R"(
    local C = {}
    C.__index = C
    function C:get() return self.v or 0 end
    local objs = {}
    for n = 0, 40 do
      local o = setmetatable({}, C)
      for k = 1, n * n // 4 do o["f" .. k] = k end
      if n % 3 == 0 then o.v = n end
      objs[#objs + 1] = o
    end
    objs[#objs + 1] = setmetatable({ 1, 2, 3 }, C)
    local s = 0
    for round = 1, 30 do
      for i = 1, #objs do
        local o = objs[i]
        if round == 10 and i % 5 == 0 then o.get = function() return 1000 end end
        if round == 20 and i % 5 == 0 then o.get = nil end
        s = s + o:get() + (o.absent_key_xyz and 1 or 0)
      end
    end
    return tostring(s)
  )");
  CHECK(r.out == "87470");
}

TEST_CASE("loads not changed by the loop's stores are hoisted: lengths, __index chains, other keys", "[jit][objects][loop]") {
  // Stores through nodes of other constant string keys change neither a
  // field of another key, nor where a key is found, nor a length: the
  // method lookups through the class chain and #list run once, before the
  // loop, as in richards' scheduler loop.
  const char* hoisted = R"(
    local Base = {}
    Base.__index = Base
    function Base:get() return self.v end
    local C = setmetatable({}, { __index = Base })
    C.__index = C
    local list = {}
    for i = 1, 6 do list[i] = setmetatable({ v = i, n = 0 }, C) end
    local i, s = 1, 0
    while i <= #list do
      local o = list[i]
      o.n = o.n + o:get()
      s = s + o.n
      i = i + 1
      if i > #list and s < 100000 then i = 1 end
    end
    return tostring(s)
  )";
  CHECK(same_both_ways(hoisted).out == "101871");
  std::string loop;
  for (const std::string& t : jit_test::traces_of(hoisted))
    if (t.find("rec:10 loop") != std::string::npos) loop = t;
  REQUIRE(!loop.empty());
  INFO(loop);
  size_t start = loop.find("LOOPSTART");
  REQUIRE(start != std::string::npos);
  std::string body = loop.substr(start, loop.find("\nsnap ", start) - start);
  CHECK(body.find("tab_len") == std::string::npos);
  CHECK(body.find("tab_get_str") != std::string::npos);  // get is absent from each object
  CHECK(jit_test::count(body, "HREFK") <= 3);  // o.n, o.n's store, o.v: not Base.get nor C.__index

  // Stores that may change what is read: the same key through another
  // reference (maybe the same table), integer keys (the length), the
  // method or __index replaced inside the loop.
  Run r = same_both_ways(R"(
    local Base = {}
    Base.__index = Base
    function Base:get() return self.v end
    local C = setmetatable({}, { __index = Base })
    C.__index = C
    local a, b = setmetatable({ v = 1, x = 0 }, C), setmetatable({ v = 2, x = 0 }, C)
    local t = {}
    for k = 1, 40 do t[k] = k end
    local out = {}
    for k = 1, 120 do
      local p = k % 3 == 0 and a or b
      a.x = a.x + 1
      p.x = p.x + a:get()
      out[#out + 1] = a.x + b.x + #t
      t[#t] = nil
      if k == 60 then Base.get = function(self) return self.v * 10 end end
      if k == 90 then C.get = function() return 7 end end
      if k == 100 then getmetatable(C).__index = { get = function() return -1 end } end
    end
    return table.concat(out, " ")
  )");
  CHECK(!r.out.empty());
}

// `#t` in a trace answers inline when the array's last slot is nil and the
// hint is still a border (asm_x64.cpp tab_len_inline); it must give the
// interpreter's border in every other case too: an empty table, a full
// array, the border in the hash part, a stale hint on either side, holes.
TEST_CASE("# of tables in traces: the hint's border and every fallback", "[jit][builtin]") {
  same_both_ways(R"(
    local R = {}
    local function mk(kind)
      if kind == 1 then return {} end
      if kind == 2 then return {1, 2, 3, 4} end
      if kind == 3 then local t = {1, 2, 3, 4}; t[5] = 5; t[6] = 6; return t end
      if kind == 4 then local t = {}; for i = 1, 6 do t[i] = i end; return t end
      if kind == 5 then local t = {1, nil, 3, nil, 5, nil, nil, nil}; return t end
      local t = {}; t[1] = 1; t[2] = 2; t[3] = 3; t[9] = 9; return t
    end
    for round = 1, 3 do
      for kind = 1, 6 do
        local t = mk(kind)
        for step = 1, 40 do
          R[#R + 1] = #t
          if step % 7 == 0 then t[#t + 1] = step
          elseif step % 11 == 0 and #t > 0 then t[#t] = nil
          elseif step % 13 == 0 then t[#t + 2] = step
          elseif step % 17 == 0 then t[1] = nil end
        end
        R[#R + 1] = "|"
      end
    end
    return table.concat(R, " ")
  )");
  // The hint a border but the last slot filled: the border is asize.
  same_both_ways(R"(
    local R = {}
    for round = 1, 3 do
      local t = {1, 2, 3, nil, nil, nil, nil, nil}
      for step = 1, 40 do
        R[#R + 1] = #t
        if step % 3 == 0 then t[8] = t[8] == nil and step or nil end
      end
    end
    return table.concat(R, " ")
  )");
}
