// Table tests: array/hash placement, lookups, borders, next, key rules.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <string>

#include "state.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::StateGuard;

namespace {


// A table anchored on the stack.
Table* anchored_table(State* L) {
  Table* t = table_new(L);
  push_raw(L, TValue::object(t));
  return t;
}

TValue sv(State* L, const char* s) { return str_value(str_new_cstr(L, s)); }

bool in_array(Table* t, const TValue* slot) { return slot >= t->array && slot < t->array + t->asize; }

// Runs f under a protected call and returns the error message ("" if none).
std::string protected_run(State* L, NativeFn f) {
  push_native_function(L, f);
  int st = pcall(L, 0, 0, 0);
  std::string msg = st == OK ? "" : to_string(L, -1);
  if (st != OK) pop(L, 1);
  return msg;
}

// A border: t[n] non-nil (or n == 0) and t[n+1] nil.
bool is_border(Table* t, Integer n) {
  return (n == 0 || !table_get_int(t, n)->is_nil()) && table_get_int(t, n + 1)->is_nil();
}

}  // namespace

TEST_CASE("integer keys go to the array part", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  for (int i = 1; i <= 100; i++) table_set_int(L, t, i, TValue::integer(i * 10));
  CHECK(t->asize >= 100);
  for (int i = 1; i <= 100; i++) {
    const TValue* v = table_get_int(t, i);
    REQUIRE(v->is_int());
    CHECK(v->u.i == i * 10);
    CHECK(in_array(t, v));
  }
  CHECK(table_length(t) == 100);
  // Sparse keys stay in the hash part.
  Table* h = anchored_table(L);
  table_set_int(L, h, 1000000, TValue::boolean(true));
  table_set_int(L, h, -5, TValue::boolean(true));
  CHECK(h->asize == 0);
  CHECK(table_get_int(h, 1000000)->tag == Tag::True);
  CHECK(table_get_int(h, -5)->tag == Tag::True);
  CHECK(table_get_int(h, 7)->tag == Tag::AbsKey);
}

TEST_CASE("appends double a full array; a hole keeps the 5.4 split", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  for (int i = 1; i <= 129; i++) {
    table_set_int(L, t, i, TValue::integer(i));
    CHECK(t->asize == std::bit_ceil(unsigned(i)));
    CHECK(table_size_node(t) == 0);
  }
  // 7 of 1..8 used plus key 9: 8 keys are not more than half of 1..16, so
  // the array stays at 8 and 9 goes to the hash part.
  Table* h = anchored_table(L);
  for (int i = 1; i <= 8; i++) table_set_int(L, h, i, TValue::integer(i));
  table_set_int(L, h, 3, TValue::nil());
  table_set_int(L, h, 9, TValue::integer(9));
  CHECK(h->asize == 8);
  CHECK(!in_array(h, table_get_int(h, 9)));
  // A full array of 3 (not a power of two) grows to 4 by the general count.
  Table* u = anchored_table(L);
  table_resize(L, u, 3, 0);
  for (int i = 1; i <= 4; i++) table_set_int(L, u, i, TValue::integer(i));
  CHECK(u->asize == 4);
  CHECK(table_size_node(u) == 0);
}

TEST_CASE("string and other keys live in the hash part", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  for (int i = 0; i < 300; i++) {
    std::string k = "field" + std::to_string(i);
    table_set(L, t, sv(L, k.c_str()), TValue::integer(i));
  }
  for (int i = 0; i < 300; i++) {
    std::string k = "field" + std::to_string(i);
    String* ks = str_new_cstr(L, k.c_str());
    REQUIRE(table_get_short_str(t, ks)->is_int());
    CHECK(table_get_short_str(t, ks)->u.i == i);
    CHECK(table_get(t, str_value(ks))->u.i == i);
  }
  CHECK(table_get_short_str(t, str_new_cstr(L, "nope"))->tag == Tag::AbsKey);
  // Long string keys match by contents.
  std::string lk(100, 'L');
  table_set(L, t, sv(L, lk.c_str()), TValue::integer(42));
  String* other = str_new(L, lk.data(), lk.size());
  CHECK(table_get_str(t, other)->u.i == 42);
  // Booleans, floats, light userdata, tables as keys.
  int anchor;
  table_set(L, t, TValue::boolean(true), TValue::integer(1));
  table_set(L, t, TValue::boolean(false), TValue::integer(2));
  table_set(L, t, TValue::number(2.5), TValue::integer(3));
  table_set(L, t, TValue::light_ud(&anchor), TValue::integer(4));
  table_set(L, t, TValue::object(t), TValue::integer(5));
  CHECK(table_get(t, TValue::boolean(true))->u.i == 1);
  CHECK(table_get(t, TValue::boolean(false))->u.i == 2);
  CHECK(table_get(t, TValue::number(2.5))->u.i == 3);
  CHECK(table_get(t, TValue::light_ud(&anchor))->u.i == 4);
  CHECK(table_get(t, TValue::object(t))->u.i == 5);
  CHECK(table_get(t, TValue::nil())->is_nil());
}

