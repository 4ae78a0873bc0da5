// The operating system library (manual 6.9), on top of the C and POSIX
// runtime: time and dates, environment, processes and files by name.
#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include "luna/api.hpp"
#include "../format_item.hpp"

namespace luna {
namespace {

int os_execute(State* L) {
  const char* cmd = opt_string(L, 1, nullptr);
  errno = 0;
  int stat = system(cmd);
  if (cmd != nullptr) return exec_result(L, stat);
  push_boolean(L, stat != 0);  // no command: is a shell available?
  return 1;
}

int os_remove(State* L) {
  const char* name = check_string(L, 1);
  errno = 0;
  return file_result(L, ::remove(name) == 0, name);
}

int os_rename(State* L) {
  const char* from = check_string(L, 1);
  const char* to = check_string(L, 2);
  errno = 0;
  return file_result(L, ::rename(from, to) == 0, nullptr);
}

int os_tmpname(State* L) {
  char buf[] = "/tmp/lua_XXXXXX";
  int fd = mkstemp(buf);
  if (fd == -1) error_f(L, "unable to generate a unique filename");
  close(fd);
  push_string(L, buf);
  return 1;
}

int os_getenv(State* L) {
  push_string(L, getenv(check_string(L, 1)));  // nullptr pushes nil
  return 1;
}

int os_clock(State* L) {
  push_number(L, static_cast<Number>(clock()) / static_cast<Number>(CLOCKS_PER_SEC));
  return 1;
}

// ---- time and date

void set_field_int(State* L, const char* key, int value, int delta) {
  push_integer(L, static_cast<Integer>(value) + delta);
  set_field(L, -2, key);
}

void set_bool_field(State* L, const char* key, int value) {
  if (value < 0) return;  // undefined: leave the field absent
  push_boolean(L, value != 0);
  set_field(L, -2, key);
}

// Stores every field of stm in the table on top.
void set_all_fields(State* L, const struct tm* stm) {
  set_field_int(L, "year", stm->tm_year, 1900);
  set_field_int(L, "month", stm->tm_mon, 1);
  set_field_int(L, "day", stm->tm_mday, 0);
  set_field_int(L, "hour", stm->tm_hour, 0);
  set_field_int(L, "min", stm->tm_min, 0);
  set_field_int(L, "sec", stm->tm_sec, 0);
  set_field_int(L, "yday", stm->tm_yday, 1);
  set_field_int(L, "wday", stm->tm_wday, 1);
  set_bool_field(L, "isdst", stm->tm_isdst);
}

int get_bool_field(State* L, const char* key) {
  int res = get_field(L, -1, key) == TNIL ? -1 : to_boolean(L, -1);
  pop(L, 1);
  return res;
}

// Reads an integer field of the date table on top, minus delta; d < 0
// means the field is mandatory.
int get_date_field(State* L, const char* key, int d, int delta) {
  int t = get_field(L, -1, key);
  bool isnum = false;
  Integer res = to_integerx(L, -1, &isnum);
  if (!isnum) {
    if (t != TNIL) error_f(L, "field '%s' is not an integer", key);
    if (d < 0) error_f(L, "field '%s' missing in date table", key);
    res = d;
  } else {
    bool fits = res >= 0 ? res - delta <= INT_MAX : static_cast<Integer>(INT_MIN) + delta <= res;
    if (!fits) error_f(L, "field '%s' is out-of-bound", key);
    res -= delta;
  }
  pop(L, 1);
  return static_cast<int>(res);
}

time_t check_time(State* L, int arg) {
  Integer t = check_integer(L, arg);
  arg_check(L, static_cast<time_t>(t) == t, arg, "time out-of-bounds");
  return static_cast<time_t>(t);
}

// Conversions strftime accepts (C99): single letters, then the E and O
// modifiers with the letters they may precede.
const char* const SINGLE_CONV = "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%";
const char* const E_CONV = "cCxXyY";
const char* const O_CONV = "deHImMSuUVwWy";

// Length of the valid conversion starting at conv (after '%'), or error.
size_t check_conversion(State* L, const char* conv) {
  if (conv[0] != '\0') {
    if (conv[0] != 'E' && conv[0] != 'O' && strchr(SINGLE_CONV, conv[0]) != nullptr) return 1;
    const char* second = conv[0] == 'E' ? E_CONV : conv[0] == 'O' ? O_CONV : nullptr;
    if (second != nullptr && conv[1] != '\0' && strchr(second, conv[1]) != nullptr) return 2;
  }
  arg_error(L, 1, push_fstring(L, "invalid conversion specifier '%%%s'", conv));
}

int os_date(State* L) {
  size_t slen;
  const char* s = opt_lstring(L, 1, "%c", &slen);
  const char* se = s + slen;
  time_t t = is_none_or_nil(L, 2) ? time(nullptr) : check_time(L, 2);
  struct tm tmr;
  struct tm* stm;
  if (*s == '!') {  // UTC
    stm = gmtime_r(&t, &tmr);
    s++;
  } else {
    stm = localtime_r(&t, &tmr);
  }
  if (stm == nullptr) error_f(L, "date result cannot be represented in this installation");
  if (strcmp(s, "*t") == 0) {
    create_table(L, 0, 9);
    set_all_fields(L, stm);
    return 1;
  }
  Buffer b(L);
  while (s < se) {
    if (*s != '%') {
      b.add_char(*s++);
      continue;
    }
    s++;
    size_t n = check_conversion(L, s);
    char spec[4] = {'%', 0, 0, 0};
    memcpy(spec + 1, s, n);
    s += n;
    constexpr size_t MAX_ITEM = 250;  // room for any single conversion
    char* out = b.prepare(MAX_ITEM);
    b.add_size(strftime(out, MAX_ITEM, spec, stm));
  }
  b.push_result();
  return 1;
}

int os_time(State* L) {
  time_t t;
  if (is_none_or_nil(L, 1)) {
    t = time(nullptr);
  } else {
    check_type(L, 1, TTABLE);
    set_top(L, 1);
    struct tm ts;
    memset(&ts, 0, sizeof ts);
    ts.tm_year = get_date_field(L, "year", -1, 1900);
    ts.tm_mon = get_date_field(L, "month", -1, 1);
    ts.tm_mday = get_date_field(L, "day", -1, 0);
    ts.tm_hour = get_date_field(L, "hour", 12, 0);
    ts.tm_min = get_date_field(L, "min", 0, 0);
    ts.tm_sec = get_date_field(L, "sec", 0, 0);
    ts.tm_isdst = get_bool_field(L, "isdst");
    t = mktime(&ts);
    set_all_fields(L, &ts);  // the table gets the normalised values
  }
  if (t == static_cast<time_t>(-1))
    error_f(L, "time result cannot be represented in this installation");
  push_integer(L, static_cast<Integer>(t));
  return 1;
}

int os_difftime(State* L) {
  time_t t1 = check_time(L, 1);
  time_t t2 = check_time(L, 2);
  push_number(L, difftime(t1, t2));
  return 1;
}

int os_setlocale(State* L) {
  static const int cats[] = {LC_ALL, LC_COLLATE, LC_CTYPE, LC_MONETARY, LC_NUMERIC, LC_TIME};
  static const char* const names[] = {"all", "collate", "ctype", "monetary", "numeric", "time", nullptr};
  const char* loc = opt_string(L, 1, nullptr);
  int op = check_option(L, 2, "all", names);
  push_string(L, setlocale(cats[op], loc));
  format_point_changed();
  return 1;
}

int os_exit(State* L) {
  int status;
  if (is_boolean(L, 1))
    status = to_boolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
  else
    status = static_cast<int>(opt_integer(L, 1, EXIT_SUCCESS));
  if (to_boolean(L, 2)) close_state(L);  // runs finalizers and closes tbc variables
  exit(status);
}

const Reg os_funcs[] = {
    {"clock", os_clock},       {"date", os_date},       {"difftime", os_difftime},
    {"execute", os_execute},   {"exit", os_exit},       {"getenv", os_getenv},
    {"remove", os_remove},     {"rename", os_rename},   {"setlocale", os_setlocale},
    {"time", os_time},         {"tmpname", os_tmpname}, {nullptr, nullptr},
};

}  // namespace

int open_os(State* L) {
  new_lib(L, os_funcs);
  return 1;
}

}  // namespace luna
