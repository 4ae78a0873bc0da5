// The lexer: Lua 5.4 lexical rules over a source held entirely in memory.
#include "lexer.hpp"

#include <climits>

namespace luna {

namespace {

constexpr int EOZ = -1;

// Printable forms of every token from FIRST_RESERVED on, in enum order.
const char* const token_names[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    "//", "..", "...", "==", ">=", "<=", "~=", "<<", ">>", "::",
    "<eof>", "<number>", "<integer>", "<name>", "<string>"};
static_assert(sizeof(token_names) / sizeof(token_names[0]) == TK_STRING - FIRST_RESERVED + 1);

// Character classes of the "C" locale, independent of the current locale so
// that sources lex the same everywhere (bytes >= 0x80 are never letters).
bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }
bool is_xdigit(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_print(int c) { return c >= 0x20 && c < 0x7f; }
bool is_newline(int c) { return c == '\n' || c == '\r'; }
int hex_value(int c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

// Encodes x (< 2^31) in the original, up to 6-byte UTF-8 form.
int utf8_encode(char* out, unsigned long x) {
  if (x < 0x80) {
    out[0] = static_cast<char>(x);
    return 1;
  }
  char tmp[8];
  int n = 0;
  unsigned long first_max = 0x3f;  // payload that still fits in the leading byte
  do {  // at most 5 continuation bytes: escapes are checked to be < 2^31
    tmp[n++] = static_cast<char>(0x80 | (x & 0x3f));
    x >>= 6;
    first_max >>= 1;
  } while (x > first_max && n < 5);
  // Leading byte: n+1 high bits set, then the remaining payload.
  unsigned lead = (~0xffu >> (n + 1)) & 0xff;
  out[0] = static_cast<char>(lead | x);
  for (int i = 0; i < n; i++) out[i + 1] = tmp[n - 1 - i];
  return n + 1;
}

}  // namespace

void lexer_init(State* L) {
  for (int i = 0; i < NUM_RESERVED; i++) {
    String* s = str_new_cstr(L, token_names[i]);
    gc_fix(L, s);
    s->reserved = static_cast<uint8_t>(i + 1);
  }
}

Lexer::Lexer(State* L_, const char* src, size_t size, String* source_)
    : L(L_), current(EOZ), linenumber(1), lastline(1), source(source_), envn(nullptr),
      p_(src), end_(src + size) {
  t.token = 0;
  ahead.token = TK_EOS;
  envn = new_string("_ENV", 4);
  next_char();
}

void Lexer::next_char() {
  current = p_ < end_ ? static_cast<unsigned char>(*p_++) : EOZ;
}

void Lexer::save(int c) { buff_.push_back(static_cast<char>(c)); }

void Lexer::save_and_next() {
  save(current);
  next_char();
}

bool Lexer::check_next1(int c) {
  if (current != c) return false;
  next_char();
  return true;
}

bool Lexer::check_next2(const char* set) {
  if (current != set[0] && current != set[1]) return false;
  save_and_next();
  return true;
}

// Each of \n, \r, \n\r and \r\n counts as one line break.
void Lexer::inc_line() {
  int old = current;
  next_char();
  if (is_newline(current) && current != old) next_char();
  ++linenumber;
}

String* Lexer::new_string(const char* s, size_t len) { return str_new(L, s, len); }

const char* Lexer::token_to_str(int token) {
  ensure_stack(L, 1);
  if (token < FIRST_RESERVED) {
    if (is_print(token)) return push_fstring(L, "'%c'", token);
    return push_fstring(L, "'<\\%d>'", token);
  }
  const char* s = token_names[token - FIRST_RESERVED];
  if (token < TK_EOS) return push_fstring(L, "'%s'", s);
  return push_string(L, s);
}

// Tokens with text (names, strings, numerals) are shown as they were written.
const char* Lexer::token_text(int token) {
  switch (token) {
    case TK_NAME: case TK_STRING: case TK_FLT: case TK_INT:
      ensure_stack(L, 1);
      return push_fstring(L, "'%s'", buff_.c_str());
    default:
      return token_to_str(token);
  }
}

void Lexer::error(const char* msg, int token) {
  ensure_stack(L, 3);
  msg = add_info(L, msg, source, linenumber);
  if (token) push_fstring(L, "%s near %s", msg, token_text(token));
  throw_status(L, ERRSYNTAX);
}

void Lexer::error_at(const char* msg, int line) {
  ensure_stack(L, 3);
  add_info(L, msg, source, line);
  throw_status(L, ERRSYNTAX);
}

void Lexer::syntax_error(const char* msg) { error(msg, t.token); }

void Lexer::next() {
  lastline = linenumber;
  if (has_ahead) {
    t = ahead;
    has_ahead = false;
    ahead.token = TK_EOS;
  } else {
    t.token = lex(&t.seminfo);
  }
}

int Lexer::lookahead_token() {
  if (!has_ahead) {
    ahead.token = lex(&ahead.seminfo);
    has_ahead = true;
  }
  return ahead.token;
}

// Reads a numeral greedily (digits, '.', exponents with sign, and a trailing
// letter to catch things like "3x"), then validates it as a whole. A leading
// '.' may already be in the buffer.
int Lexer::read_numeral(SemInfo* seminfo) {
  const char* expo = "Ee";
  int first = current;
  save_and_next();
  if (first == '0' && check_next2("xX")) expo = "Pp";
  for (;;) {
    if (check_next2(expo))
      check_next2("-+");
    else if (is_xdigit(current) || current == '.')
      save_and_next();
    else
      break;
  }
  if (is_alpha(current)) save_and_next();
  TValue v;
  if (str_to_number(buff_.c_str(), buff_.size(), &v) == 0) error("malformed number", TK_FLT);
  if (v.is_int()) {
    seminfo->i = v.u.i;
    return TK_INT;
  }
  seminfo->r = v.u.n;
  return TK_FLT;
}

// At a '[' or ']': returns level + 2 for a well-formed bracket "[==[" (or
// "]==]"), 1 for a lone bracket, 0 for a bracket with '=' but no closing one.
size_t Lexer::skip_sep() {
  size_t count = 0;
  int s = current;
  save_and_next();
  while (current == '=') {
    save_and_next();
    count++;
  }
  if (current == s) return count + 2;
  return count == 0 ? 1 : 0;
}

void Lexer::read_long_string(SemInfo* seminfo, size_t sep) {
  int line = linenumber;
  save_and_next();  // second '['
  if (is_newline(current)) inc_line();  // a first newline is not part of the string
  for (;;) {
    switch (current) {
      case EOZ: {
        const char* msg = push_fstring(L, "unfinished long %s (starting at line %d)",
                                       seminfo ? "string" : "comment", line);
        error(msg, TK_EOS);
      }
      case ']':
        if (skip_sep() == sep) {
          save_and_next();
          if (seminfo) seminfo->ts = new_string(buff_.data() + sep, buff_.size() - 2 * sep);
          return;
        }
        break;
      case '\n': case '\r':
        save('\n');
        inc_line();
        if (!seminfo) buff_.clear();  // comments need no text
        break;
      default:
        if (seminfo)
          save_and_next();
        else
          next_char();
    }
  }
}

// On a bad escape, shows what was read of it (plus the offending character)
// in the "near" part of the message.
void Lexer::esc_check(bool ok, const char* msg) {
  if (ok) return;
  if (current != EOZ) save_and_next();
  error(msg, TK_STRING);
}

int Lexer::get_hexa() {
  save_and_next();
  esc_check(is_xdigit(current), "hexadecimal digit expected");
  return hex_value(current);
}

int Lexer::read_hex_esc() {
  int r = get_hexa();
  r = (r << 4) + get_hexa();
  buff_.resize(buff_.size() - 2);  // drop the 'x' and first digit kept for messages
  return r;
}

unsigned long Lexer::read_utf8_esc() {
  size_t to_drop = 4;  // '\', 'u', '{' and the first digit
  save_and_next();     // 'u'
  esc_check(current == '{', "missing '{'");
  unsigned long r = static_cast<unsigned long>(get_hexa());
  // 5.3 stops at U+10FFFF (at the digit that passes it); 5.4 at 2^31.
  const bool unicode_only = dialect(L).lib_53;
  for (;;) {
    save_and_next();
    if (!is_xdigit(current)) break;
    to_drop++;
    if (!unicode_only) esc_check(r <= (0x7FFFFFFFul >> 4), "UTF-8 value too large");
    r = (r << 4) + static_cast<unsigned long>(hex_value(current));
    if (unicode_only) esc_check(r <= 0x10FFFFul, "UTF-8 value too large");
  }
  esc_check(current == '}', "missing '}'");
  next_char();
  buff_.resize(buff_.size() - to_drop);
  return r;
}

int Lexer::read_dec_esc() {
  int r = 0;
  size_t i = 0;
  for (; i < 3 && is_digit(current); i++) {
    r = 10 * r + current - '0';
    save_and_next();
  }
  esc_check(r <= UCHAR_MAX, "decimal escape too large");
  buff_.resize(buff_.size() - i);
  return r;
}

void Lexer::read_string(int del, SemInfo* seminfo) {
  save_and_next();  // opening quote (kept in the buffer for messages)
  while (current != del) {
    switch (current) {
      case EOZ:
        error("unfinished string", TK_EOS);
      case '\n': case '\r':
        error("unfinished string", TK_STRING);
      case '\\': {
        save_and_next();  // keep '\' until the escape is known to be valid
        int c;
        switch (current) {
          case 'a': c = '\a'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'n': c = '\n'; break;
          case 'r': c = '\r'; break;
          case 't': c = '\t'; break;
          case 'v': c = '\v'; break;
          case '\\': case '"': case '\'': c = current; break;
          case 'x': c = read_hex_esc(); break;
          case 'u': {
            char utf[8];
            int n = utf8_encode(utf, read_utf8_esc());
            buff_.append(utf, static_cast<size_t>(n));
            continue;
          }
          case '\n': case '\r':
            inc_line();
            buff_.back() = '\n';
            continue;
          case EOZ:
            continue;  // reported as an unfinished string by the loop
          case 'z': {
            buff_.pop_back();
            next_char();
            while (is_space(current)) {
              if (is_newline(current))
                inc_line();
              else
                next_char();
            }
            continue;
          }
          default:
            esc_check(is_digit(current), "invalid escape sequence");
            buff_.back() = static_cast<char>(read_dec_esc());
            continue;
        }
        // single-character escapes and \x: consume the last character read
        next_char();
        buff_.back() = static_cast<char>(c);
        break;
      }
      default:
        save_and_next();
    }
  }
  save_and_next();  // closing quote
  seminfo->ts = new_string(buff_.data() + 1, buff_.size() - 2);
}

int Lexer::lex(SemInfo* seminfo) {
  buff_.clear();
  for (;;) {
    switch (current) {
      case '\n': case '\r':
        inc_line();
        break;
      case ' ': case '\f': case '\t': case '\v':
        next_char();
        break;
      case '-': {
        next_char();
        if (current != '-') return '-';
        next_char();
        if (current == '[') {
          size_t sep = skip_sep();
          buff_.clear();
          if (sep >= 2) {
            read_long_string(nullptr, sep);
            buff_.clear();
            break;
          }
        }
        while (!is_newline(current) && current != EOZ) next_char();
        break;
      }
      case '[': {
        size_t sep = skip_sep();
        if (sep >= 2) {
          read_long_string(seminfo, sep);
          return TK_STRING;
        }
        if (sep == 0) error("invalid long string delimiter", TK_STRING);
        return '[';
      }
      case '=':
        next_char();
        if (check_next1('=')) return TK_EQ;
        return '=';
      case '<':
        next_char();
        if (check_next1('=')) return TK_LE;
        if (check_next1('<')) return TK_SHL;
        return '<';
      case '>':
        next_char();
        if (check_next1('=')) return TK_GE;
        if (check_next1('>')) return TK_SHR;
        return '>';
      case '/':
        next_char();
        if (check_next1('/')) return TK_IDIV;
        return '/';
      case '~':
        next_char();
        if (check_next1('=')) return TK_NE;
        return '~';
      case ':':
        next_char();
        if (check_next1(':')) return TK_DBCOLON;
        return ':';
      case '"': case '\'':
        read_string(current, seminfo);
        return TK_STRING;
      case '.':
        save_and_next();
        if (check_next1('.')) {
          if (check_next1('.')) return TK_DOTS;
          return TK_CONCAT;
        }
        if (!is_digit(current)) return '.';
        return read_numeral(seminfo);
      case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9':
        return read_numeral(seminfo);
      case EOZ:
        return TK_EOS;
      default: {
        if (is_alpha(current)) {
          do save_and_next();
          while (is_alnum(current));
          String* ts = new_string(buff_.data(), buff_.size());
          seminfo->ts = ts;
          if (ts->tag == Tag::ShortStr && ts->reserved > 0) return ts->reserved - 1 + FIRST_RESERVED;
          return TK_NAME;
        }
        int c = current;
        next_char();
        return c;
      }
    }
  }
}

}  // namespace luna
