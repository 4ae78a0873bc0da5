// Slot hints: GETFIELD, SETFIELD, GETTABUP, SETTABUP and SELF remember in
// their key constant where the key was last found (key_hint, state.hpp),
// and a hint that no longer fits the table (another table, a rehash, a
// freed table, a key set to nil) falls back to the full lookup.
#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"

using luna::test::StateGuard;
using luna::test::run;

namespace {

luna::Table* global_table(luna::State* L, const char* name) {
  luna::get_global(L, name);
  luna::Table* t = (L->top - 1)->as_table();
  luna::pop(L, 1);
  return t;
}

luna::Proto* global_proto(luna::State* L, const char* name) {
  luna::get_global(L, name);
  luna::Proto* p = (L->top - 1)->as_lclosure()->p;
  luna::pop(L, 1);
  return p;
}

luna::String* interned(luna::State* L, const std::string& s) {
  luna::push_string(L, s.c_str());
  luna::String* str = (L->top - 1)->as_string();
  luna::pop(L, 1);
  return str;  // reachable as a key of the tables below
}

// The node of t holding key name (which must be present).
uint32_t node_index(luna::State* L, luna::Table* t, const std::string& name) {
  const luna::TValue* slot = luna::table_get_short_str(t, interned(L, name));
  REQUIRE(!slot->is_nil());
  return static_cast<uint32_t>(reinterpret_cast<const luna::Node*>(slot) - t->node);
}

// The hint naming that node.
uint32_t hint_for(luna::State* L, luna::Table* t, const std::string& name) {
  return node_index(L, t, name) << 8 | t->lsizenode;
}

const luna::TValue* constant(luna::State* L, luna::Proto* p, const std::string& name) {
  luna::String* s = interned(L, name);
  for (int j = 0; j < p->sizek; j++)
    if (p->k[j].is_short_string() && p->k[j].as_string() == s) return &p->k[j];
  FAIL("no constant " << name);
  return nullptr;
}

}  // namespace

TEST_CASE("field handlers record the node where their key was found", "[slothints]") {
  StateGuard g;
  luna::State* L = g.L;
  REQUIRE(run(L, "t = {} for j = 1, 20 do t['k' .. j] = j end "
                 "for j = 1, 20 do _G['g' .. j] = j end "
                 "C = {} C.__index = C for j = 1, 20 do C['m' .. j] = function() return j end end "
                 "o = setmetatable({}, C) return 1") == "1");
  luna::Table* t = global_table(L, "t");
  luna::Table* genv = global_table(L, "_G");
  luna::Table* cls = global_table(L, "C");
  // A key away from node 0, so that a hint left at 0 cannot pass.
  auto pick = [&](luna::Table* h, const char* prefix) {
    for (int j = 1; j <= 20; j++) {
      std::string name = prefix + std::to_string(j);
      if (node_index(L, h, name) != 0) return name;
    }
    FAIL("every key at node 0");
    return std::string();
  };
  std::string fk = pick(t, "k"), gk = pick(genv, "g"), mk = pick(cls, "m");
  std::string code = "function getf(t) return t." + fk + " end "
                     "function setf(t, v) t." + fk + " = v end "
                     "function getg() return " + gk + " end "
                     "function setg(v) " + gk + " = v end "
                     "function self(o) return o:" + mk + "() end return 1";
  REQUIRE(run(L, code.c_str()) == "1");
  luna::Proto* getf = global_proto(L, "getf");
  luna::Proto* setf = global_proto(L, "setf");
  luna::Proto* getg = global_proto(L, "getg");
  luna::Proto* setg = global_proto(L, "setg");
  luna::Proto* self = global_proto(L, "self");
  // Loaded without hints.
  CHECK(luna::key_hint(constant(L, getf, fk)) == 0);
  CHECK(luna::key_hint(constant(L, self, mk)) == 0);

  REQUIRE(run(L, "return getf(t)") == fk.substr(1));
  CHECK(luna::key_hint(constant(L, setf, fk)) == 0);
  CHECK(luna::key_hint(constant(L, getf, fk)) == hint_for(L, t, fk));
  REQUIRE(run(L, ("setf(t, 99) return t." + fk).c_str()) == "99");
  CHECK(luna::key_hint(constant(L, setf, fk)) == hint_for(L, t, fk));
  REQUIRE(run(L, "return getg()") == gk.substr(1));
  CHECK(luna::key_hint(constant(L, getg, gk)) == hint_for(L, genv, gk));
  REQUIRE(run(L, "setg(-1) return getg()") == "-1");
  CHECK(luna::key_hint(constant(L, setg, gk)) == hint_for(L, genv, gk));
  // The method is in the class: the hint names its node there.
  REQUIRE(run(L, "return self(o)") == mk.substr(1));
  CHECK(luna::key_hint(constant(L, self, mk)) == hint_for(L, cls, mk));
}

TEST_CASE("a slot hint that does not fit the table falls back to the lookup", "[slothints]") {
  StateGuard g;
  REQUIRE(run(g.L, R"(
    local function get(t) return t.x end
    local function set(t, v) t.x = v end
    local big = {}
    for j = 1, 100 do big["k" .. j] = j end
    big.x = "big"
    assert(get(big) == "big")
    -- other tables: smaller, without the key, with the key elsewhere
    assert(get({x = "small"}) == "small")
    assert(get({}) == nil and get({y = 1}) == nil and get({1, 2, 3}) == nil)
    assert(get(big) == "big")
    -- rehashes move the key
    for j = 101, 1000 do
      big["k" .. j] = j
      assert(get(big) == "big")
      if j % 97 == 0 then set(big, j) assert(get(big) == j) set(big, "big") end
    end
    -- a key set to nil keeps its node: __index and __newindex still apply
    big.x = nil
    setmetatable(big, {__index = function(_, k) return "index " .. k end})
    assert(get(big) == "index x")
    local log = {}
    setmetatable(big, {__newindex = function(_, k, v) log[#log + 1] = k .. v end})
    set(big, 1)
    assert(log[1] == "x1" and rawget(big, "x") == nil)
    -- freed tables, their memory reused by tables of other shapes
    for r = 1, 200 do
      local t = r % 2 == 0 and {a = 1, b = 2, x = r} or {x = r}
      assert(get(t) == r)
      if r % 50 == 0 then collectgarbage() end
    end
    -- methods: own, inherited, removed
    local Class = {}
    Class.__index = Class
    function Class:m() return "class" end
    local o = setmetatable({}, Class)
    assert(o:m() == "class")
    o.m = function() return "own" end
    assert(o:m() == "own")
    o.m = nil
    assert(o:m() == "class")
    Class.m = nil
    assert(not pcall(function() return o:m() end))
    -- globals
    gx = 1
    local function g() return gx end
    assert(g() == 1)
    gx = nil
    assert(g() == nil)
    for j = 1, 200 do _G["filler" .. j] = j end
    gx = 3
    assert(g() == 3)
    return "ok"
  )") == "ok");
}
