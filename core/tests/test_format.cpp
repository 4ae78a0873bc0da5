// string.format (lib/string_format.cpp) against Lua 5.4.8's results, and
// the number formatting it uses (number.cpp) against snprintf.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "format_item.hpp"
#include "state.hpp"
#include "test_support.hpp"

using namespace luna;
using namespace std::literals;
using luna::test::StateGuard;

namespace {

// The result of a chunk as a string of any bytes, or "error: " and the
// message without its position.
std::string run_bytes(State* L, const std::string& code) {
  if (load_string(L, code.c_str()) != OK || pcall(L, 0, 1, 0) != OK) {
    std::string msg = to_string(L, -1) ? to_string(L, -1) : "?";
    pop(L, 1);
    size_t at = msg.find("]:1: ");
    return "error: " + (at == std::string::npos ? msg : msg.substr(at + 5));
  }
  size_t len = 0;
  const char* s = to_lstring(L, -1, &len);
  std::string r = s ? std::string(s, len) : "?";
  pop(L, 1);
  return r;
}

struct FormatCase {
  const char* args;            // string.format's arguments, in Lua
  std::string_view expected;   // the 5.4.8 oracle's result
};

// Taken from build/conformance/difftest/lua-oracle (PUC-Rio 5.4.8).
const FormatCase kCases[] = {
    {"\"%d|%5d|%-5d|%05d|%+d|% d\", 42, 42, 42, -42, 7, 7",
     "42|   42|42   |-0042|+7| 7"sv},
    {"\"%.3d|%8.3d|%-8.3d|%08.3d|%.0d|%.0d\", 5, -5, 5, 5, 0, 1",
     "005|    -005|005     |     005||1"sv},
    {"\"%x|%X|%#x|%#X|%08x|%#08x|%-#8x|%#x\", 255, 255, 255, 255, 255, 255, 255, 0",
     "ff|FF|0xff|0XFF|000000ff|0x0000ff|0xff    |0"sv},
    {"\"%x|%.4x|%#.4x\", -1, 10, 10",
     "ffffffffffffffff|000a|0x000a"sv},
    {"\"%d|%d|%i\", math.maxinteger, math.mininteger, 3.0",
     "9223372036854775807|-9223372036854775808|3"sv},
    {"\"%5s|%-5s|%.2s|%5.1s|%-5.3s|%s\", 'ab', 'ab', 'abcdef', 'xyz', 'abcdef', 'a\\0b'",
     "   ab|ab   |ab|    x|abc  |a\0b"sv},
    {"\"%s|%s|%5s|%-6s|%s\", 12, -1.5, 2^53, 1e100, 0/0 ~= 0/0",
     "12|-1.5|9.007199254741e+15|1e+100|true"sv},
    {"\"%c%c%c|%3c|%-3c|\", 76, 117, 97, 65, 66",
     "Lua|  A|B  |"sv},
    {"\"%.3f|%8.2f|%-8.2f|%08.2f|%+.1f|% .1f|%+08.3f\", 1/3, 2.675, 2.675, -2.675, 0.25, 0.35, -1.0005",
     "0.333|    2.67|2.67    |-0002.67|+0.2| 0.3|-001.000"sv},
    {"\"%.0f|%.0f|%.0f|%.0f|%.1f|%.1f|%.2f\", 0.5, 1.5, 2.5, -0.5, 0.05, 0.25, 1.005",
     "0|2|2|-0|0.1|0.2|1.00"sv},
    {"\"%f|%f|%.3f|%.0f\", -0.0, 1e-310, -1e-9, 1e300",
     "-0.000000|0.000000|-0.000|1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160"sv},
    {"\"%.19f|%.20f|%.25f|%.99f\", 1/3, 1/3, 0.1, 2^-60",
     "0.3333333333333333148|0.33333333333333331483|0.1000000000000000055511151|0.000000000000000000867361737988403547205962240695953369140625000000000000000000000000000000000000000"sv},
    {"\"%f|%.2f|%f\", 2^63, 1e19, 123456789012345678",
     "9223372036854775808.000000|10000000000000000000.00|123456789012345680.000000"sv},
    {"\"%f|%5.1f|%-6f|%06f|%+f|%F\", 1/0, -1/0, 0/0, 1/0, 1/0, 0",
     "error: invalid conversion '%F' to 'format'"sv},
    {"\"%e|%.3e|%E|%.0e|%+e|%012.3e\", 123456.789, 1/3, 1e-300, 5e20, 0, -1.5",
     "1.234568e+05|3.333e-01|1.000000E-300|5e+20|+0.000000e+00|-001.500e+00"sv},
    {"\"%g|%g|%g|%g|%.3g|%.0g|%G|%g\", 100000, 1000000, 1e-4, 1e-5, 2/3, 123, 1e-20, 0.5",
     "100000|1e+06|0.0001|1e-05|0.667|1e+02|1E-20|0.5"sv},
    {"\"%10.4g|%-10.4g|%010.4g|%+g|% g\", math.pi, math.pi, -math.pi, 1, 1",
     "     3.142|3.142     |-00003.142|+1| 1"sv},
    {"\"%g|%e|%G|%E\", 0/0, -(0/0), 1/0, -1/0",
     "-nan|nan|INF|-INF"sv},
    {"\"%%|%5%%|100%%\"",
     "error: bad argument #2 to 'format' (no value)"sv},
    {"\"%a|%o|%q|%5.2s\", 1.0, 8, 'a\\nb', 'xyz'",
     "0x1p+0|10|\"a\\\nb\"|   xy"sv},
    {"\"%#g|%#.0f|%#e|%#o\", 1.5, 3, 2, 8",
     "1.50000|3.|2.000000e+00|010"sv},
    {"\"%d\", '12'",
     "12"sv},
    {"\"%d\", 1.5",
     "error: bad argument #2 to 'format' (number has no integer representation)"sv},
    {"\"%d\", 'x'",
     "error: bad argument #2 to 'format' (number expected, got string)"sv},
    {"\"%f\", '1e2'",
     "100.000000"sv},
    {"\"%f\", {}",
     "error: bad argument #2 to 'format' (number expected, got table)"sv},
    {"\"%5s\", 'a\\0b'",
     "error: bad argument #2 to 'format' (string contains zeros)"sv},
    {"\"%d %d\", 1",
     "error: bad argument #3 to 'format' (no value)"sv},
    {"\"%100d\", 1",
     "error: invalid conversion specification: '%100d'"sv},
    {"\"%.100f\", 1",
     "error: invalid conversion specification: '%.100f'"sv},
    {"\"%------5d\", 1",
     "1    "sv},
    {"\"%05s\", 'a'",
     "error: invalid conversion specification: '%05s'"sv},
    {"\"%+s\", 'a'",
     "error: invalid conversion specification: '%+s'"sv},
    {"\"%#d\", 1",
     "error: invalid conversion specification: '%#d'"sv},
    {"\"%+x\", 1",
     "error: invalid conversion specification: '%+x'"sv},
    {"\"%.3c\", 65",
     "error: invalid conversion specification: '%.3c'"sv},
    {"\"%y\", 1",
     "error: invalid conversion '%y' to 'format'"sv},
    {"\"abc%\", 1",
     "error: invalid conversion '%' to 'format'"sv},
    {"\"%s|%10s|%-10s|%.3s\", setmetatable({}, {__tostring = function() return 'obj' end}), setmetatable({}, {__tostring = function() return 'obj' end}), setmetatable({}, {__tostring = function() return 'obj' end}), setmetatable({}, {__tostring = function() return 'object' end})",
     "obj|       obj|obj       |obj"sv},
    {"\"%s|%5s\", true, nil",
     "true|  nil"sv},
    {"\"%s\", setmetatable({}, {__tostring = function() return 1 end})",
     "1"sv},
};

// An LCG, so that the values are the same on every run.
uint64_t next_random(uint64_t* state) {
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return *state >> 11;
}

}  // namespace

