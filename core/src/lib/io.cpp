// The input/output library (manual 6.8). Files are full userdata with the
// metatable "FILE*" holding a C stdio stream and the function that closes
// it (fclose, pclose, or a refusal for the standard streams).
#include <cctype>
#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstring>

#include "luna/api.hpp"
#include "../dialect.hpp"

namespace luna {
namespace {

constexpr const char* FILE_HANDLE = "FILE*";
// Registry keys of the default input and output files.
constexpr const char* IO_INPUT = "_IO_input";
constexpr const char* IO_OUTPUT = "_IO_output";
constexpr size_t IO_PREFIX_LEN = 4;  // strlen("_IO_"), for error messages
// Most formats that io.lines/file:lines keep for each call.
constexpr int MAX_LINES_ARGS = 250;
// Longest numeral read by the "n" format.
constexpr int MAX_NUMERAL = 200;

struct Stream {
  FILE* f;
  NativeFn closef;  // nullptr once the file is closed
};

Stream* to_stream(State* L) { return static_cast<Stream*>(check_udata(L, 1, FILE_HANDLE)); }
bool is_closed(const Stream* p) { return p->closef == nullptr; }

int io_type(State* L) {
  check_any(L, 1);
  auto* p = static_cast<Stream*>(test_udata(L, 1, FILE_HANDLE));
  if (p == nullptr)
    push_fail(L);
  else
    push_string(L, is_closed(p) ? "closed file" : "file");
  return 1;
}

int f_tostring(State* L) {
  Stream* p = to_stream(L);
  if (is_closed(p))
    push_string(L, "file (closed)");
  else
    push_fstring(L, "file (%p)", static_cast<void*>(p->f));
  return 1;
}

FILE* to_file(State* L) {
  Stream* p = to_stream(L);
  if (is_closed(p)) error_f(L, "attempt to use a closed file");
  return p->f;
}

// A file handle not yet open (closed state), so a failure before the
// stream exists leaves nothing for __gc to close.
Stream* new_pre_file(State* L) {
  auto* p = static_cast<Stream*>(new_userdata(L, sizeof(Stream), 0));
  p->f = nullptr;
  p->closef = nullptr;
  set_metatable_named(L, FILE_HANDLE);
  return p;
}

int aux_close(State* L) {
  Stream* p = to_stream(L);
  NativeFn cf = p->closef;
  p->closef = nullptr;  // marks it closed even if cf fails
  return cf(L);
}

int f_close(State* L) {
  to_file(L);
  return aux_close(L);
}

int io_close(State* L) {
  if (is_none(L, 1)) get_field(L, REGISTRYINDEX, IO_OUTPUT);
  return f_close(L);
}

int f_gc(State* L) {
  Stream* p = to_stream(L);
  if (!is_closed(p) && p->f != nullptr) aux_close(L);
  return 0;
}

int io_fclose(State* L) {
  Stream* p = to_stream(L);
  errno = 0;
  return file_result(L, fclose(p->f) == 0, nullptr);
}

int io_pclose(State* L) {
  Stream* p = to_stream(L);
  errno = 0;
  return exec_result(L, pclose(p->f));
}

int io_noclose(State* L) {
  Stream* p = to_stream(L);
  p->closef = io_noclose;  // the standard stream stays open
  push_fail(L);
  push_string(L, "cannot close standard file");
  return 2;
}

Stream* new_file(State* L) {
  Stream* p = new_pre_file(L);
  p->closef = io_fclose;
  return p;
}

void open_check_file(State* L, const char* fname, const char* mode) {
  Stream* p = new_file(L);
  p->f = fopen(fname, mode);
  if (p->f == nullptr) error_f(L, "cannot open file '%s' (%s)", fname, strerror(errno));
}

// fopen modes: [rwa] then an optional '+' then any number of 'b'.
bool valid_mode(const char* m) {
  if (*m == '\0' || strchr("rwa", *m) == nullptr) return false;
  m++;
  if (*m == '+') m++;
  return strspn(m, "b") == strlen(m);
}

int io_open(State* L) {
  const char* fname = check_string(L, 1);
  const char* mode = opt_string(L, 2, "r");
  Stream* p = new_file(L);
  arg_check(L, valid_mode(mode), 2, "invalid mode");
  errno = 0;
  p->f = fopen(fname, mode);
  return p->f == nullptr ? file_result(L, 0, fname) : 1;
}

int io_popen(State* L) {
  const char* cmd = check_string(L, 1);
  const char* mode = opt_string(L, 2, "r");
  Stream* p = new_pre_file(L);
  arg_check(L, (mode[0] == 'r' || mode[0] == 'w') && mode[1] == '\0', 2, "invalid mode");
  errno = 0;
  fflush(nullptr);  // the child must not see our pending output twice
  p->f = popen(cmd, mode);
  p->closef = io_pclose;
  return p->f == nullptr ? file_result(L, 0, cmd) : 1;
}

int io_tmpfile(State* L) {
  Stream* p = new_file(L);
  errno = 0;
  p->f = tmpfile();
  return p->f == nullptr ? file_result(L, 0, nullptr) : 1;
}

FILE* get_io_file(State* L, const char* key) {
  get_field(L, REGISTRYINDEX, key);
  auto* p = static_cast<Stream*>(to_userdata(L, -1));
  if (is_closed(p)) error_f(L, "default %s file is closed", key + IO_PREFIX_LEN);
  return p->f;
}

// io.input / io.output: set the default file from a name or a handle,
// then return the current one.
int g_iofile(State* L, const char* key, const char* mode) {
  if (!is_none_or_nil(L, 1)) {
    const char* fname = to_string(L, 1);
    if (fname != nullptr) {
      open_check_file(L, fname, mode);
    } else {
      to_file(L);  // must be an open file
      push_value(L, 1);
    }
    set_field(L, REGISTRYINDEX, key);
  }
  get_field(L, REGISTRYINDEX, key);
  return 1;
}

int io_input(State* L) { return g_iofile(L, IO_INPUT, "r"); }
int io_output(State* L) { return g_iofile(L, IO_OUTPUT, "w"); }

int io_readline(State* L);

// Pushes the lines iterator for the file at index 1 with the formats above it.
void aux_lines(State* L, bool to_close) {
  int n = get_top(L) - 1;
  arg_check(L, n <= MAX_LINES_ARGS, MAX_LINES_ARGS + 2, "too many arguments");
  push_value(L, 1);
  push_integer(L, n);
  push_boolean(L, to_close);
  rotate(L, 2, 3);  // file, count, flag, then the formats
  push_native_closure(L, io_readline, 3 + n);
}

int f_lines(State* L) {
  to_file(L);
  aux_lines(L, false);
  return 1;
}

int io_lines(State* L) {
  if (is_none(L, 1)) push_nil(L);  // reads the default input
  bool to_close;
  if (is_nil(L, 1)) {
    get_field(L, REGISTRYINDEX, IO_INPUT);
    replace(L, 1);
    to_file(L);
    to_close = false;
  } else {
    const char* fname = check_string(L, 1);
    open_check_file(L, fname, "r");
    replace(L, 1);
    to_close = true;
  }
  aux_lines(L, to_close);
  // 5.3 has no to-be-closed variables: the iterator alone.
  if (!to_close || dialect_of(get_version(L)).lib_53) return 1;
  // generic for: iterator, state, control, and the file as closing value
  push_nil(L);
  push_nil(L);
  push_value(L, 1);
  return 4;
}

// ---- reading

// Reader of a numeral: buffers at most MAX_NUMERAL characters.
struct NumReader {
  FILE* f;
  int c;  // current character (read ahead)
  int n;  // characters in buf
  char buf[MAX_NUMERAL + 1];

