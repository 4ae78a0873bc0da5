// String tests: interning, long strings, hashing, the string table, userdata.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>

#include "short_bytes.hpp"
#include "state.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::StateGuard;
using luna::test::run;

TEST_CASE("short strings are interned", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  String* a = str_new(L, "hello", 5);
  push_raw(L, str_value(a));
  String* b = str_new_cstr(L, "hello");
  CHECK(a == b);
  CHECK(a->tag == Tag::ShortStr);
  CHECK(a->len == 5);
  CHECK(a->data[5] == '\0');
  CHECK(std::strcmp(a->c_str(), "hello") == 0);
  String* c = str_new(L, "hellO", 5);
  CHECK(c != a);
  CHECK_FALSE(str_equal(a, c));
  // Prefixes and embedded zeros are distinct strings.
  CHECK(str_new(L, "hell", 4) != a);
  String* z1 = str_new(L, "a\0b", 3);
  push_raw(L, str_value(z1));
  CHECK(z1->len == 3);
  CHECK(str_new(L, "a\0b", 3) == z1);
  CHECK(str_new(L, "a\0c", 3) != z1);
  CHECK(str_new(L, "", 0) == str_new(L, "", 0));
}

TEST_CASE("long strings compare by contents", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  std::string text(200, 'x');
  text[100] = '\0';
  String* a = str_new(L, text.data(), text.size());
  push_raw(L, str_value(a));
  String* b = str_new(L, text.data(), text.size());
  push_raw(L, str_value(b));
  CHECK(a->tag == Tag::LongStr);
  CHECK(a != b);
  CHECK(str_equal(a, b));
  CHECK(str_hash_long(a) == str_hash_long(b));
  CHECK(a->data[200] == '\0');
  text[199] = 'y';
  String* c = str_new(L, text.data(), text.size());
  CHECK_FALSE(str_equal(a, c));
  // The boundary: MAX_SHORT_LEN is short, one more is long.
  std::string edge(MAX_SHORT_LEN, 'e');
  CHECK(str_new(L, edge.data(), edge.size())->tag == Tag::ShortStr);
  edge += 'e';
  CHECK(str_new(L, edge.data(), edge.size())->tag == Tag::LongStr);
}

TEST_CASE("str_new_long gives a fillable buffer", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  String* a = str_new_long(L, 64);
  push_raw(L, str_value(a));
  std::memset(a->data, 'q', 64);
  CHECK(a->len == 64);
  CHECK(a->data[64] == '\0');
  String* b = str_new(L, std::string(64, 'q').c_str(), 64);
  CHECK(str_equal(a, b));
}

TEST_CASE("string table grows and keeps identity", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  Table* keep = table_new(L);
  push_raw(L, TValue::object(keep));
  int before = L->g->strt.size;
  constexpr int N = 5000;
  for (int i = 0; i < N; i++) {
    std::string k = "key" + std::to_string(i);
    table_set_int(L, keep, i + 1, str_value(str_new(L, k.data(), k.size())));
  }
  CHECK(L->g->strt.size > before);
  CHECK(L->g->strt.nuse >= N);
  gc_full(L, false);
  for (int i = 0; i < N; i++) {
    std::string k = "key" + std::to_string(i);
    CHECK(table_get_int(keep, i + 1)->as_string() == str_new(L, k.data(), k.size()));
  }
  // Unanchored strings die and the table shrinks back.
  L->top--;
  gc_full(L, false);
  CHECK(L->g->strt.nuse < N);
  CHECK(L->g->strt.size < 2 * N);
}

TEST_CASE("string table shrinks only after a cycle that left it underused", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  L->g->gcstp |= GCSTP_USER;  // no collection while the garbage is made
  for (int i = 0; i < 5000; i++) {
    std::string k = "garbage" + std::to_string(i);
    str_new(L, k.data(), k.size());
  }
  L->g->gcstp &= static_cast<uint8_t>(~GCSTP_USER);
  int full = L->g->strt.size;
  REQUIRE(L->g->strt.nuse >= full / 4);
  // The garbage filled the table this cycle: the next cycle would refill it.
  gc_full(L, false);
  CHECK(L->g->strt.nuse < full / 4);
  CHECK(L->g->strt.size == full);
  // A whole cycle underused: now it shrinks.
  gc_full(L, false);
  CHECK(L->g->strt.size == full / 2);
}