TEST_CASE("string.format gives Lua 5.4.8's results", "[format]") {
  StateGuard s;
  for (const FormatCase& c : kCases) {
    INFO("string.format(" << c.args << ")");
    CHECK(run_bytes(s.L, std::string("return string.format(") + c.args + ")") == c.expected);
  }
}

TEST_CASE("float_to_fixed writes printf's digits", "[format]") {
  char mine[MAX_FIXED_TEXT], theirs[MAX_FIXED_TEXT];
  auto check = [&](double x, int precision) {
    int n = float_to_fixed(x, precision, mine);
    int m = std::snprintf(theirs, sizeof theirs, "%.*f", precision, x);
    INFO(theirs << " precision " << precision);
    REQUIRE(std::string_view(mine, static_cast<size_t>(n)) == std::string_view(theirs, static_cast<size_t>(m)));
  };
  uint64_t state = 13;
  for (int i = 0; i < 20000; i++) {
    // any bits (every exponent), then values near the decimal scale: ties
    // k/2^j, and numbers with a few digits before and after the point
    uint64_t bits = next_random(&state) << 11 | next_random(&state) >> 42;
    double x;
    std::memcpy(&x, &bits, sizeof x);
    int precision = static_cast<int>(next_random(&state) % 30);
    if (std::isfinite(x)) check(x, precision);
    double tie = static_cast<double>(next_random(&state) % 100000) / static_cast<double>(1u << (next_random(&state) % 12));
    check(tie, static_cast<int>(next_random(&state) % 8));
    check(-tie, static_cast<int>(next_random(&state) % 8));
    double scaled = std::ldexp(static_cast<double>(next_random(&state) % (1ull << 53)), -static_cast<int>(next_random(&state) % 80));
    check(scaled, precision);
  }
  for (double x : {0.0, -0.0, 0.5, 1.5, 2.5, -0.5, 1e-320, 5e-324, 1e19, 1.8446744073709552e19, 1e22, 1e308, -1e308, 0.1, 0.7})
    for (int p : {0, 1, 2, 3, 6, 17, 18, 19, 20, 27, 99}) check(x, p);
  // Integer and fraction parts on either side of 2^32, where the digits
  // are taken in 32 or 64 bits.
  for (double x : {4294967295.75, 4294967296.25, 4294967299.5, -4294967296.125, 0.4294967295, 0.4294967296, 12.3456789012345})
    for (int p = 0; p <= 19; p++) check(x, p);
}

