// The auxiliary library (luaL_* counterparts), written on top of the public
// stack API only, with lauxlib 5.4's messages.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <sys/wait.h>

#include "luna/api.hpp"
#include "dialect.hpp"

namespace luna {

namespace {

constexpr int LEVELS1 = 10;  // traceback: levels shown before the gap
constexpr int LEVELS2 = 11;  // traceback: levels shown after the gap
constexpr Integer FREELIST = RIDX_GLOBALS + 1;  // ref(): head of the free list

// Searches the table on top for a value equal to the one at objidx, up to
// `level` tables deep; on success leaves its dotted name on the top.
bool find_field(State* L, int objidx, int level) {
  if (level == 0 || !is_table(L, -1)) return false;
  push_nil(L);
  while (next(L, -2)) {
    if (type(L, -2) == TSTRING) {
      if (raw_equal(L, objidx, -1)) {
        pop(L, 1);  // keep the key
        return true;
      }
      if (find_field(L, objidx, level - 1)) {
        // stack: key, value, name-inside-value
        push_string(L, ".");
        replace(L, -3);  // key, ".", name
        concat(L, 3);
        return true;
      }
    }
    pop(L, 1);
  }
  return false;
}

// Pushes the "module.name" under which the function of `ar` is found in
// package.loaded, for functions that have no name from the call site.
bool push_global_func_name(State* L, DebugInfo* ar) {
  int top = get_top(L);
  get_info(L, "f", ar);
  get_field(L, REGISTRYINDEX, LOADED_TABLE);
  check_stack_or_error(L, 6, "not enough stack");
  if (find_field(L, top + 1, 2)) {
    const char* name = to_string(L, -1);
    if (std::strncmp(name, "_G.", 3) == 0) {
      push_string(L, name + 3);
      remove(L, -2);
    }
    copy(L, -1, top + 1);
    set_top(L, top + 1);
    return true;
  }
  set_top(L, top);
  return false;
}

void push_func_name(State* L, DebugInfo* ar) {
  // 5.5 prefers the name the calling code gives, and looks for a loaded
  // module's field only for native functions the code does not name.
  if (dialect_of(get_version(L)).lib_55 && (*ar->namewhat != '\0' || *ar->what != 'C')) {
    if (*ar->namewhat != '\0') push_fstring(L, "%s '%s'", ar->namewhat, ar->name);
    else if (*ar->what == 'm') push_string(L, "main chunk");
    else push_fstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
  } else if (push_global_func_name(L, ar)) {
    push_fstring(L, "function '%s'", to_string(L, -1));
    remove(L, -2);
  } else if (*ar->namewhat != '\0') {
    push_fstring(L, "%s '%s'", ar->namewhat, ar->name);
  } else if (*ar->what == 'm') {
    push_string(L, "main chunk");
  } else if (*ar->what != 'C') {
    push_fstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
  } else {
    push_string(L, "?");
  }
}

// Deepest valid stack level, found by doubling then bisecting.
int last_level(State* L) {
  DebugInfo ar;
  int li = 1, le = 1;
  while (get_stack(L, le, &ar)) {
    li = le;
    le *= 2;
  }
  while (li < le) {
    int m = (li + le) / 2;
    if (get_stack(L, m, &ar)) li = m + 1;
    else le = m;
  }
  return le - 1;
}

[[noreturn]] void tag_error(State* L, int arg, int tag) { type_error(L, arg, type_name(L, tag)); }

[[noreturn]] void int_error(State* L, int arg) {
  if (is_number(L, arg)) arg_error(L, arg, "number has no integer representation");
  tag_error(L, arg, TNUMBER);
}

}  // namespace

// ---------------------------------------------------------------- metafields

int get_metafield(State* L, int obj, const char* e) {
  if (!get_metatable(L, obj)) return TNIL;
  push_string(L, e);
  int tt = raw_get(L, -2);
  if (tt == TNIL) pop(L, 2);
  else remove(L, -2);
  return tt;
}

bool call_meta(State* L, int obj, const char* e) {
  obj = abs_index(L, obj);
  if (get_metafield(L, obj, e) == TNIL) return false;
  push_value(L, obj);
  call(L, 1, 1);
  return true;
}

const char* to_lstring_meta(State* L, int idx, size_t* len) {
  idx = abs_index(L, idx);
  if (call_meta(L, idx, "__tostring")) {
    if (!is_string(L, -1)) error_f(L, "'__tostring' must return a string");
  } else {
    switch (type(L, idx)) {
      case TNUMBER:
        if (is_integer(L, idx)) push_fstring(L, "%I", to_integerx(L, idx));
        else push_fstring(L, "%f", to_numberx(L, idx));
        break;
      case TSTRING: push_value(L, idx); break;
      case TBOOLEAN: push_string(L, to_boolean(L, idx) ? "true" : "false"); break;
      case TNIL: push_string(L, "nil"); break;
      default: {
        int tt = get_metafield(L, idx, "__name");
        const char* kind = tt == TSTRING ? to_string(L, -1) : typename_at(L, idx);
        push_fstring(L, "%s: %p", kind, to_pointer(L, idx));
        if (tt != TNIL) remove(L, -2);
        break;
      }
    }
  }
  return to_lstring(L, -1, len);
}

// ---------------------------------------------------------------- errors

void arg_error(State* L, int arg, const char* extramsg) {
  DebugInfo ar;
  if (!get_stack(L, 0, &ar)) error_f(L, "bad argument #%d (%s)", arg, extramsg);
  get_info(L, "n", &ar);
  if (ar.namewhat && std::strcmp(ar.namewhat, "method") == 0) {
    arg--;  // self is not counted
    if (arg == 0) error_f(L, "calling '%s' on bad self (%s)", ar.name, extramsg);
  }
  if (ar.name == nullptr) ar.name = push_global_func_name(L, &ar) ? to_string(L, -1) : "?";
  error_f(L, "bad argument #%d to '%s' (%s)", arg, ar.name, extramsg);
}

void type_error(State* L, int arg, const char* tname) {
  const char* typearg;
  if (get_metafield(L, arg, "__name") == TSTRING) typearg = to_string(L, -1);
  else if (type(L, arg) == TLIGHTUSERDATA) typearg = "light userdata";
  else typearg = typename_at(L, arg);
  arg_error(L, arg, push_fstring(L, "%s expected, got %s", tname, typearg));
}

void error_f(State* L, const char* fmt, ...) {
  va_list argp;
  va_start(argp, fmt);
  where(L, 1);
  push_vfstring(L, fmt, argp);
  va_end(argp);
  concat(L, 2);
  error(L);
}

// ---------------------------------------------------------------- argument checks

const char* check_lstring(State* L, int arg, size_t* l) {
  const char* s = to_lstring(L, arg, l);
  if (s == nullptr) tag_error(L, arg, TSTRING);
  return s;
}

const char* opt_lstring(State* L, int arg, const char* def, size_t* l) {
  if (is_none_or_nil(L, arg)) {
    if (l) *l = def ? std::strlen(def) : 0;
    return def;
  }
  return check_lstring(L, arg, l);
}

Number check_number(State* L, int arg) {
  bool isnum;
  Number d = to_numberx(L, arg, &isnum);
  if (!isnum) tag_error(L, arg, TNUMBER);
  return d;
}

Number opt_number(State* L, int arg, Number def) { return is_none_or_nil(L, arg) ? def : check_number(L, arg); }

Integer check_integer(State* L, int arg) {
  bool isnum;
  Integer d = to_integerx(L, arg, &isnum);
  if (!isnum) int_error(L, arg);
  return d;
}

Integer opt_integer(State* L, int arg, Integer def) { return is_none_or_nil(L, arg) ? def : check_integer(L, arg); }

void check_stack_or_error(State* L, int sz, const char* msg) {
  if (!check_stack(L, sz)) {
    if (msg) error_f(L, "stack overflow (%s)", msg);
    error_f(L, "stack overflow");
  }
}

void check_type(State* L, int arg, int t) {
  if (type(L, arg) != t) tag_error(L, arg, t);
}

void check_any(State* L, int arg) {
  if (type(L, arg) == TNONE) arg_error(L, arg, "value expected");
}

int check_option(State* L, int arg, const char* def, const char* const lst[]) {
  const char* name = def ? opt_string(L, arg, def) : check_string(L, arg);
  for (int i = 0; lst[i]; i++)
    if (std::strcmp(lst[i], name) == 0) return i;
  arg_error(L, arg, push_fstring(L, "invalid option '%s'", name));
}

// ---------------------------------------------------------------- metatables

bool new_metatable(State* L, const char* tname) {
  if (get_metatable_named(L, tname) != TNIL) return false;  // leaves it on the stack
  pop(L, 1);
  check_stack_or_error(L, 2, nullptr);
  create_table(L, 0, 2);
  push_string(L, tname);
  set_field(L, -2, "__name");
  push_value(L, -1);
  set_field(L, REGISTRYINDEX, tname);
  return true;
}

void set_metatable_named(State* L, const char* tname) {
  get_metatable_named(L, tname);
  set_metatable(L, -2);
}

void* test_udata(State* L, int ud, const char* tname) {
  void* p = to_userdata(L, ud);
  if (p == nullptr || type(L, ud) != TUSERDATA) return nullptr;
  if (!get_metatable(L, ud)) return nullptr;
  get_metatable_named(L, tname);
  if (!raw_equal(L, -1, -2)) p = nullptr;
  pop(L, 2);
  return p;
}

void* check_udata(State* L, int ud, const char* tname) {
  void* p = test_udata(L, ud, tname);
  if (p == nullptr) type_error(L, ud, tname);
  return p;
}

// ---------------------------------------------------------------- results of system calls

int file_result(State* L, int stat, const char* fname) {
  int en = errno;  // calls below may change it
  if (stat) {
    push_boolean(L, true);
    return 1;
  }
  push_fail(L);
  if (fname) push_fstring(L, "%s: %s", fname, std::strerror(en));
  else push_string(L, std::strerror(en));
  push_integer(L, en);
  return 3;
}

int exec_result(State* L, int stat) {
  if (stat != 0 && errno != 0) return file_result(L, 0, nullptr);
  const char* what = "exit";
  if (WIFEXITED(stat)) {
    stat = WEXITSTATUS(stat);
  } else if (WIFSIGNALED(stat)) {
    stat = WTERMSIG(stat);
    what = "signal";
  }
  if (*what == 'e' && stat == 0) push_boolean(L, true);
  else push_fail(L);
  push_string(L, what);
  push_integer(L, stat);
  return 3;
}

// ---------------------------------------------------------------- references

int ref(State* L, int t) {
  if (is_nil(L, -1)) {
    pop(L, 1);
    return REFNIL;
  }
  t = abs_index(L, t);
  int r;
  if (raw_get_i(L, t, FREELIST) == TNIL) {  // first use of this table
    r = 0;
    push_integer(L, 0);
    raw_set_i(L, t, FREELIST);
  } else {
    r = static_cast<int>(to_integerx(L, -1));
  }
  pop(L, 1);
  if (r != 0) {  // reuse a freed reference
    raw_get_i(L, t, r);
    raw_set_i(L, t, FREELIST);
  } else {
    r = static_cast<int>(raw_len(L, t)) + 1;
  }
  raw_set_i(L, t, r);
  return r;
}

void unref(State* L, int t, int r) {
  if (r < 0) return;
  t = abs_index(L, t);
  raw_get_i(L, t, FREELIST);
  raw_set_i(L, t, r);  // t[r] = old head of the free list
  push_integer(L, r);
  raw_set_i(L, t, FREELIST);
}

// ---------------------------------------------------------------- loading

namespace {

struct StringSource {
  const char* s;
  size_t size;
};

const char* read_string(State*, void* ud, size_t* size) {
  auto* ss = static_cast<StringSource*>(ud);
  if (ss->size == 0) return nullptr;
  *size = ss->size;
  ss->size = 0;
  return ss->s;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

int err_file(State* L, const char* what, int fnameindex) {
  int err = errno;
  const char* filename = to_string(L, fnameindex) + 1;
  if (err != 0) push_fstring(L, "cannot %s %s: %s", what, filename, std::strerror(err));
  else push_fstring(L, "cannot %s %s", what, filename);
  remove(L, fnameindex);
  return ERRFILE;
}

}  // namespace

int load_filex(State* L, const char* filename, const char* mode) {
  int fnameindex = get_top(L) + 1;
  FILE* f;
  std::unique_ptr<FILE, FileCloser> owned;
  if (filename == nullptr) {
    push_string(L, "=stdin");
    f = stdin;
  } else {
    push_fstring(L, "@%s", filename);
    errno = 0;
    f = std::fopen(filename, "rb");
    if (f == nullptr) return err_file(L, "open", fnameindex);
    owned.reset(f);
  }
  std::string text;
  char buf[BUFSIZ];
  size_t n;
  errno = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  if (std::ferror(f)) {
    set_top(L, fnameindex);
    return err_file(L, "read", fnameindex);
  }
  if (filename == nullptr) std::clearerr(stdin);
  // Skip a UTF-8 byte-order mark, then a first line starting with '#' (kept
  // as an empty line so line numbers stay right, unless the rest is binary).
  size_t start = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) start = 3;
  std::string chunk;
  if (start < text.size() && text[start] == '#') {
    size_t eol = text.find('\n', start);
    size_t rest = eol == std::string::npos ? text.size() : eol + 1;
    if (rest < text.size() && text[rest] == '\x1b') chunk = text.substr(rest);
    else chunk.assign(1, '\n').append(text, rest, std::string::npos);  // (operator+ trips a false -Wrestrict in GCC 12)
  } else {
    chunk = text.substr(start);
  }
  StringSource ss{chunk.data(), chunk.size()};
  int status = load(L, read_string, &ss, to_string(L, -1), mode);
  remove(L, fnameindex);
  return status;
}

int load_bufferx(State* L, const char* buff, size_t sz, const char* name, const char* mode) {
  StringSource ss{buff, sz};
  return load(L, read_string, &ss, name, mode);
}

int load_string(State* L, const char* s) { return load_bufferx(L, s, std::strlen(s), s, nullptr); }

// ---------------------------------------------------------------- misc

Integer len_i(State* L, int idx) {
  len(L, idx);
  bool isnum;
  Integer l = to_integerx(L, -1, &isnum);
  if (!isnum) error_f(L, "object length is not an integer");
  pop(L, 1);
  return l;
}

const char* gsub(State* L, const char* s, const char* p, const char* r) {
  size_t l = std::strlen(p);
  Buffer b(L);
  const char* wild;
  // An empty pattern would match forever at the same place: nothing to replace.
  while (l > 0 && (wild = std::strstr(s, p)) != nullptr) {
    b.add(s, static_cast<size_t>(wild - s));
    b.add(r);
    s = wild + l;
  }
  b.add(s);
  b.push_result();
  return to_string(L, -1);
}

void set_funcs(State* L, const Reg* l, int nup) {
  check_stack_or_error(L, nup, "too many upvalues");
  for (; l->name != nullptr; l++) {
    if (l->func == nullptr) {
      push_boolean(L, false);
    } else {
      for (int i = 0; i < nup; i++) push_value(L, -nup);
      push_native_closure(L, l->func, nup);
    }
    set_field(L, -(nup + 2), l->name);
  }
  pop(L, nup);
}

bool get_subtable(State* L, int idx, const char* fname) {
  if (get_field(L, idx, fname) == TTABLE) return true;
  pop(L, 1);
  idx = abs_index(L, idx);
  new_table(L);
  push_value(L, -1);
  set_field(L, idx, fname);
  return false;
}

void traceback(State* L, State* L1, const char* msg, int level) {
  DebugInfo ar;
  int last = last_level(L1);
  int limit2show = (last - level > LEVELS1 + LEVELS2) ? LEVELS1 : -1;
  Buffer b(L);
  if (msg) {
    b.add(msg);
    b.add_char('\n');
  }
  b.add("stack traceback:");
  while (get_stack(L1, level++, &ar)) {
    if (limit2show-- == 0) {
      int n = last - level - LEVELS2 + 1;
      push_fstring(L, "\n\t...\t(skipping %d levels)", n);
      b.add_value();
      level += n;
    } else {
      get_info(L1, "Slnt", &ar);
      if (ar.currentline <= 0) push_fstring(L, "\n\t%s: in ", ar.short_src);
      else push_fstring(L, "\n\t%s:%d: in ", ar.short_src, ar.currentline);
      b.add_value();
      push_func_name(L, &ar);
      b.add_value();
      if (ar.istailcall) b.add("\n\t(...tail calls...)");
    }
  }
  b.push_result();
}

void requiref(State* L, const char* modname, NativeFn openf, bool glb) {
  get_subtable(L, REGISTRYINDEX, LOADED_TABLE);
  get_field(L, -1, modname);
  if (!to_boolean(L, -1)) {
    pop(L, 1);
    push_native_function(L, openf);
    push_string(L, modname);
    call(L, 1, 1);
    push_value(L, -1);
    set_field(L, -3, modname);  // LOADED[modname] = module
  }
  remove(L, -2);
  if (glb) {
    push_value(L, -1);
    set_global(L, modname);
  }
}

void new_lib(State* L, const Reg* l) {
  int n = 0;
  while (l[n].name) n++;
  create_table(L, 0, n);
  set_funcs(L, l, 0);
}

void check_version(State* L) {
  // The host and the library must agree on the value representation.
  if (sizeof(Integer) != 8 || sizeof(Number) != 8)
    error_f(L, "core and library have incompatible numeric types");
}

// ---------------------------------------------------------------- Buffer

Buffer::Buffer(State* L) : L_(L), b_(init_), size_(sizeof init_), n_(0) {
  push_light_userdata(L, this);  // placeholder for the box
}

char* Buffer::prepare(size_t sz) {
  if (size_ - n_ >= sz) return b_ + n_;
  // The buffer slot is on the top: swap in a bigger userdata box.
  size_t newsize = size_ * 2;
  if (static_cast<size_t>(-1) - sz < n_) error_f(L_, "buffer too large");
  if (newsize < n_ + sz) newsize = n_ + sz;
  // Growth doubles, so charging each new box charges every byte the
  // buffer ever holds (format, gsub, rep, concat...), before allocating.
  charge_bytes(L_, newsize);
  auto* box = static_cast<char*>(new_userdata(L_, newsize, 0));
  std::memcpy(box, b_, n_);
  replace(L_, -2);  // the old box (if any) goes away
  b_ = box;
  size_ = newsize;
  return b_ + n_;
}

void Buffer::add(const char* s, size_t l) {
  if (l == 0) return;
  char* p = prepare(l);
  std::memcpy(p, s, l);
  n_ += l;
}

void Buffer::add(const char* s) { add(s, std::strlen(s)); }

void Buffer::add_value() {
  size_t l = 0;
  const char* s = to_lstring(L_, -1, &l);
  if (s != nullptr && size_ - n_ >= l) {
    // It fits: no new box is made, so the value can be copied where it is.
    std::memcpy(b_ + n_, s, l);
    n_ += l;
    pop(L_, 1);
    return;
  }
  // TValue on top, buffer slot below it: move the value under the slot so
  // prepare() finds the box on the top, and keep the string alive meanwhile.
  insert(L_, -2);
  s = to_lstring(L_, -2, &l);
  add(s, l);
  remove(L_, -2);
}

void Buffer::push_result() {
  push_lstring(L_, b_, n_);
  remove(L_, -2);
}

}  // namespace luna