TEST_CASE("one-byte strings are made once and outlive collections", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  String* a = str_new(L, "\xff", 1);
  CHECK(L->g->onebyte[0xff] == a);
  gc_full(L, false);  // unanchored, yet kept: found by its byte
  CHECK(L->g->onebyte[0xff] == a);
  CHECK(str_try_new(L->g, "\xff", 1) == a);
  CHECK(str_new(L, "\xff", 1)->data[0] == '\xff');
  CHECK(str_new(L, "\xff\xff", 2) != a);
}

TEST_CASE("hash depends on contents and seed", "[string]") {
  CHECK(str_hash("abc", 3, 1) == str_hash("abc", 3, 1));
  CHECK(str_hash("abc", 3, 1) != str_hash("abd", 3, 1));
  CHECK(str_hash("abc", 3, 1) != str_hash("abc", 3, 2));
}

TEST_CASE("every bit of a string reaches the hash's bucket bits", "[string]") {
  // Buckets are picked by the low bits (string table and table nodes): a
  // flipped bit anywhere, the last byte included, must change them. A
  // 64-bit product alone left the last byte in the top bits only (word
  // counts' words then shared chains three deep).
  char buf[64];
  int misses = 0, flips = 0;
  for (size_t len = 1; len <= 48; len++) {
    for (size_t i = 0; i < len; i++) buf[i] = static_cast<char>('a' + (i * 7) % 26);
    uint32_t base = str_hash(buf, len, 0x1234567u);
    for (size_t pos = 0; pos < len; pos++) {
      for (int bit = 0; bit < 8; bit++) {
        buf[pos] = static_cast<char>(buf[pos] ^ (1 << bit));
        uint32_t h = str_hash(buf, len, 0x1234567u);
        buf[pos] = static_cast<char>(buf[pos] ^ (1 << bit));
        CHECK(h != base);
        flips++;
        if (((h ^ base) & 0xFFFFu) == 0) misses++;
      }
    }
  }
  // About one flip in 65 536 may leave 16 given bits alone by chance.
  INFO(misses << " of " << flips);
  CHECK(misses <= 2);
}

TEST_CASE("interned words spread over the string table", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  // word_count's words: one to three two-letter syllables.
  const char* syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "ba"};
  Table* keep = table_new(L);
  push_raw(L, TValue::object(keep));
  int n = 0;
  for (auto a : syl)
    for (auto b : syl)
      for (auto c : syl) {
        std::string w = std::string(a) + b + c;
        for (size_t len : {size_t(2), size_t(4), size_t(6)}) {
          String* str = str_new(L, w.data(), len);
          table_set_int(L, keep, ++n, str_value(str));
        }
      }
  const StringTable& tb = L->g->strt;
  int longest = 0;
  for (int b = 0; b < tb.size; b++) {
    int chain = 0;
    for (String* p = tb.hash[b]; p != nullptr; p = p->hnext) chain++;
    if (chain > longest) longest = chain;
  }
  INFO(tb.nuse << " strings in " << tb.size << " buckets");
  CHECK(longest <= 8);
}

TEST_CASE("short byte runs compare and copy at every length", "[string]") {
  char a[48], b[48], dst[48 + 16];
  for (size_t len = 0; len <= 40; len++) {
    for (size_t i = 0; i < len; i++) a[i] = b[i] = static_cast<char>(i * 37 + len);
    CHECK(bytes::equal(a, b, len));
    for (size_t pos = 0; pos < len; pos++) {
      b[pos] = static_cast<char>(b[pos] ^ 0x40);
      INFO("length " << len << " differs at " << pos);
      CHECK_FALSE(bytes::equal(a, b, len));
      b[pos] = static_cast<char>(b[pos] ^ 0x40);
    }
    // Nothing around the destination run is written.
    std::memset(dst, '#', sizeof dst);
    bytes::copy(dst + 8, a, len);
    INFO("copy of length " << len);
    CHECK(std::memcmp(dst + 8, a, len) == 0);
    for (size_t i = 0; i < sizeof dst; i++)
      if (i < 8 || i >= 8 + len) CHECK(dst[i] == '#');
  }
}

