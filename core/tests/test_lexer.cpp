// Lexer tests: token streams straight from Lexer, and numerals, escapes,
// long strings and error messages through load().
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lexer.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::StateGuard;

namespace {


// Tokens of src (up to and excluding TK_EOS); a lexical error yields its
// message as the last element, prefixed with "error: ".
std::vector<std::string> tokens(const std::string& src) {
  StateGuard s(false);
  State* L = s.L;
  std::vector<std::string> out;
  uint8_t saved = L->g->gcstp;
  L->g->gcstp |= 2;  // token strings are not anchored, as during compilation
  try {
    Lexer lx(L, src.data(), src.size(), str_new_cstr(L, "=test"));
    for (lx.next(); lx.t.token != TK_EOS; lx.next()) {
      int tk = lx.t.token;
      switch (tk) {
        case TK_NAME: out.push_back("name:" + std::string(lx.t.seminfo.ts->c_str())); break;
        case TK_STRING:
          out.push_back("str:" + std::string(lx.t.seminfo.ts->c_str(), lx.t.seminfo.ts->len));
          break;
        case TK_INT: out.push_back("int:" + std::to_string(lx.t.seminfo.i)); break;
        case TK_FLT: {
          char buf[MAX_NUMBER_TEXT];
          number_to_text(TValue::number(lx.t.seminfo.r), buf);
          out.push_back(std::string("flt:") + buf);
          break;
        }
        default: out.push_back(lx.token_to_str(tk)); break;
      }
    }
  } catch (const LuaThrow&) {
    out.push_back("error: " + std::string(to_string(L, -1)));
  }
  L->g->gcstp = saved;
  return out;
}

// The message load() gives for src, or "" when it compiles.
std::string load_error(const std::string& src) {
  StateGuard s(false);
  if (load_bufferx(s.L, src.data(), src.size(), src.c_str(), "t") == OK) return "";
  return to_string(s.L, -1);
}

// Runs "return <expr>" and gives the result as tostring would show it, with
// "(int)" or "(flt)" appended for numbers.
std::string eval(const std::string& expr) {
  StateGuard s(false);
  State* L = s.L;
  open_libs(L);
  std::string src = "return " + expr;
  if (load_string(L, src.c_str()) != OK) return std::string("load error: ") + to_string(L, -1);
  if (pcall(L, 0, 1, 0) != OK) return std::string("run error: ") + to_string(L, -1);
  if (type(L, -1) == TNUMBER) {
    bool isint = is_integer(L, -1);
    std::string text = to_string(L, -1);
    return text + (isint ? "(int)" : "(flt)");
  }
  size_t len;
  const char* str = to_lstring(L, -1, &len);
  return str ? std::string(str, len) : std::string(typename_at(L, -1));
}

}  // namespace

TEST_CASE("operators and punctuation", "[lexer]") {
  auto t = tokens("+ - * / // % ^ # & ~ | << >> == ~= <= >= < > = ( ) { } [ ] :: ; : , . .. ...");
  std::vector<std::string> want = {"'+'", "'-'", "'*'", "'/'", "'//'", "'%'", "'^'", "'#'",
                                   "'&'", "'~'", "'|'", "'<<'", "'>>'", "'=='", "'~='", "'<='",
                                   "'>='", "'<'", "'>'", "'='", "'('", "')'", "'{'", "'}'",
                                   "'['", "']'", "'::'", "';'", "':'", "','", "'.'", "'..'",
                                   "'...'"};
  CHECK(t == want);
}

TEST_CASE("names and reserved words", "[lexer]") {
  auto t = tokens("and break do else elseif end false for function goto if in local nil not "
                  "or repeat return then true until while _x1 While goto_");
  REQUIRE(t.size() == 25);
  CHECK(t[0] == "'and'");
  CHECK(t[21] == "'while'");
  CHECK(t[22] == "name:_x1");
  CHECK(t[23] == "name:While");
  CHECK(t[24] == "name:goto_");
}