TEST_CASE("float keys with integral values are integers", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  table_set(L, t, TValue::number(3.0), sv(L, "three"));
  table_set(L, t, TValue::number(-0.0), sv(L, "zero"));
  table_set(L, t, TValue::number(1e15), sv(L, "big"));
  CHECK(table_get_int(t, 3)->is_string());
  CHECK(table_get_int(t, 0)->is_string());
  CHECK(table_get_int(t, 1000000000000000)->is_string());
  CHECK(table_get(t, TValue::number(3.0)) == table_get_int(t, 3));
  TValue kv[2] = {TValue::nil(), TValue::nil()};
  int ints = 0;
  while (table_next(L, t, kv)) ints += kv[0].is_int();
  CHECK(ints == 3);
}

TEST_CASE("nil and NaN keys are errors", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  CHECK(protected_run(L, [](State* L) {
          table_set(L, table_new(L), TValue::nil(), TValue::integer(1));
          return 0;
        }).find("index is nil") != std::string::npos);
  CHECK(protected_run(L, [](State* L) {
          table_set(L, table_new(L), TValue::number(std::nan("")), TValue::integer(1));
          return 0;
        }).find("index is NaN") != std::string::npos);
  CHECK(protected_run(L, [](State* L) {
          Table* t = table_new(L);
          push_raw(L, TValue::object(t));
          TValue kv[2] = {TValue::integer(99), TValue::nil()};
          table_next(L, t, kv);
          return 0;
        }).find("invalid key to 'next'") != std::string::npos);
  // Reading with such keys is fine.
  Table* t = anchored_table(L);
  CHECK(table_get(t, TValue::number(std::nan("")))->is_nil());
}

TEST_CASE("length is a border", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  CHECK(table_length(t) == 0);
  for (int i = 1; i <= 64; i++) table_set_int(L, t, i, TValue::integer(i));
  CHECK(table_length(t) == 64);
  table_set_int(L, t, 64, TValue::nil());
  CHECK(table_length(t) == 63);
  table_set_int(L, t, 20, TValue::nil());
  CHECK(is_border(t, table_length(t)));
  // Continuing into the hash part.
  Table* h = anchored_table(L);
  table_resize(L, h, 4, 0);
  for (int i = 1; i <= 4; i++) table_set_int(L, h, i, TValue::integer(i));
  for (int i = 5; i <= 40; i++) *table_new_key_slot(L, h, TValue::integer(i)) = TValue::integer(i);
  CHECK(is_border(h, table_length(h)));
  Table* only_hash = anchored_table(L);
  table_set_int(L, only_hash, 1, TValue::boolean(true));
  CHECK(table_length(only_hash) == 1);
  // A huge border value.
  Table* big = anchored_table(L);
  table_set_int(L, big, 1, TValue::boolean(true));
  table_set_int(L, big, INT64_MAX, TValue::boolean(true));
  CHECK(is_border(big, table_length(big)));
}

TEST_CASE("next survives assigning nil during traversal", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  for (int i = 1; i <= 50; i++) table_set_int(L, t, i, TValue::integer(i));
  for (int i = 0; i < 200; i++) {
    std::string k = "k" + std::to_string(i);
    table_set(L, t, sv(L, k.c_str()), TValue::integer(i));
  }
  // Keys that are objects; their entries become dead keys after a collection.
  for (int i = 0; i < 50; i++) table_set(L, t, TValue::object(table_new(L)), TValue::integer(i));
  // The traversal key lives on the stack, as in a Lua loop, so it stays alive.
  TValue* kv = L->top;
  L->top += 2;
  kv[0] = kv[1] = TValue::nil();
  int seen = 0;
  while (table_next(L, t, kv)) {
    seen++;
    table_set(L, t, kv[0], TValue::nil());
    if (seen % 37 == 0) gc_full(L, false);  // turns cleared object keys into dead keys
  }
  CHECK(seen == 300);
  kv[0] = TValue::nil();
  CHECK_FALSE(table_next(L, t, kv));
}

TEST_CASE("random operations agree with std::map", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  std::map<Integer, Integer> ref;
  std::mt19937 rng(12345);
  for (int step = 0; step < 20000; step++) {
    Integer k = static_cast<Integer>(rng() % 600) - 100;
    if (rng() % 3 == 0) {
      table_set_int(L, t, k, TValue::nil());
      ref.erase(k);
    } else {
      table_set_int(L, t, k, TValue::integer(step));
      ref[k] = step;
    }
  }
  for (Integer k = -150; k < 600; k++) {
    auto it = ref.find(k);
    const TValue* v = table_get_int(t, k);
    if (it == ref.end()) {
      CHECK(v->is_nil());
    } else {
      REQUIRE(v->is_int());
      CHECK(v->u.i == it->second);
    }
  }
  size_t count = 0;
  TValue kv[2] = {TValue::nil(), TValue::nil()};
  while (table_next(L, t, kv)) count++;
  CHECK(count == ref.size());
  CHECK(is_border(t, table_length(t)));
}