TEST_CASE("plain %.Nf items written in place agree with snprintf", "[format]") {
  // format_float_item's in-place case: no flags, precision 0 to 4, |x|
  // below 1e14, padded by moving the text; the values at its edges too.
  char mine[MAX_FORMAT_ITEM], theirs[MAX_FORMAT_ITEM];
  auto check = [&](double x, int precision, int width) {
    FormatSpec spec;
    spec.conv = 'f';
    spec.precision = static_cast<int8_t>(precision);
    spec.width = static_cast<uint8_t>(width);
    size_t n = format_float_item(spec, x, mine);
    int m = std::snprintf(theirs, sizeof theirs, "%*.*f", width, precision, x);
    INFO(theirs << " width " << width << " precision " << precision);
    REQUIRE(std::string_view(mine, n) == std::string_view(theirs, static_cast<size_t>(m)));
  };
  uint64_t state = 29;
  for (int i = 0; i < 20000; i++) {
    double x = std::ldexp(static_cast<double>(next_random(&state) % (1ull << 53)), -static_cast<int>(next_random(&state) % 90));
    if (next_random(&state) % 2 != 0) x = -x;
    check(x, static_cast<int>(next_random(&state) % 6), static_cast<int>(next_random(&state) % 24));
  }
  for (double x : {0.0, -0.0, 0.0005, -0.0005, 0.00005, 2.5, 0.125, 99999.9995, 99999999999999.9, 1e14, -1e14, 1e15,
                   std::nan(""), HUGE_VAL, -HUGE_VAL})
    for (int p = 0; p <= 5; p++)
      for (int w : {0, 1, 5, 8, 20}) check(x, p, w);
}