TEST_CASE("numerals", "[lexer]") {
  CHECK(tokens("3 3.0 3.1416 314.16e-2 0.31416E1 34e1") ==
        std::vector<std::string>{"int:3", "flt:3.0", "flt:3.1416", "flt:3.1416", "flt:3.1416",
                                 "flt:340.0"});
  CHECK(tokens("0xff 0XA 0x0.1E 0xA23p-4 0X1.921FB54442D18P+1 .5 5.") ==
        std::vector<std::string>{"int:255", "int:10", "flt:0.1171875", "flt:162.1875",
                                 "flt:3.1415926535898", "flt:0.5", "flt:5.0"});
  // Hex integers wrap around; decimal ones too large become floats.
  CHECK(tokens("0xffffffffffffffff 9223372036854775807 9223372036854775808") ==
        std::vector<std::string>{"int:-1", "int:9223372036854775807", "flt:9.2233720368548e+18"});
  CHECK(tokens("3x").back() == "error: test:1: malformed number near '3x'");
  CHECK(tokens("0x").back() == "error: test:1: malformed number near '0x'");
  CHECK(tokens("1e+").back() == "error: test:1: malformed number near '1e+'");
  CHECK(tokens("3..2").back() == "error: test:1: malformed number near '3..2'");
}

TEST_CASE("short strings and escapes", "[lexer]") {
  CHECK(tokens(R"("a\tb\\\"\'" 'x\65\066\x41\u{48}\z   
       y')") == std::vector<std::string>{"str:a\tb\\\"'", "str:xABAHy"});
  CHECK(tokens(R"('\u{7FF}\u{FFFF}\u{10FFFF}\u{7FFFFFFF}')") ==
        std::vector<std::string>{"str:\xDF\xBF\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xFD\xBF\xBF\xBF\xBF\xBF"});
  CHECK(tokens("'a\\\nb'") == std::vector<std::string>{"str:a\nb"});
  CHECK(tokens(R"('\0\00\000')") == std::vector<std::string>{std::string("str:\0\0\0", 7)});
}

TEST_CASE("escape errors", "[lexer]") {
  CHECK(load_error("x = '\\q'") == "[string \"x = '\\q'\"]:1: invalid escape sequence near ''\\q'");
  CHECK(load_error("x = '\\xg'") ==
        "[string \"x = '\\xg'\"]:1: hexadecimal digit expected near ''\\xg'");
  CHECK(load_error("x = '\\u{110000000}'") ==
        "[string \"x = '\\u{110000000}'\"]:1: UTF-8 value too large near ''\\u{110000000'");
  CHECK(load_error("x = '\\u{11'") == "[string \"x = '\\u{11'\"]:1: missing '}' near ''\\u{11''");
  CHECK(load_error("x = '\\u11'") == "[string \"x = '\\u11'\"]:1: missing '{' near ''\\u1'");
  CHECK(load_error("x = '\\400'") == "[string \"x = '\\400'\"]:1: decimal escape too large near ''\\400''");
  CHECK(load_error("x = 'abc") == "[string \"x = 'abc\"]:1: unfinished string near <eof>");
  CHECK(load_error("x = 'abc\ny'") == "[string \"x = 'abc...\"]:1: unfinished string near ''abc'");
  CHECK(load_error("x = \"abc\\\ndef") == "[string \"x = \"abc\\...\"]:2: unfinished string near <eof>");
}

TEST_CASE("long strings and comments", "[lexer]") {
  CHECK(tokens("[[\nab]] [==[a]]b]=]c]==] --[[ comment ]] x --[=[\n]]\n]=] -- line\ny") ==
        std::vector<std::string>{"str:ab", "str:a]]b]=]c", "name:x", "name:y"});
  CHECK(tokens("[[a\r\nb\n\rc\rd]]") == std::vector<std::string>{"str:a\nb\nc\nd"});
  CHECK(load_error("x = [==[ abc") ==
        "[string \"x = [==[ abc\"]:1: unfinished long string (starting at line 1) near <eof>");
  CHECK(load_error("--[==[ abc\n\n") ==
        "[string \"--[==[ abc...\"]:3: unfinished long comment (starting at line 1) near <eof>");
  CHECK(load_error("x = [=a") == "[string \"x = [=a\"]:1: invalid long string delimiter near '[='");
}

TEST_CASE("line counting and odd characters", "[lexer]") {
  // \n\r, \r\n and \n\r are one line break each.
  CHECK(load_error("\n\r\r\n\n\r x = @") == "[string \"...\"]:4: unexpected symbol near '@'");
  CHECK(load_error("x = \xC3\xA9") == "[string \"x = \xC3\xA9\"]:1: unexpected symbol near '<\\195>'");
}

TEST_CASE("values through load", "[lexer]") {
  CHECK(eval("tostring(0x7fffffffffffffff + 1 == math.mininteger)") == "true");
  CHECK(eval("1e308 * 10") == "inf(flt)");
  CHECK(eval("0x10p-1") == "8.0(flt)");
  CHECK(eval("'\\65\\u{20AC}'") == "A\xE2\x82\xAC");
  CHECK(eval("#[[\nx]]") == "1(int)");
}