TEST_CASE("resize keeps every entry", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  for (int i = 1; i <= 100; i++) table_set_int(L, t, i, TValue::integer(i));
  table_set(L, t, sv(L, "x"), TValue::integer(-1));
  table_resize(L, t, 10, 0);  // shrinking the array moves 11..100 to the hash
  CHECK(t->asize == 10);
  for (int i = 1; i <= 100; i++) CHECK(table_get_int(t, i)->u.i == i);
  CHECK(table_get(t, sv(L, "x"))->u.i == -1);
  table_resize_array(L, t, 128);
  CHECK(t->asize == 128);
  for (int i = 1; i <= 100; i++) CHECK(in_array(t, table_get_int(t, i)));
  CHECK(table_get(t, sv(L, "x"))->u.i == -1);
  CHECK(table_size_node(anchored_table(L)) == 0);
}

TEST_CASE("assignment invalidates the metamethod cache", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  Table* t = anchored_table(L);
  t->flags = 0x3f;
  table_set(L, t, sv(L, "__index"), TValue::boolean(true));
  CHECK(t->flags == 0);
  t->flags = 0x3f;
  table_new_key_slot(L, t, sv(L, "__eq"));
  CHECK(t->flags == 0);
}

// table.sort calls a Lua comparator without the stack API (lib/table.cpp,
// Sorter); these are the cases where that path could differ from a call.
TEST_CASE("table.sort reports an order function that is not a strict order", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, "local t = {} for i = 1, 40 do t[i] = i % 7 end "
                             "return select(2, pcall(table.sort, t, function(a, b) return a <= b end))") ==
        "invalid order function for sorting");
  CHECK(luna::test::run(s.L, "local t = {5, 3, 1, 4, 2, 6, 7, 8, 9, 10, 11, 12} "
                             "return select(2, pcall(table.sort, t, function() return true end))") ==
        "invalid order function for sorting");
}

TEST_CASE("table.sort passes errors raised in the comparator through", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, "local ok, e = pcall(table.sort, {3, 2, 1}, function(a, b) error('boom') end) "
                             "return e:match(':%d+: boom$')") == ":1: boom");
  CHECK(luna::test::run(s.L, "local e = {} local ok, got = pcall(table.sort, {3, 2, 1}, function() error(e) end) "
                             "return tostring(not ok and got == e)") == "true");
  CHECK(luna::test::run(s.L, "return select(2, pcall(table.sort, {1, 'x', 2}))") ==
        "attempt to compare string with number");
}

TEST_CASE("table.sort's comparator cannot yield", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, "local co = coroutine.create(function() "
                             "table.sort({3, 2, 1}, function(a, b) coroutine.yield() return a < b end) end) "
                             "return select(2, coroutine.resume(co))") ==
        "attempt to yield across a C-call boundary");
}

TEST_CASE("table.sort survives a comparator that moves the stack and collects", "[table][sort]") {
  StateGuard s;
  // Deep recursion in the comparator reallocates the stack under the values
  // being sorted; the collection and the cleared table leave them on the
  // stack only.
  CHECK(luna::test::run(s.L, "local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end "
                             "local t = {} for i = 1, 200 do t[i] = tostring((i * 37) % 200 + 1000) end "
                             "local n = 0 "
                             "table.sort(t, function(a, b) n = n + 1 "
                             "  if n % 50 == 0 then deep(2000) collectgarbage() end return a < b end) "
                             "for i = 2, 200 do assert(t[i - 1] < t[i]) end "
                             "local u = {} for i = 1, 100 do u[i] = {v = (i * 13) % 101} end "
                             "local m = 0 "
                             "table.sort(u, function(a, b) m = m + 1 "
                             "  if m == 40 then for k = 1, 100 do u[k] = {v = k} end collectgarbage() end "
                             "  return a.v < b.v end) "
                             "return t[1] .. ' ' .. t[200]") == "1000 1199");
  CHECK(get_top(s.L) == 0);
}

TEST_CASE("table.sort goes on with the table debug.setlocal puts in its place", "[table][sort]") {
  StateGuard s;
  // The first table becomes garbage mid-sort: the sort must not keep using it.
  CHECK(luna::test::run(s.L, "local first, second = {5, 4, 3, 2, 1}, {50, 40, 30, 20, 10, 0} "
                             "local swapped = false "
                             "table.sort(first, function(a, b) "
                             "  if not swapped then swapped = true debug.setlocal(2, 1, second) first = nil "
                             "    collectgarbage() end "
                             "  return a < b end) "
                             "return table.concat(second, ' ')") == "1 5 20 30 40 0");
}