TEST_CASE("float_to_short_g writes printf's %g of short decimals", "[format]") {
  char mine[MAX_FIXED_TEXT], theirs[MAX_FIXED_TEXT];
  int taken = 0;
  auto check = [&](double x, int precision) {
    int n = float_to_short_g(x, precision, mine);
    if (n < 0) return;  // printf's way
    taken++;
    int m = std::snprintf(theirs, sizeof theirs, "%.*g", precision, x);
    INFO(theirs << " precision " << precision);
    REQUIRE(std::string_view(mine, static_cast<size_t>(n)) == std::string_view(theirs, static_cast<size_t>(m)));
  };
  uint64_t state = 29;
  for (int i = 0; i < 40000; i++) {
    int precision = 1 + static_cast<int>(next_random(&state) % 15);
    // decimals of a few digits (their doubles are near, not at, them), the
    // doubles next to them, and any bits
    double dec = static_cast<double>(next_random(&state) % 100000000) /
                 std::pow(10.0, static_cast<double>(next_random(&state) % 14));
    check(dec, precision);
    check(-dec, precision);
    check(std::nextafter(dec, 1e300), precision);
    check(std::nextafter(dec, 0.0), precision);
    uint64_t bits = next_random(&state) << 11 | next_random(&state) >> 42;
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (std::isfinite(x)) check(x, precision);
  }
  for (double x : {0.25, 249.25, 0.1, 0.3, 0.1 + 0.2, 1e-4, 9.5e-5, 1e-4 * 0.99999, 99999999999999.5, 999999999999999.0,
                   0.999999999999999, 9.9999999999999995, 1.0000000000000002, 12345678901234.5, 65536.015625})
    for (int p = 1; p <= 15; p++) check(x, p);
  CHECK(taken > 20000);  // the fast way was taken, not only declined
  CHECK(float_to_short_g(0.0, 14, mine) < 0);
  CHECK(float_to_short_g(1e15, 15, mine) < 0);
  CHECK(float_to_short_g(0.5, 16, mine) < 0);
}

TEST_CASE("number_to_text of floats writes printf's %.14g", "[format]") {
  char mine[MAX_NUMBER_TEXT], theirs[MAX_NUMBER_TEXT];
  auto check = [&](double x) {
    int n = number_to_text(TValue::number(x), mine);
    int m = std::snprintf(theirs, sizeof theirs, "%.14g", x);
    if (theirs[std::strspn(theirs, "-0123456789")] == '\0') m += std::snprintf(theirs + m, sizeof theirs - static_cast<size_t>(m), ".0");
    INFO(theirs);
    REQUIRE(std::string_view(mine, static_cast<size_t>(n)) == std::string_view(theirs, static_cast<size_t>(m)));
    REQUIRE(mine[n] == '\0');
  };
  uint64_t state = 29;
  for (int i = 0; i < 50000; i++) {
    uint64_t bits = next_random(&state) << 11 | next_random(&state) >> 42;
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (std::isfinite(x)) check(x);
    check(static_cast<double>(next_random(&state) % 10000000) / std::pow(10.0, static_cast<double>(next_random(&state) % 12)));
    check(std::ldexp(static_cast<double>(next_random(&state) % (1ull << 53)), -static_cast<int>(next_random(&state) % 80)));
  }
  for (double x : {0.1, 1.0 / 3, 99999999999999.5, 1e14, 1e15, 123456789012345.6, 5e-324, 1e-310, 1.7976931348623157e308,
                   -0.0, 0.5, 2.5e-5, 1e100})
    check(x);
}

TEST_CASE("table.concat of strings, numbers and separators", "[format]") {
  StateGuard g;
  State* L = g.L;
  CHECK(run_bytes(L, "return table.concat({'a', 'bb', 'ccc'}, ', ')") == "a, bb, ccc");
  CHECK(run_bytes(L, "return table.concat({'a', 2, 'c', 4.5, string.rep('x', 20)}, '--')") ==
        "a--2--c--4.5--xxxxxxxxxxxxxxxxxxxx");
  CHECK(run_bytes(L, "return table.concat({'a', 'b', 'c', 'd'}, string.rep('-', 17), 2, 3)") ==
        "b-----------------c");
  CHECK(run_bytes(L, "local t = {'a', 'b'} t[4] = 'd' return table.concat(t, ',', 1, 4)") ==
        "error: invalid value (nil) at index 3 in table for 'concat'");
  CHECK(run_bytes(L, "local t = setmetatable({'a'}, {__index = function(_, i) return 'i' .. i end}) "
                     "return table.concat(t, '', 1, 3)") == "ai2i3");
  CHECK(run_bytes(L, "return table.concat({}, 'x', 1, 0)") == "");
  CHECK(run_bytes(L, "return table.concat({'a\\0b', 'c'}, '\\0')") == "a\0b\0c"s);
}

