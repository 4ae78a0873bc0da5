// The lexer: turns source text into tokens for the parser.
#pragma once

#include <string>

#include "state.hpp"

namespace luna {

// Single-character tokens are their own character code; the rest follow.
enum Token : int {
  FIRST_RESERVED = 257,
  // reserved words, in this order (String::reserved holds index + 1)
  TK_AND = FIRST_RESERVED, TK_BREAK, TK_DO, TK_ELSE, TK_ELSEIF, TK_END, TK_FALSE, TK_FOR,
  TK_FUNCTION, TK_GOTO, TK_IF, TK_IN, TK_LOCAL, TK_NIL, TK_NOT, TK_OR, TK_REPEAT, TK_RETURN,
  TK_THEN, TK_TRUE, TK_UNTIL, TK_WHILE,
  // other multi-character tokens
  TK_IDIV, TK_CONCAT, TK_DOTS, TK_EQ, TK_GE, TK_LE, TK_NE, TK_SHL, TK_SHR, TK_DBCOLON,
  TK_EOS, TK_FLT, TK_INT, TK_NAME, TK_STRING
};
constexpr int NUM_RESERVED = TK_WHILE - FIRST_RESERVED + 1;

struct SemInfo {
  Number r = 0;
  Integer i = 0;
  String* ts = nullptr;
};

struct TokenInfo {
  int token = 0;
  SemInfo seminfo;
};

struct FuncState;  // parser.cpp
struct Dyndata;    // parser.cpp

// The collector is paused while compiling (see compile_source), so strings
// created here stay alive without anchoring until they land in a Proto.
// The constructor does not read a token: call next() for the first one.
class Lexer {
 public:
  Lexer(State* L, const char* src, size_t size, String* source);

  void next();               // advances to the next token (into t)
  int lookahead_token();     // peeks one token ahead
  [[noreturn]] void syntax_error(const char* msg);       // "src:line: msg near 'tok'"
  [[noreturn]] void error(const char* msg, int token);   // token 0: no "near" part
  [[noreturn]] void error_at(const char* msg, int line);  // "src:line: msg"
  String* new_string(const char* s, size_t len);
  const char* token_to_str(int token);                   // pushes and returns a printable form

  State* L;
  int current;        // current character (or EOZ = -1)
  int linenumber;     // input line counter
  int lastline;       // line of the last token consumed
  TokenInfo t;        // current token
  TokenInfo ahead;    // look-ahead token (token == TK_EOS when none... see has_ahead)
  bool has_ahead = false;
  FuncState* fs = nullptr;
  Dyndata* dyd = nullptr;
  String* source;     // chunk name
  String* envn;       // "_ENV"

 private:
  const char* p_;
  const char* end_;
  std::string buff_;
  int lex(SemInfo* seminfo);
  void next_char();
  void save(int c);
  void save_and_next();
  bool check_next1(int c);
  bool check_next2(const char* set);  // set holds two alternatives
  void inc_line();
  const char* token_text(int token);
  int read_numeral(SemInfo* seminfo);
  size_t skip_sep();
  void read_long_string(SemInfo* seminfo, size_t sep);  // seminfo nullptr: a comment
  void read_string(int del, SemInfo* seminfo);
  void esc_check(bool ok, const char* msg);
  int get_hexa();
  int read_hex_esc();
  unsigned long read_utf8_esc();
  int read_dec_esc();
};

}  // namespace luna