TEST_CASE("table.sort's order calls leave yieldability and the C depth as they were", "[table][sort]") {
  StateGuard s;
  // TruthCalls raises nny and nCcalls per call; errors unwind past
  // it to the pcall, which must restore both.
  CHECK(luna::test::run(s.L, "local co = coroutine.wrap(function() "
                             "  for i = 1, 1000 do pcall(table.sort, {3, 2, 1}, function() error('x') end) end "
                             "  local y = coroutine.isyieldable() coroutine.yield(y) return 'done' end) "
                             "return tostring(co()) .. ' ' .. co()") == "true done");
  // 150 nested sorts fit under the C depth limit only if none leaked.
  CHECK(luna::test::run(s.L, "for i = 1, 1000 do pcall(table.sort, {3, 2, 1}, function() error('x') end) end "
                             "local depth = 0 "
                             "local function nest(d) depth = d if d == 150 then return end "
                             "  table.sort({2, 1}, function(a, b) nest(d + 1) return a < b end) end "
                             "nest(1) return depth") == "150");
  CHECK(get_top(s.L) == 0);
}

TEST_CASE("table.sort's order function may be any callable but a table", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, "local t = {5, 3, 1, 4, 2} table.sort(t, function(...) local a, b = ... return a > b end) "
                             "local u = {5, 3, 1, 4, 2} local function gt(a, b) return a > b end "
                             "table.sort(u, function(a, b) return gt(b, a) end) "
                             "local v = {'b', 'c', 'a'} table.sort(v, rawequal) "
                             "return table.concat(t, '') .. table.concat(u, '') .. #v") == "54321123453");
  CHECK(luna::test::run(s.L, "return select(2, pcall(table.sort, {2, 1}, setmetatable({}, {__call = print})))") ==
        "bad argument #2 to 'table.sort' (function expected, got table)");
}

TEST_CASE("table.sort charges default-order comparisons to the instruction budget", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, "t = {} for i = 1, 5000 do t[i] = (i * 7919) % 5000 end") == "nil");
  // One call sorting 5000 numbers: about 60 000 comparisons and no Lua instruction.
  set_instruction_budget(s.L, 20000);
  std::string msg = luna::test::run(s.L, "table.sort(t)");
  CHECK(msg.find("instruction budget exhausted") != std::string::npos);
}

// Strings in the default order compare by their bytes where the locale
// collates that way (lib/table.cpp, byte_collation), else through strcoll.
TEST_CASE("table.sort orders strings by bytes, embedded zeros and prefixes included", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, "local t = {'a\\0b', 'a', '\\127', 'a\\0', 'ab', '', 'a\\0a', 'b\\1', 'b\\0'} "
                             "table.sort(t) for i = 1, #t do t[i] = ('%q'):format(t[i]) end "
                             "return table.concat(t, ' ')") ==
        "\"\" \"a\" \"a\\0\" \"a\\0a\" \"a\\0b\" \"ab\" \"b\\0\" \"b\\1\" \"\\127\"");
  // An __lt metamethod among the strings' comparisons; a string against a number is an error.
  CHECK(luna::test::run(s.L, "local mt = {__lt = function(a, b) return (type(a) == 'table' and a.v or a) < "
                             "(type(b) == 'table' and b.v or b) end} "
                             "local t = {'c', setmetatable({v = 'b'}, mt), 'a', 'd'} table.sort(t) "
                             "return t[1] .. t[2].v .. t[3] .. t[4]") == "abcd");
  CHECK(luna::test::run(s.L, "return select(2, pcall(table.sort, {'a', 1, 'b'}))") ==
        "attempt to compare number with string");
}