TEST_CASE("concatenation of short pieces at every length", "[string]") {
  StateGuard s;
  State* L = s.L;
  // Every split of every short and just-long result, with numbers among
  // the pieces: the result is the interned string of the same bytes.
  CHECK(run(L, R"(
    local src = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
    local count = 0
    for total = 0, 44 do
      local whole = src:sub(1, total)
      for cut = 0, total do
        local a, b = src:sub(1, cut), src:sub(cut + 1, total)
        local r = a .. b
        if r ~= whole or #r ~= total then error("bad " .. cut .. "/" .. total) end
        for cut2 = cut, total do
          local r3 = a .. src:sub(cut + 1, cut2) .. src:sub(cut2 + 1, total)
          if r3 ~= whole then error("bad3 " .. cut .. "/" .. cut2 .. "/" .. total) end
        end
        count = count + 1
      end
    end
    local t = {}
    t["ka" .. "lo"] = 1
    t["k" .. "alo"] = t["k" .. "alo"] + 1
    local mixed = "x" .. 12 .. "y" .. -3 .. 1.5 .. "z"
    return count .. " " .. t.kalo .. " " .. mixed)") == "1035 2 x12y-31.5z");
}

TEST_CASE("string.char builds short results without a buffer, long ones with one", "[string]") {
  StateGuard s;
  State* L = s.L;
  // Lengths on both sides of the short-string limit, the same bytes as
  // string.byte reads back, and the library's errors for bad arguments.
  CHECK(run(L, R"(
    local lens = {}
    for n = 0, 45 do
      local t = {} for i = 1, n do t[i] = (i * 37 + n) % 256 end
      local str = string.char(table.unpack(t))
      if #str ~= n then error("length " .. n) end
      for i = 1, n do if str:byte(i) ~= t[i] then error("byte " .. i .. " of " .. n) end end
      lens[#lens + 1] = #str
    end
    return #lens .. " " .. (string.char(104, 105) == "hi" and "interned" or "?"))") == "46 interned");
  CHECK(run(L, "return select(2, pcall(string.char, 65, 256))") == "bad argument #2 to 'string.char' (value out of range)");
  CHECK(run(L, "return select(2, pcall(string.char, 65, {}))") ==
        "bad argument #2 to 'string.char' (number expected, got table)");
  CHECK(run(L, "local t = {} for i = 1, 41 do t[i] = 66 end t[41] = -1 "
               "return select(2, pcall(string.char, table.unpack(t)))") ==
        "bad argument #41 to 'string.char' (value out of range)");
}

TEST_CASE("userdata starts with nil user values", "[string]") {
  StateGuard s(false);
  State* L = s.L;
  Udata* u = udata_new(L, 100, 3);
  push_raw(L, TValue::object(u));
  CHECK(u->tag == Tag::Userdata);
  CHECK(u->len == 100);
  CHECK(u->nuvalue == 3);
  CHECK(u->metatable == nullptr);
  for (int i = 0; i < 3; i++) CHECK(u->uv[i].is_nil());
  CHECK(reinterpret_cast<uintptr_t>(u->data()) % 16 == 0);
  std::memset(u->data(), 0xab, 100);
  Udata* v = udata_new(L, 0, 0);
  CHECK(v->nuvalue == 0);
  gc_full(L, false);
  CHECK(static_cast<unsigned char*>(u->data())[99] == 0xab);
}

TEST_CASE("pattern classes agree with <ctype.h> for every byte", "[string]") {
  StateGuard s;
  State* L = s.L;
  // The matcher classifies ASCII by a table and asks the C library only
  // above 127: each class letter, both cases, against the current locale.
  REQUIRE(run(L, "function classes(c) local b = string.char(c) local r = '' "
                 "for l in ('acdglpsuwxz'):gmatch('.') do "
                 "r = r .. (b:find('%' .. l) and '1' or '0') .. (b:find('%' .. l:upper()) and '1' or '0') "
                 "end return r end") == "nil");
  for (int c = 0; c < 256; c++) {
    int (*const fns[])(int) = {std::isalpha, std::iscntrl, std::isdigit, std::isgraph, std::islower, std::ispunct,
                               std::isspace, std::isupper, std::isalnum, std::isxdigit};
    std::string want;
    for (auto fn : fns) {
      bool in = fn(c) != 0;
      want += in ? "10" : "01";
    }
    want += c == 0 ? "10" : "01";  // %z
    std::string code = "return classes(" + std::to_string(c) + ")";
    INFO("byte " << c);
    CHECK(run(L, code.c_str()) == want);
  }
}

TEST_CASE("integers as text: every digit count, both signs, the extremes", "[string][number]") {
  // number_to_text writes two digits per division; each length from 1 to 19
  // digits (10^k and 10^k - 1), negatives, and the minimum integer.
  char buf[MAX_NUMBER_TEXT];
  auto text = [&](Integer i) { return std::string(buf, static_cast<size_t>(number_to_text(TValue::integer(i), buf))); };
  Integer p = 1;
  std::string nines;
  for (int k = 1; k <= 18; k++) {
    p *= 10;
    nines += '9';
    CHECK(text(p) == "1" + std::string(static_cast<size_t>(k), '0'));
    CHECK(text(p - 1) == nines);
    CHECK(text(-p) == "-1" + std::string(static_cast<size_t>(k), '0'));
  }
  CHECK(text(0) == "0");
  CHECK(text(7) == "7");
  CHECK(text(-5) == "-5");
  CHECK(text(42) == "42");
  CHECK(text(-305) == "-305");
  CHECK(text(9223372036854775807) == "9223372036854775807");
  CHECK(text(-9223372036854775807 - 1) == "-9223372036854775808");
  CHECK(std::strlen(buf) == 20);  // terminated
}

TEST_CASE("integers as text at every bit length; fixed floats past 2^63", "[string][number]") {
  // The digit count comes from the bit length: each 2^k - 1, 2^k, 2^k + 1
  // and their negatives against snprintf; 20-digit integer parts through
  // float_to_fixed.
  char buf[MAX_NUMBER_TEXT];
  char want[MAX_NUMBER_TEXT];
  for (int k = 0; k < 63; k++) {
    Integer p = Integer(1) << k;
    for (Integer i : {p - 1, p, p + 1, -p, 1 - p}) {
      int n = integer_to_text(i, buf);
      std::snprintf(want, sizeof want, "%lld", static_cast<long long>(i));
      CHECK(std::string(buf, static_cast<size_t>(n)) == want);
    }
  }
  char fixed[MAX_FIXED_TEXT];
  for (double x : {9.999999999999998e18, 1e19, 1.5e19, 1.8446744073709550e19}) {
    int n = float_to_fixed(x, 0, fixed);
    std::snprintf(want, sizeof want, "%.0f", x);
    CHECK(std::string(fixed, static_cast<size_t>(n)) == want);
  }
}

TEST_CASE("find and match of a one-item pattern agree with the full matcher", "[string]") {
  StateGuard s;
  State* L = s.L;
  // A pattern of one single-character item is answered where the search
  // stops (find_aux); wrapped in a capture it goes through do_match. Every
  // start position over every byte, forwards and backwards.
  const char* code = R"lua(
    local bytes = {}
    for c = 0, 255 do bytes[#bytes + 1] = string.char(c) end
    local fwd = table.concat(bytes)
    local subjects = { fwd, fwd:reverse(), "ab \n\t x", "" }
    local pats = { "[^ \n\t]", '["\\]', "[%a_]", "[^%d]", "%s", "%S", "%w", "%A", "x", "*", "]", "[]]",
                   "[^]]", "[a-]", "[%]-]", "[\128-\255]", "[^\1-\127]", "%.", "%%", "[a-c-e]", "-", "%z" }
    for _, sub in ipairs(subjects) do
      for _, p in ipairs(pats) do
        for init = -3, #sub + 2 do
          local i, j = sub:find(p, init)
          local ci, cj = sub:find("(" .. p .. ")", init)
          if i ~= ci or j ~= cj then return p .. " find at " .. init end
          if sub:match(p, init) ~= sub:match("(" .. p .. ")", init) then return p .. " match at " .. init end
        end
      end
    end
    return "ok"
  )lua";
  CHECK(run(L, code) == "ok");
}

namespace {

// The cache entry of pattern pat: in one of its two places, else the first
// (whose bytes then differ).
const PatternCache::Entry& cached(State* L, const char* pat) {
  String* ps = str_new(L, pat, std::strlen(pat));
  const PatternCache::Entry* entries = L->g->patterns.entries;
  const PatternCache::Entry& other = entries[PatternCache::place(ps->hash, 1)];
  if (other.len == ps->len && std::memcmp(other.bytes, pat, other.len) == 0) return other;
  return entries[PatternCache::place(ps->hash, 0)];
}

}  // namespace

TEST_CASE("patterns' first items: cached, their next items and whole runs agree with the matcher", "[string]") {
  StateGuard s;
  State* L = s.L;
  // An optional item that never matches ("[^\0-\255]?") in front of a
  // pattern hides its first item, so the search tries do_match at every
  // position; without it the search skips to starts where the first item
  // and the items after it match (skip_to_start), answers a pattern that
  // is one item, or one with '+', without the matcher, and after a failed
  // start at an item with '+' skips the rest of its run (failed_run_last).
  const char* code = R"lua(
    local bytes = {}
    for c = 0, 255 do bytes[#bytes + 1] = string.char(c) end
    local fwd = table.concat(bytes)
    local subjects = { fwd, fwd:reverse(), "alpha beta  gamma1 x2 ab_c;key=42;", "aa  bb\n\t cc", "" }
    local pats = { "%a+", "[%a_]+", "x+", "[^ \n\t]+", "%S+", "(%a)(%a)%s", "%a%d", "a()b", "(a)(b)", "%s$x",
                   "%a.%d", "((%a)%s)", "key=(%d+);", "%a[%d_]+", "[ab][^ab]", "%w%W%w", "a%a-", "(%a)%1",
                   "(%a+)a%s", "%a+%d", "(%a+)%1", "[ab]+b", "%S+$", "(%a+)()%s", "%a=%d", "%w[%s;]%a",
                   "%a[\128-\255]", ".?%a%a;", "%a%a%d" }
    local hide = "[^\0-\255]?"
    local function list(...)
      local t = table.pack(...)
      for i = 1, t.n do t[i] = tostring(t[i]) end
      return table.concat(t, ",", 1, t.n)
    end
    for round = 1, 2 do  -- the second round finds every pattern cached
      for _, sub in ipairs(subjects) do
        for _, p in ipairs(pats) do
          for init = -2, #sub + 2, 3 do
            local i, j = sub:find(p, init)
            local ci, cj = sub:find(hide .. p, init)
            if i ~= ci or j ~= cj then return p .. " find at " .. init end
          end
          local r, n = sub:gsub(p, "<%0>")
          local cr, cn = sub:gsub(hide .. p, "<%0>")
          if r ~= cr or n ~= cn then return p .. " gsub" end
          local a, b = {}, {}
          for m, n in sub:gmatch(p) do a[#a + 1] = list(m, n) end
          for m, n in sub:gmatch(hide .. p) do b[#b + 1] = list(m, n) end
          if table.concat(a, "|") ~= table.concat(b, "|") then return p .. " gmatch" end
        end
      end
    end
    if ("xa ab c"):find("(%a+)a%s") ~= 1 then return "find (%a+)a%s" end
    if ("ab c"):find("(%a)(%a)%s") ~= 1 then return "last find" end
    return "ok"
  )lua";
  CHECK(run(L, code) == "ok");
  // The cache holds "(%a)(%a)%s" with its first item and the two after it.
  const char* pat = "(%a)(%a)%s";
  const PatternCache::Entry& e = cached(L, pat);
  CHECK(e.len == std::strlen(pat));
  CHECK(std::memcmp(e.bytes, pat, e.len) == 0);
  CHECK(e.plan.has_first == 1);
  CHECK(e.plan.p_off == 1);
  CHECK(e.plan.literal == 0);
  CHECK(e.plan.nnext == 2);
  CHECK(e.plan.run_fails == 0);
  CHECK(e.plan.anchor == 2);  // the search scans for the white space
  // The items' ASCII members: letters, then white space.
  CHECK(((e.plan.next_ascii[0][1] >> ('q' - 64)) & 1) == 1);
  CHECK(((e.plan.next_ascii[0][0] >> ' ') & 1) == 0);
  CHECK(((e.plan.next_ascii[1][0] >> ' ') & 1) == 1);
  CHECK(((e.plan.next_ascii[1][1] >> ('q' - 64)) & 1) == 0);
  // "(%a+)a%s": a start that fails skips the rest of its run of letters.
  const char* plus = "(%a+)a%s";
  const PatternCache::Entry& f = cached(L, plus);
  if (f.len == std::strlen(plus) && std::memcmp(f.bytes, plus, f.len) == 0)  // not replaced by the later one
    CHECK(f.plan.run_fails == 1);
}

TEST_CASE("gsub keeps its pattern's plan while its replacement function uses other patterns", "[string]") {
  StateGuard s;
  State* L = s.L;
  // The function's gsub calls take every cache entry (16 entries, 40
  // patterns), the outer pattern's included; the outer search must still
  // skip by its own first item ('|') and next item ('x').
  const char* code = R"lua(
    local pats = {}
    for k = 1, 40 do pats[k] = string.rep("%a", k % 7 + 1) .. k end
    local function f(a)
      for _, p in ipairs(pats) do a:gsub(p, "") end
      return "<" .. a .. ">"
    end
    local r, n = ("a|xb|c|xd| |x"):gsub("|x(%a)", f)
    if r ~= "a<b>|c<d>| |x" or n ~= 2 then return r .. " " .. n end
    return "ok"
  )lua";
  CHECK(run(L, code) == "ok");
}

TEST_CASE("fixed patterns: captures and ends without the matcher agree with it", "[string]") {
  StateGuard s;
  State* L = s.L;
  // Each pattern is single-byte items and captures only (Fixed): where the
  // search stops, the match and its captures are known. The same pattern
  // behind an item that never matches runs the matcher.
  const char* code = R"lua(
    local subjects = { "alpha beta  gamma1 x2 ab_c;key=42; xy ab", "aa  bb\n\t cc a1b2", "" }
    local pats = { "(%a)(%a)%s", "a()b", "(a)(b)", "((%a)%s)", "(%a%s", "x(()y)", "()%d()", "%a(%d)",
                   "(((((((%a)))))))", "((((((((%a))))))))", "(((((((((%a)))))))))", "[ab](.)(%s)",
                   "(%a)%s()", "%a)", "()" }
    local hide = "[^\0-\255]?"
    local function list(ok, ...)
      local t = table.pack(...)
      for i = 1, t.n do t[i] = tostring(t[i]) end
      return tostring(ok) .. ":" .. table.concat(t, ",", 1, t.n)
    end
    local function all(f, ...) return list(pcall(f, ...)) end
    local function iter(sub, p)
      local out = {}
      for a, b, c in sub:gmatch(p) do out[#out + 1] = list(true, a, b, c) end
      return table.concat(out, "|")
    end
    for round = 1, 2 do
      for _, sub in ipairs(subjects) do
        for _, p in ipairs(pats) do
          for init = 1, #sub + 1, 2 do
            if all(string.find, sub, p, init) ~= all(string.find, sub, hide .. p, init) then return p .. " find" end
            if all(string.match, sub, p, init) ~= all(string.match, sub, hide .. p, init) then return p .. " match" end
          end
          if all(string.gsub, sub, p, "<%1>") ~= all(string.gsub, sub, hide .. p, "<%1>") then return p .. " gsub" end
          if all(iter, sub, p) ~= all(iter, sub, hide .. p) then return p .. " gmatch" end
        end
      end
    end
    if ("axy"):find("x(()y)") ~= 2 then return "find x(()y)" end  -- its entry, checked below
    return "ok"
  )lua";
  CHECK(run(L, code) == "ok");
  const char* pat = "x(()y)";
  const PatternCache::Entry& e = cached(L, pat);
  CHECK(e.plan.whole == 3);
  CHECK(e.plan.ncap == 2);
  CHECK(e.plan.cap[0][0] == 1);
  CHECK(e.plan.cap[0][1] == 1);
  CHECK(e.plan.cap[1][1] == FirstPlan::CAP_AT);
  CHECK(e.plan.fixed_steps == 4);
}

TEST_CASE("gsub's compiled patterns agree with the matcher", "[string]") {
  StateGuard s;
  State* L = s.L;
  // Each pattern is at most eight captures and single-character items
  // with quantifiers (SeqPlan): gsub with a string replacement matches it
  // by seq_match. Behind three items that never match the pattern is too
  // long for the cache, and do_match matches it.
  const char* code = R"lua(
    local subjects = { "alpha beta  gamma1 x2 ab_c;key=42; xy ab", "aa  bb\n\t cc a1b2 ba", "",
                       "\200\201a \255b\0c aab abba", "kappa lambda 17 mu; theta" }
    local pats = { "(%a+)a%s", "%a*(%d)", "(%a)-b", "x?%a+()", "(a*)(b?)", "[ab]+()[^ab]", "(.-)%s",
                   "%s*(%w+)=(%d+);", "(%a+", "()a-()", ".?.?b", "%a+%a", "([\128-\255]+)(.)",
                   "(%a)(%a*)%a", "a+b*a", "((%a)%a?)" }
    local hide = string.rep("[^\0-\255]?", 3)
    local function list(ok, ...)
      local t = table.pack(...)
      for i = 1, t.n do t[i] = tostring(t[i]) end
      return tostring(ok) .. ":" .. table.concat(t, ",", 1, t.n)
    end
    local function all(f, ...) return list(pcall(f, ...)) end
    for round = 1, 2 do
      for _, sub in ipairs(subjects) do
        for _, p in ipairs(pats) do
          for _, r in ipairs({ "<%0>", "<%1|%2>", "" }) do
            if all(string.gsub, sub, p, r) ~= all(string.gsub, sub, hide .. p, r) then return p .. " " .. r end
            if all(string.gsub, sub, p, r, 2) ~= all(string.gsub, sub, hide .. p, r, 2) then return p .. " 2" end
          end
        end
      end
    end
    if ("kappa beta"):gsub("(%a+)a%s", "%1A ") ~= "kappA beta" then return "(%a+)a%s" end
    return "ok"
  )lua";
  CHECK(run(L, code) == "ok");
  const PatternCache::Entry& e = cached(L, "(%a+)a%s");
  REQUIRE(e.seq.nops == 5);
  CHECK(e.seq.ops[0].kind == SeqPlan::OPEN);
  CHECK(e.seq.ops[1].quant == '+');
  CHECK(e.seq.ops[1].lit == 'a');
  CHECK(e.seq.ops[2].kind == SeqPlan::CLOSE);
  CHECK(e.seq.ops[2].cap == 0);
  CHECK(run(L, "return (('x'):gsub('(%a+', '<%0>'))") == "<x>");
  CHECK(cached(L, "(%a+").seq.nops == 2);  // an unfinished capture is kept
}

TEST_CASE("find's and match's compiled patterns agree with the matcher", "[string]") {
  StateGuard s;
  State* L = s.L;
  // As gsub's test: find and match use seq_match for a cached compiled
  // pattern, do_match for its twin behind three never-matching items;
  // from every start, position captures and unfinished captures included.
  const char* code = R"lua(
    local subjects = { "alpha beta  gamma1 x2 ab_c;key=42; xy ab", "aa  bb\n\t cc a1b2 ba", "",
                       "\200\201a \255b\0c aab abba", "kappa lambda 17 mu; theta" }
    local pats = { "(%a+)a%s", "%a*(%d)", "(%a)-b", "x?%a+()", "(a*)(b?)", "[ab]+()[^ab]", "(.-)%s",
                   "key=(%d+);", "(%a+", "()a-()", ".?.?b", "%a+%a", "([\128-\255]+)(.)",
                   "(%a)(%a*)%a", "a+b*a", "((%a)%a?)" }
    local hide = string.rep("[^\0-\255]?", 3)
    local function list(ok, ...)
      local t = table.pack(...)
      for i = 1, t.n do t[i] = tostring(t[i]) end
      return tostring(ok) .. ":" .. table.concat(t, ",", 1, t.n)
    end
    local function all(f, ...) return list(pcall(f, ...)) end
    for _, sub in ipairs(subjects) do
      for _, p in ipairs(pats) do
        for init = -3, #sub + 2 do
          if all(string.find, sub, p, init) ~= all(string.find, sub, hide .. p, init) then return "find " .. p end
          if all(string.match, sub, p, init) ~= all(string.match, sub, hide .. p, init) then return "match " .. p end
        end
      end
    end
    local a, b, v = ("k key=x; key=917; z"):find("key=(%d+);")
    if a ~= 10 or b ~= 17 or v ~= "917" then return "key=(%d+);" end
    return "ok"
  )lua";
  CHECK(run(L, code) == "ok");
  CHECK(cached(L, "key=(%d+);").seq.nops == 8);
}

TEST_CASE("a string and an integer concatenate in either order, up to a long result", "[string]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local long = string.rep("x", 40)
    local r = {
      "bad " .. 7, 7 .. " bad", "" .. 0, -5 .. "", "m" .. math.mininteger, math.maxinteger .. "M",
      long .. 123, -123 .. long, ("a"):rep(20) .. math.mininteger,
    }
    r[#r + 1] = tostring(r[1] == "bad 7") .. tostring(#r[7] == 43 and #r[8] == 44 and #r[9] == 40)
    return table.concat(r, "|"))") ==
        "bad 7|7 bad|0|-5|m-9223372036854775808|9223372036854775807M|" + std::string(40, 'x') + "123|-123" +
            std::string(40, 'x') + "|" + std::string(20, 'a') + "-9223372036854775808|truetrue");
}