TEST_CASE("table.concat of array strings makes its result at its size", "[format]") {
  StateGuard g;
  State* L = g.L;
  // Short and long results, separators short and long, ranges; a piece
  // that is not a string takes the general way from the start.
  CHECK(run_bytes(L, "local t = {} for i = 1, 2000 do t[i] = 'p' .. i end "
                     "local s = table.concat(t, ';') return #s .. s:sub(1, 12) .. s:sub(-10)") ==
        "10892p1;p2;p3;p4;1999;p2000");
  CHECK(run_bytes(L, "return table.concat({'ab', 'cd', 'ef'}, string.rep('=', 20), 2, 3)") ==
        "cd====================ef");
  CHECK(run_bytes(L, "local t = {'a', 'b', 'c', 'd'} return table.concat(t, 'x', 2, 4)") == "bxcxd");
  CHECK(run_bytes(L, "return table.concat({string.rep('a', 30), string.rep('b', 10)})") ==
        std::string(30, 'a') + std::string(10, 'b'));
  CHECK(run_bytes(L, "return table.concat({string.rep('a', 30), string.rep('b', 11)})") ==
        std::string(30, 'a') + std::string(11, 'b'));
  CHECK(run_bytes(L, "return table.concat({'a', 'b', {}, 'c'}, ',')") ==
        "error: invalid value (table) at index 3 in table for 'concat'");
  CHECK(run_bytes(L, "return tostring(math.type(table.concat({'1', 2})))") == "nil");
  // 100 000 bytes from 1 000 pieces under a limit about 40 000 bytes above
  // what the pieces and the result take: a buffer growing by doubling
  // (131 072 bytes besides the result) does not fit.
  CHECK(run_bytes(L, "big = {} for i = 1, 1000 do big[i] = string.rep(string.char(65 + i % 26), 100) end "
                     "collectgarbage() collectgarbage('stop') return 'ok'") == "ok");
  GlobalState* gs = L->g;
  size_t limit = gs->memlimit;
  gs->memlimit = gs->totalbytes + 140000;
  CHECK(run_bytes(L, "local s = table.concat(big) return #s .. s:sub(99, 102)") == "100000BBCC");
  gs->memlimit = limit;
}

TEST_CASE("decimal items without a precision agree with snprintf", "[format]") {
  // format_integer_item's in-place case: '%d', '%0Nd', '%Nd' and '%i' of
  // values at every digit count, both signs and the extremes.
  std::vector<Integer> values = {0, 7, 42, 99999, 9223372036854775807, -9223372036854775807 - 1};
  Integer p = 1;  // 10^k, up to 10^18: one more step would overflow
  for (int k = 0; k < 19; k++) {
    if (k > 0) p *= 10;
    for (Integer v : {p - 1, p, p + 1}) values.insert(values.end(), {v, -v});
  }
  char out[MAX_FORMAT_ITEM];
  char want[128];
  for (const char* fmt : {"%d", "%i", "%1d", "%3d", "%5d", "%05d", "%020d", "%21d", "%099d", "%99i", "%0i"}) {
    FormatSpec spec;
    const char* f = fmt + 1;
    REQUIRE(format_parse_spec(f, f + std::strlen(f), &spec) == f + std::strlen(f));
    for (Integer v : values) {
      size_t n = format_integer_item(spec, v, out);
      std::snprintf(want, sizeof want, (std::string(fmt).substr(0, std::strlen(fmt) - 1) + "lld").c_str(),
                    static_cast<long long>(v));
      CHECK(std::string(out, n) == want);
    }
  }
}