// Strings of eight bytes and more compare their first eight as one number
// (lib/table.cpp, bytes_less): the order must stay memcmp's, high bytes
// unsigned, the first byte weighing most, then the rest and the lengths.
TEST_CASE("table.sort orders long strings by bytes as memcmp does", "[table][sort]") {
  StateGuard s;
  CHECK(luna::test::run(s.L, R"(
    local function less(a, b)  -- memcmp, then the lengths
      for i = 1, math.min(#a, #b) do
        local x, y = a:byte(i), b:byte(i)
        if x ~= y then return x < y end
      end
      return #a < #b
    end
    local seed = 7
    local function rand(n) seed = (seed * 16807) % 2147483647 return seed % n end
    for _, alphabet in ipairs{{'a', '\200'}, {'\0', '\1', 'a', 'b', '\127', '\128', '\200', '\255'}} do
      local t = {}
      for i = 1, 400 do
        local c = {}
        for k = 1, rand(20) do c[k] = alphabet[rand(#alphabet) + 1] end
        t[i] = table.concat(c)
      end
      table.sort(t)
      for i = 2, #t do
        if less(t[i], t[i - 1]) then return ('%q before %q'):format(t[i - 1], t[i]) end
      end
    end
    return 'ok')") == "ok");
}

// Arrays of only numbers or only strings in the default order are sorted
// in place without the stack (lib/table.cpp, ArraySorter): the same steps,
// so the same order for NaN, mixed subtypes and extremes as 5.4.8.
TEST_CASE("table.sort of plain number arrays keeps 5.4.8's order", "[table][sort]") {
  StateGuard s;
  auto sorted = [&](const std::string& t) {
    std::string code = "local nan = 0/0 local t = " + t +
                       " table.sort(t) local o = {} for i = 1, #t do o[i] = t[i] ~= t[i] and 'n' or tostring(t[i]) end "
                       "return table.concat(o, ' ')";
    return luna::test::run(s.L, code.c_str());
  };
  CHECK(sorted("{5, nan, 3, 1.5, nan, 2, 9, nan, 1, 7, 4, nan, 8, 6}") == "1 1.5 2 3 4 5 n n 6 7 8 n n 9");
  CHECK(sorted("{3, 1.5, 2, math.huge, -math.huge, 1, 2.0, math.mininteger, math.maxinteger, 2^63, -2^63}") ==
        "-inf -9223372036854775808 -9.2233720368548e+18 1 1.5 2.0 2 3 9223372036854775807 9.2233720368548e+18 inf");
  // Larger arrays (ArraySorter's own partition) against the same items
  // sorted through a proxy (Sorter's steps on the stack) and with an order
  // function (Sorter's partition): the same order, NaN and duplicates
  // included, and the same errors.
  CHECK(luna::test::run(s.L, R"(
    local seed = 11
    local function rand(n) seed = (seed * 16807) % 2147483647 return seed % n end
    local function show(ok, err, t)
      if not ok then return err end
      local o = {}
      for i = 1, #t do o[i] = t[i] ~= t[i] and 'n' or tostring(t[i]) end
      return table.concat(o, ' ')
    end
    for round = 1, 40 do
      local a, b, c = {}, {}, {}
      local n = 4 + rand(400)
      for i = 1, n do
        local k = rand(20)
        local v = k == 0 and 0/0 or k < 8 and rand(50) or k < 16 and rand(50) + 0.5 or ('s' .. rand(60))
        if round % 2 == 0 and type(v) == 'string' then v = rand(30) end
        if round % 4 == 1 then v = 's' .. rand(1000) .. string.rep('x', rand(10)) end
        a[i], b[i], c[i] = v, v, v
      end
      local proxy = setmetatable({}, {__index = b, __newindex = b, __len = function() return n end})
      local ok, err = pcall(table.sort, a)
      local x = show(ok, err, a)
      ok, err = pcall(table.sort, proxy)
      local y = show(ok, err, b)
      if x ~= y then return round .. ': ' .. x .. ' / ' .. y end
      -- An order function taking the same steps (Sorter's own partition).
      ok, err = pcall(table.sort, c, function(p, q) return p < q end)
      local z = show(ok, not ok and err:gsub('^.-:%d+: ', '') or nil, c)
      if x ~= z then return round .. ': ' .. x .. ' / ' .. z end
    end
    return 'same')") == "same");
  // A hole or a value of another type: the stack's path, with its errors.
  CHECK(luna::test::run(s.L, "return select(2, pcall(table.sort, {1, 2, 'x', 4}))") ==
        "attempt to compare string with number");
  CHECK(luna::test::run(s.L, "local t = setmetatable({3, 1}, {__index = function(_, k) return k end, __len = function() "
                             "return 3 end}) table.sort(t) return t[1] .. t[2] .. tostring(rawget(t, 3))") == "13nil");
}

// table.concat reads strings present in the table in place (lib/table.cpp,
// add_field); everything else still goes through get_i and the buffer.
TEST_CASE("table.concat reads present strings in place, the rest as before", "[table][concat]") {
  StateGuard s;
  auto run = [&](const char* code) { return luna::test::run(s.L, code); };
  CHECK(run("return table.concat({'a', 'bc', 3, 4.5, 'd'}, '-')") == "a-bc-3-4.5-d");
  // Array and hash parts, __index for absent items only, ranges.
  CHECK(run("local t = setmetatable({'x', nil, 'z', [5] = 'v'}, {__index = function(_, k) return 'i' .. k end}) "
            "return table.concat(t, ',', 1, 6)") == "x,i2,z,i4,v,i6");
  CHECK(run("return table.concat({'a', 'b', 'c'}, '', 2, 3) .. table.concat({'a'}, 'x', 1, 0) .. '|'") == "bc|");
  CHECK(run("return table.concat({[-1] = 'm', [0] = 'n'}, '+', -1, 0)") == "m+n");
  // A non-table with __index and __len.
  CHECK(run("local u = setmetatable({}, {__index = function(_, k) return 'k' .. k end, __len = function() return 3 end}) "
            "return table.concat(u)") == "k1k2k3");
  CHECK(run("return select(2, pcall(table.concat, {'a', {}, 'c'}))") ==
        "invalid value (table) at index 2 in table for 'concat'");
  CHECK(run("return select(2, pcall(table.concat, {'a', 'b'}, ',', 1, 3))") ==
        "invalid value (nil) at index 3 in table for 'concat'");
}

TEST_CASE("table.concat of one string piece returns it without a copy", "[table][concat]") {
  StateGuard s;
  // With the collector stopped, a copy of the 4 MB piece would show in the count.
  CHECK(luna::test::run(s.L, "local big = string.rep('x', 1 << 22) "
                             "collectgarbage('stop') local before = collectgarbage('count') "
                             "local r1, r2 = table.concat({big}), table.concat({'a', big}, '', 2, 2) "
                             "local grew = collectgarbage('count') - before "
                             "return tostring(r1 == big and r2 == big and grew < 1024)") == "true");
}

TEST_CASE("__index chains are too long after 2000 steps on every path", "[table][index]") {
  StateGuard g;
  REQUIRE(luna::test::run(g.L, R"(
    function chain(n, leaf)
      local last = leaf
      for _ = 1, n do last = setmetatable({}, {__index = last}) end
      return last
    end
    function class_chain(n)
      local cls = chain(n - 1, {m = function() return "m" end})
      return setmetatable({}, {__index = cls})
    end)") == "nil");
  const char* too_long = "'__index' chain too long; possible loop";
  // A constant field (the inline walk), a variable key (the general loop),
  // a method found through the class (OP_SELF's first step is counted).
  CHECK(luna::test::run(g.L, "return chain(2000, {x = 1}).x") == "1");
  CHECK(luna::test::run(g.L, "local k = 'x' return chain(2000, {x = 1})[k]") == "1");
  CHECK(luna::test::run(g.L, "return class_chain(2000):m()") == "m");
  for (const char* code : {"return chain(2001, {x = 1}).x", "return chain(2001, {}).x",
                           "local k = 'x' return chain(2001, {x = 1})[k]", "return class_chain(2001):m()",
                           "return chain(3999, {x = 1}).x", "return class_chain(4000):m()"}) {
    INFO(code);
    CHECK(luna::test::run(g.L, code).find(too_long) != std::string::npos);
  }
}

TEST_CASE("a compiled constructor's table keeps its array slots in its own block", "[table][gc]") {
  StateGuard s(false);
  State* L = s.L;
  GlobalState* g = L->g;
  g->gcdebt = -(ptrdiff_t(1) << 20);  // compiled code allocates only while no collection is due
  // {x, f()}: one slot sized, room for the call's value.
  Table* t = table_try_new(g, 1, 0, 2);
  REQUIRE(t != nullptr);
  push_raw(L, TValue::object(t));
  CHECK(t->asize == 1);
  CHECK(t->array == reinterpret_cast<TValue*>(t + 1));
  CHECK(table_get_int(t, 1)->is_nil());
  t->array[0] = TValue::integer(10);
  // Growing into the room allocates nothing, so it succeeds with a
  // collection due, where growing into a new block must leave it to the
  // interpreter.
  ptrdiff_t debt = g->gcdebt;
  size_t bytes = g->totalbytes;
  g->gcdebt = 1;
  CHECK(table_try_grow_array(L, t, 2));
  CHECK(!table_try_grow_array(L, t, 3));
  g->gcdebt = debt;
  CHECK(g->totalbytes == bytes);
  CHECK(t->asize == 2);
  CHECK(table_get_int(t, 2)->is_nil());
  // Out of the room (appends double the array), then shrunk and grown in
  // a block of its own.
  for (int i = 2; i <= 9; i++) table_set_int(L, t, i, TValue::integer(i * 10));
  CHECK(t->asize >= 9);
  CHECK(t->array != reinterpret_cast<TValue*>(t + 1));
  table_resize(L, t, 1, 4);
  CHECK(t->asize == 1);
  for (int i = 1; i <= 9; i++) CHECK(table_get_int(t, i)->u.i == i * 10);
  table_resize_array(L, t, 2);
  CHECK(t->asize == 2);
  for (int i = 1; i <= 9; i++) CHECK(table_get_int(t, i)->u.i == i * 10);
  table_set(L, t, sv(L, "k"), TValue::integer(-1));
  table_resize(L, t, 16, 1);
  for (int i = 1; i <= 9; i++) CHECK(in_array(t, table_get_int(t, i)));
  for (unsigned i = 9; i < 16; i++) CHECK(t->array[i].is_nil());
  CHECK(table_get(t, sv(L, "k"))->u.i == -1);
  // Tables with inline slots, in and out of them, are collected (ASan
  // checks each block goes back whole).
  for (unsigned n = 0; n <= 12; n++) {
    Table* u = table_try_new(g, n, n % 3, n + 1);
    REQUIRE(u != nullptr);
    push_raw(L, TValue::object(u));
    for (unsigned i = 0; i < n; i++) CHECK(u->array[i].is_nil());
    for (unsigned i = 0; i < n; i++) u->array[i] = TValue::integer(i + 1);
    // A shrink within the block moves the rest to the hash part; growing
    // again finds nil slots, not the stale values.
    table_resize(L, u, n / 2, n);
    CHECK(u->array == (n > 0 ? reinterpret_cast<TValue*>(u + 1) : u->array));
    table_resize_array(L, u, n);
    for (unsigned i = 0; i < n; i++) CHECK(table_get_int(u, i + 1)->u.i == Integer(i) + 1);
    if (n % 2 == 0) table_resize_array(L, u, 20);
    for (unsigned i = 0; i < n; i++) CHECK(table_get_int(u, i + 1)->u.i == Integer(i) + 1);
    pop(L, 1);
  }
  pop(L, 1);
  gc_full(L, false);
}

TEST_CASE("the interpreter's constructors keep a few array slots in the table's own block", "[table][gc]") {
  StateGuard s(false);
  State* L = s.L;
  GlobalState* g = L->g;
  // The constructor's table, left on the stack.
  auto construct = [&](const char* code) {
    REQUIRE(load_string(L, code) == OK);
    REQUIRE(pcall(L, 0, 1, 0) == OK);
    return L->top[-1].as_table();
  };
  g->gcdebt = -(ptrdiff_t(1) << 20);
  Table* t = construct("return {10, 20, 30}");
  CHECK(t->asize == 3);
  CHECK(t->array == reinterpret_cast<TValue*>(t + 1));
  for (int i = 1; i <= 3; i++) CHECK(table_get_int(t, i)->u.i == i * 10);
  // Integer keys outside the array of a table without a hash part miss.
  for (Integer k : {Integer(0), Integer(-1), Integer(4), Integer(1) << 40}) CHECK(table_get_int(t, k) == &table_absent_key);
  // Room for one more value (a trailing call's), then out of the block.
  table_set_int(L, t, 4, TValue::integer(40));
  CHECK(t->array == reinterpret_cast<TValue*>(t + 1));
  for (int i = 5; i <= 8; i++) table_set_int(L, t, i, TValue::integer(i * 10));
  CHECK(t->array != reinterpret_cast<TValue*>(t + 1));
  for (int i = 1; i <= 8; i++) CHECK(table_get_int(t, i)->u.i == i * 10);
  Table* call = construct("local function f() return 20 end return {10, f()}");
  CHECK(call->asize == 2);
  CHECK(table_get_int(call, 2)->u.i == 20);
  CHECK(call->array == reinterpret_cast<TValue*>(call + 1));
  Table* h = construct("return {1, 2, x = 3}");
  CHECK(h->array == reinterpret_cast<TValue*>(h + 1));
  CHECK(table_get(h, sv(L, "x"))->u.i == 3);
  Table* big = construct("return {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}");
  CHECK(big->asize == 13);
  CHECK(big->array != reinterpret_cast<TValue*>(big + 1));
  // With a collection step due, the general way: the same contents.
  g->gcdebt = 1;
  Table* due = construct("return {10, 20, 30}");
  CHECK(due->asize == 3);
  for (int i = 1; i <= 3; i++) CHECK(table_get_int(due, i)->u.i == i * 10);
  gc_full(L, false);
  for (int i = 1; i <= 8; i++) CHECK(table_get_int(t, i)->u.i == i * 10);
}

TEST_CASE("compiled appends size the array part as the interpreter's rehash does", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  std::mt19937 rng(14);
  for (int round = 0; round < 400; round++) {
    L->g->gcdebt = -(ptrdiff_t(1) << 20);
    unsigned n = 1 + rng() % 70;
    Table* a = anchored_table(L);
    Table* b = anchored_table(L);
    table_resize_array(L, a, n);
    table_resize_array(L, b, n);
    unsigned holes = rng() % 3;  // full arrays, and ones with a hole or two
    for (unsigned i = 1; i <= n; i++) {
      TValue v = TValue::integer(i);
      if (holes != 0 && rng() % (n / holes + 1) == 0) continue;
      table_set_int(L, a, i, v);
      table_set_int(L, b, i, v);
    }
    Integer key = Integer(n) + 1;
    TValue* slot = table_try_append_slot(L, a, key);
    table_set_int(L, b, key, TValue::integer(key));
    INFO("n " << n);
    CHECK((slot != nullptr) == in_array(b, table_get_int(b, key)));
    if (slot != nullptr) CHECK(a->asize == b->asize);
    else CHECK(a->asize == n);
    pop(L, 2);
  }
}

// The doubling of a full power-of-two array asks whether every slot is
// used (all_used, four slots at a time): one nil anywhere, of any nil tag,
// must keep the array as it is, and values of every type count as used.
TEST_CASE("compiled appends find a single hole anywhere in a power-of-two array", "[table]") {
  StateGuard s(false);
  State* L = s.L;
  const TValue values[] = {TValue::boolean(false), TValue::boolean(true), TValue::integer(0), TValue::number(0.0),
                           TValue::light_ud(nullptr)};
  for (unsigned n = 1; n <= 128; n *= 2) {
    for (unsigned hole = 0; hole <= n; hole++) {  // hole n: none
      for (Tag nil : {Tag::Nil, Tag::Empty}) {
        L->g->gcdebt = -(ptrdiff_t(1) << 20);
        Table* a = anchored_table(L);
        table_resize_array(L, a, n);
        for (unsigned i = 0; i < n; i++) a->array[i] = values[(i + hole) % 5];
        if (hole < n) a->array[hole].tag = nil;
        TValue* slot = table_try_append_slot(L, a, Integer(n) + 1);
        INFO("n " << n << " hole " << hole);
        CHECK((slot != nullptr) == (hole == n));
        CHECK(a->asize == (hole == n ? 2 * n : n));
        pop(L, 1);
      }
    }
  }
}

// An absent short string key stored by SETFIELD/SETTABLE goes through
// table_set_absent: into its free main position or, taken, through
// insert_key. A metamethod name stored so must drop the metatable's cache
// of absent metamethods; keys colliding, nodes freed by nil stores and
// tables that must grow still give every field back.
TEST_CASE("absent string keys stored in place keep fields and metamethod caches", "[table]") {
  StateGuard g;
  State* L = g.L;
  CHECK(luna::test::run(L, R"(
    local mt = {a = 1, b = 2, c = 3, d = 4, e = 5}
    mt.a, mt.b, mt.c, mt.d, mt.e = nil, nil, nil, nil, nil
    local t = setmetatable({}, mt)
    local before = t.x
    mt.__index = function(_, k) return k .. "!" end
    local out = {tostring(before), t.x}
    local s = 0
    for i = 1, 200 do
      local r = {code = i, name = "n" .. i}
      r["k" .. (i % 17)] = i
      r.extra, r.more = i, -i
      s = s + r.code + #r.name + r["k" .. (i % 17)] + r.extra + r.more
    end
    out[#out + 1] = s
    local big = {}
    for i = 1, 100 do big["f" .. i] = i end
    local n, sum = 0, 0
    for k, v in pairs(big) do n = n + 1 sum = sum + v end
    out[#out + 1] = n .. "/" .. sum
    return table.concat(out, " "))") == "nil x! 40892 100/5050");
}

// SETFIELD stores a new field of a table without a metatable through
// table_set_absent directly; a metatable (with or without __newindex), a
// nil value and a table without a hash part still take finish_set's way.
TEST_CASE("SETFIELD of an absent field: direct store only without a metatable", "[table]") {
  StateGuard g;
  State* L = g.L;
  CHECK(luna::test::run(L, R"(
    local log = {}
    local mt = {__newindex = function(t, k, v) log[#log + 1] = k .. "=" .. tostring(v) end}
    local out = {}
    for i = 1, 3 do
      local r = setmetatable({code = i}, mt)
      r.extra = i * 10            -- absent: __newindex, not a raw store
      r.code = -i                 -- present: raw
      out[#out + 1] = tostring(rawget(r, "extra")) .. "," .. r.code
      local plain = {code = i}
      plain.gone = nil            -- absent, nil: no key
      plain.extra = i             -- absent: stored
      local n = 0
      for _ in pairs(plain) do n = n + 1 end
      out[#out + 1] = n .. "," .. plain.extra
      local empty = {}
      empty.x = i                 -- no hash part: grows
      out[#out + 1] = empty.x
      local quiet = setmetatable({code = 0}, {})
      quiet.y = i                 -- a metatable without __newindex: raw
      out[#out + 1] = rawget(quiet, "y")
    end
    return table.concat(out, " ") .. " | " .. table.concat(log, " "))") ==
        "nil,-1 2,1 1 1 nil,-2 2,2 2 2 nil,-3 2,3 3 3 | extra=10 extra=20 extra=30");
}