  bool take() {  // keeps c and reads the next one; false when too long
    if (n >= MAX_NUMERAL) {
      buf[0] = '\0';  // an overlong numeral is invalid
      return false;
    }
    buf[n++] = static_cast<char>(c);
    c = getc(f);
    return true;
  }
  bool take_if(char a, char b) { return (c == a || c == b) ? take() : false; }
  int digits(bool hex) {
    int count = 0;
    while ((hex ? isxdigit(c) : isdigit(c)) && take()) count++;
    return count;
  }
};

// Reads the longest prefix that may form a numeral and converts it;
// pushes the number, or nil when the text is not a numeral.
bool read_number(State* L, FILE* f) {
  NumReader r;
  r.f = f;
  r.n = 0;
  char point = localeconv()->decimal_point[0];
  do {
    r.c = getc(f);
  } while (isspace(r.c));
  r.take_if('-', '+');
  bool hex = false;
  int count = 0;
  if (r.take_if('0', '0')) {
    if (r.take_if('x', 'X'))
      hex = true;
    else
      count = 1;  // the zero is a digit
  }
  count += r.digits(hex);
  if (r.take_if(point, '.')) count += r.digits(hex);
  if (count > 0 && r.take_if(hex ? 'p' : 'e', hex ? 'P' : 'E')) {
    r.take_if('-', '+');
    r.digits(false);
  }
  ungetc(r.c, f);
  r.buf[r.n] = '\0';
  if (string_to_number(L, r.buf) != 0) return true;
  push_nil(L);
  return false;
}

bool test_eof(State* L, FILE* f) {
  int c = getc(f);
  ungetc(c, f);
  push_string(L, "");
  return c != EOF;
}

bool read_line(State* L, FILE* f, bool chop) {
  Buffer b(L);
  int c = EOF;
  for (;;) {
    c = getc(f);
    if (c == EOF || c == '\n') break;
    b.add_char(static_cast<char>(c));
  }
  if (!chop && c == '\n') b.add_char('\n');
  bool ok = c == '\n' || b.length() > 0;
  b.push_result();
  return ok;
}

void read_all(State* L, FILE* f) {
  Buffer b(L);
  constexpr size_t CHUNK = 4096;
  size_t got;
  do {
    char* p = b.prepare(CHUNK);
    got = fread(p, 1, CHUNK, f);
    b.add_size(got);
  } while (got == CHUNK);
  b.push_result();
}

bool read_chars(State* L, FILE* f, size_t n) {
  Buffer b(L);
  constexpr size_t CHUNK = 4096;
  while (n > 0) {
    size_t want = n < CHUNK ? n : CHUNK;
    char* p = b.prepare(want);
    size_t got = fread(p, 1, want, f);
    b.add_size(got);
    if (got < want) break;
    n -= got;
  }
  bool ok = b.length() > 0;
  b.push_result();
  return ok;
}

// Reads with the formats at first.. and returns how many values it pushed;
// a failing format ends the reading with fail in its place.
int g_read(State* L, FILE* f, int first) {
  int nargs = get_top(L) - 1;
  clearerr(f);
  errno = 0;
  bool success;
  int n;
  if (nargs == 0) {  // default: one line
    success = read_line(L, f, true);
    n = first + 1;
  } else {
    check_stack_or_error(L, nargs + MINSTACK, "too many arguments");
    success = true;
    for (n = first; nargs-- > 0 && success; n++) {
      if (type(L, n) == TNUMBER) {
        Integer l = check_integer(L, n);
        success = l == 0 ? test_eof(L, f) : read_chars(L, f, static_cast<size_t>(l));
      } else {
        const char* p = check_string(L, n);
        if (*p == '*') p++;  // 5.3-style formats ("*l") are still accepted
        switch (*p) {
          case 'n': success = read_number(L, f); break;
          case 'l': success = read_line(L, f, true); break;
          case 'L': success = read_line(L, f, false); break;
          case 'a': read_all(L, f); success = true; break;
          default: arg_error(L, n, "invalid format");
        }
      }
    }
  }
  if (ferror(f)) return file_result(L, 0, nullptr);
  if (!success) {
    pop(L, 1);
    push_fail(L);
  }
  return n - first;
}

int io_read(State* L) { return g_read(L, get_io_file(L, IO_INPUT), 1); }
int f_read(State* L) { return g_read(L, to_file(L), 2); }

int io_readline(State* L) {
  auto* p = static_cast<Stream*>(to_userdata(L, upvalue_index(1)));
  int n = static_cast<int>(to_integerx(L, upvalue_index(2)));
  if (is_closed(p)) error_f(L, "file is already closed");
  set_top(L, 1);
  check_stack_or_error(L, n, "too many arguments");
  for (int i = 1; i <= n; i++) push_value(L, upvalue_index(3 + i));
  n = g_read(L, p->f, 2);
  if (to_boolean(L, -n)) return n;  // got at least one value
  if (n > 1) error_f(L, "%s", to_string(L, -n + 1));  // the read error message
  if (to_boolean(L, upvalue_index(3))) {  // opened by io.lines: close at EOF
    set_top(L, 0);
    push_value(L, upvalue_index(1));
    aux_close(L);
  }
  return 0;
}

// ---- writing and the rest

// Writes arguments arg.. to f; the file handle is already on the stack top
// and is the result on success.
int g_write(State* L, FILE* f, int arg) {
  int nargs = get_top(L) - arg;
  bool ok = true;
  errno = 0;
  for (; nargs-- > 0; arg++) {
    if (type(L, arg) == TNUMBER) {
      int len = is_integer(L, arg) ? fprintf(f, "%lld", static_cast<long long>(to_integerx(L, arg)))
                                   : fprintf(f, "%.14g", to_numberx(L, arg));
      ok = ok && len > 0;
    } else {
      size_t l;
      const char* s = check_lstring(L, arg, &l);
      ok = ok && fwrite(s, 1, l, f) == l;
    }
  }
  if (ok) return 1;
  return file_result(L, 0, nullptr);
}

int io_write(State* L) { return g_write(L, get_io_file(L, IO_OUTPUT), 1); }

int f_write(State* L) {
  FILE* f = to_file(L);
  push_value(L, 1);
  return g_write(L, f, 2);
}

int f_seek(State* L) {
  static const int modes[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  static const char* const names[] = {"set", "cur", "end", nullptr};
  FILE* f = to_file(L);
  int op = check_option(L, 2, "cur", names);
  Integer offset = opt_integer(L, 3, 0);
  errno = 0;
  if (fseeko(f, static_cast<off_t>(offset), modes[op]) != 0) return file_result(L, 0, nullptr);
  push_integer(L, static_cast<Integer>(ftello(f)));
  return 1;
}

int f_setvbuf(State* L) {
  static const int modes[] = {_IONBF, _IOFBF, _IOLBF};
  static const char* const names[] = {"no", "full", "line", nullptr};
  FILE* f = to_file(L);
  int op = check_option(L, 2, nullptr, names);
  Integer sz = opt_integer(L, 3, BUFSIZ);
  errno = 0;
  return file_result(L, setvbuf(f, nullptr, modes[op], static_cast<size_t>(sz)) == 0, nullptr);
}

int io_flush(State* L) {
  FILE* f = get_io_file(L, IO_OUTPUT);
  errno = 0;
  return file_result(L, fflush(f) == 0, nullptr);
}

int f_flush(State* L) {
  FILE* f = to_file(L);
  errno = 0;
  return file_result(L, fflush(f) == 0, nullptr);
}

const Reg io_funcs[] = {
    {"close", io_close}, {"flush", io_flush},     {"input", io_input}, {"lines", io_lines},
    {"open", io_open},   {"output", io_output},   {"popen", io_popen}, {"read", io_read},
    {"tmpfile", io_tmpfile}, {"type", io_type},   {"write", io_write}, {nullptr, nullptr},
};

const Reg file_methods[] = {
    {"read", f_read},   {"write", f_write},     {"lines", f_lines}, {"flush", f_flush},
    {"seek", f_seek},   {"close", f_close},     {"setvbuf", f_setvbuf}, {nullptr, nullptr},
};

const Reg file_metamethods[] = {
    {"__index", nullptr},  // set to the methods table below
    {"__gc", f_gc},        {"__close", f_gc}, {"__tostring", f_tostring}, {nullptr, nullptr},
};

void create_meta(State* L) {
  new_metatable(L, FILE_HANDLE);
  set_funcs(L, file_metamethods, 0);
  new_lib(L, file_methods);
  set_field(L, -2, "__index");
  pop(L, 1);
}

void create_std_file(State* L, FILE* f, const char* key, const char* name) {
  Stream* p = new_pre_file(L);
  p->f = f;
  p->closef = io_noclose;
  if (key != nullptr) {
    push_value(L, -1);
    set_field(L, REGISTRYINDEX, key);
  }
  set_field(L, -2, name);
}

}  // namespace

int open_io(State* L) {
  new_lib(L, io_funcs);
  create_meta(L);
  create_std_file(L, stdin, IO_INPUT, "stdin");
  create_std_file(L, stdout, IO_OUTPUT, "stdout");
  create_std_file(L, stderr, nullptr, "stderr");
  return 1;
}

}  // namespace luna