TEST_CASE("hex items without a precision agree with snprintf", "[format]") {
  // format_integer_item's in-place case for '%x' and '%X': every digit
  // count, negative values as their 64-bit pattern, zero padding.
  std::vector<Integer> values = {0, 1, 15, 16, 255, 9223372036854775807, -9223372036854775807 - 1, -1, -16};
  for (int k = 0; k < 64; k += 3) values.push_back(static_cast<Integer>(uint64_t(0x9e3779b97f4a7c15) >> k));
  char out[MAX_FORMAT_ITEM];
  char want[128];
  for (const char* fmt : {"%x", "%X", "%1x", "%5x", "%05X", "%016x", "%017X", "%099x", "%0x"}) {
    FormatSpec spec;
    const char* f = fmt + 1;
    REQUIRE(format_parse_spec(f, f + std::strlen(f), &spec) == f + std::strlen(f));
    for (Integer v : values) {
      size_t n = format_integer_item(spec, v, out);
      std::string c(fmt);
      std::snprintf(want, sizeof want, (c.substr(0, c.size() - 1) + "ll" + c.back()).c_str(),
                    static_cast<unsigned long long>(v));
      CHECK(std::string(out, n) == want);
    }
  }
}

TEST_CASE("digits_before writes an integer's digits", "[format]") {
  char buf[24];
  // Around 2^32, where the pairs change from 64-bit to 32-bit division.
  for (uint64_t m : {0ull, 9ull, 10ull, 99ull, 100ull, 12345ull, 4294967295ull, 4294967296ull, 4294967299ull,
                     429496729500ull, 18446744073709551615ull, 10000000000000000000ull}) {
    char* start = digits_before(m, buf + sizeof buf);
    CHECK(std::string(start, buf + sizeof buf) == std::to_string(m));
  }
}

TEST_CASE("string.format past its local array and through __tostring", "[format]") {
  StateGuard s;
  // The result outgrows the local array (512 bytes) in the middle of a
  // conversion, before and after a __tostring call, and a long %s.
  CHECK(run_bytes(s.L, R"(
    local t = setmetatable({}, {__tostring = function() return "T" end})
    local long = string.rep("x", 700)
    local parts, fmt, args = {}, {}, {}
    for i = 1, 300 do
      fmt[#fmt + 1] = "%5d|%-4s|%.2f|%s;"
      args[#args + 1] = i args[#args + 1] = t args[#args + 1] = i / 4 args[#args + 1] = long:sub(1, i)
      parts[#parts + 1] = string.rep(" ", 5 - #tostring(i)) .. i .. "|T   |" ..
        string.format("%d.%02d", i // 4, i % 4 * 25) .. "|" .. long:sub(1, i) .. ";"
    end
    local got = string.format(table.concat(fmt), table.unpack(args))
    return tostring(got == table.concat(parts)) .. " " .. #got .. " " ..
      tostring(string.format("%s%10s|%-3s|%s", long, t, t, long) == long .. "         T|T  |" .. long))") ==
        "true 50511 true");
}

TEST_CASE("%s runs the string metatable's __tostring set after a format", "[format]") {
  StateGuard s;
  // The first format caches __tostring as absent in the metatable's flags;
  // setting it must clear that.
  CHECK(run_bytes(s.L, R"(
    local before = string.format("%s|%5s", "ab", "cd")
    getmetatable("").__tostring = function(x) return "S<" .. x .. ">" end
    local during = string.format("%s|%5s|%-9s|%.2s", "ab", "cd", "ef", "gh")
    getmetatable("").__tostring = nil
    return before .. " " .. during .. " " .. string.format("%s|%5s", "ab", "cd"))") ==
        "ab|   cd S<ab>|S<cd>|S<ef>    |S< ab|   cd");
}

TEST_CASE("the decimal point is asked again only after os.setlocale", "[format]") {
  StateGuard s;
  CHECK(format_point_is_dot());
  CHECK(run_bytes(s.L, "return string.format('%.1f', 1.5) .. 2.5") == "1.52.5");
  // With a locale whose point is a comma (where one is installed), the
  // direct conversions step aside at once and come back after "C".
  std::string switched = run_bytes(s.L, R"(
    local r = {}
    for _, name in ipairs({"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"}) do
      if os.setlocale(name, "numeric") then
        r[#r + 1] = string.format("%.1f", 1.5) == "1,5" and "comma" or "?"
        break
      end
    end
    os.setlocale("C", "numeric")
    r[#r + 1] = string.format("%.1f %g", 1.5, 2.5)
    return table.concat(r, " "))");
  CHECK((switched == "1.5 2.5" || switched == "comma 1.5 2.5"));
  CHECK(format_point_is_dot());
  format_point_changed();
  CHECK(format_point_is_dot());
}
