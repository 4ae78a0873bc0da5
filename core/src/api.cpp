// The stack API (lua_* counterparts): how native code reads and changes the
// stack of a thread. Index rules, stack discipline and error behaviour follow
// the Lua 5.4 C API.
#include <cstring>
#include <string>

#include "state.hpp"

namespace luna {

namespace {

// Native frames get MINSTACK slots; the API trusts callers for the rest, as
// the C API does, but never writes past the allocated stack.
inline void api_push(State* L, TValue v) {  // by value: v may live on the stack
  if (L->top >= L->stack_last) stack_grow(L, 1);
  *L->top++ = v;
}

inline bool is_pseudo(int idx) { return idx <= REGISTRYINDEX; }

// Stack slot (never a pseudo-index) for an acceptable index.
TValue* index_to_stack(State* L, int idx) {
  if (idx > 0) return L->ci->func + idx;
  return L->top + idx;
}

Table* globals_table(State* L) {
  return table_get_int(registry(L), RIDX_GLOBALS)->as_table();
}

// Absent-key markers must never leak onto the stack as values.
inline TValue clean(const TValue* v) { return v->is_nil() ? TValue::nil() : *v; }

}  // namespace

namespace {

// Registry and upvalue pseudo-indices.
inline TValue* pseudo_to_value(State* L, int idx) {
  if (idx == REGISTRYINDEX) return &L->g->l_registry;
  // Upvalues of the running native closure.
  int n = REGISTRYINDEX - idx;
  const TValue& fn = *L->ci->func;
  if (fn.tag == Tag::NClosure) {
    NClosure* cl = fn.as_nclosure();
    if (n <= cl->nupvalues) return &cl->upvalue[n - 1];
  }
  return &L->g->nilvalue;  // light functions have no upvalues
}

// Every API function starts here, so it is inlined into each of them rather
// than called through the exported index_to_value.
inline TValue* value_at(State* L, int idx) {
  if (idx > 0) {
    TValue* o = L->ci->func + idx;
    return o >= L->top ? &L->g->nilvalue : o;
  }
  if (!is_pseudo(idx)) return L->top + idx;
  return pseudo_to_value(L, idx);
}

}  // namespace

TValue* index_to_value(State* L, int idx) { return value_at(L, idx); }

// ---------------------------------------------------------------- stack basics

int abs_index(State* L, int idx) {
  return (idx > 0 || is_pseudo(idx)) ? idx : static_cast<int>(L->top - L->ci->func) + idx;
}

int get_top(State* L) { return static_cast<int>(L->top - (L->ci->func + 1)); }

void set_top(State* L, int idx) {
  TValue* func = L->ci->func;
  TValue* newtop;
  if (idx >= 0) {
    newtop = func + 1 + idx;
    if (newtop > L->stack_last) {  // beyond the guaranteed space (a misuse): grow rather than overrun
      ptrdiff_t f = L->save(func);
      stack_grow(L, static_cast<int>(newtop - L->top));
      func = L->restore(f);
      newtop = func + 1 + idx;
    }
    while (L->top < newtop) *L->top++ = TValue::nil();
  } else {
    newtop = L->top + idx + 1;
  }
  // Dropping slots that hold to-be-closed variables closes them first.
  if (L->ntbc > 0 && L->restore(L->tbclist[L->ntbc - 1]) >= newtop) {
    ptrdiff_t saved = L->save(newtop);
    upval_close(L, newtop);
    tbc_close(L, newtop, OK);
    newtop = L->restore(saved);
  }
  L->top = newtop;
}

void push_value(State* L, int idx) { api_push(L, *value_at(L, idx)); }

namespace {
void reverse(TValue* from, TValue* to) {
  for (; from < to; from++, to--) {
    TValue t = *from;
    *from = *to;
    *to = t;
  }
}
}  // namespace

void rotate(State* L, int idx, int n) {
  TValue* t = L->top - 1;
  TValue* p = index_to_stack(L, idx);
  TValue* m = n >= 0 ? t - n : p - n - 1;
  reverse(p, m);
  reverse(m + 1, t);
  reverse(p, t);
}

void copy(State* L, int fromidx, int toidx) {
  TValue v = *value_at(L, fromidx);
  TValue* to = value_at(L, toidx);
  if (to == &L->g->nilvalue) return;  // nonexistent upvalue
  *to = v;
  if (toidx < REGISTRYINDEX && v.is_collectable())  // native closure upvalue
    gc_barrier(L, L->ci->func->u.gc, v);
}

bool check_stack(State* L, int n) {
  if (n < 0) return false;
  CallInfo* ci = L->ci;
  bool ok = true;
  if (L->stack_last - L->top <= n) {
    int inuse = static_cast<int>(L->top - L->stack) + EXTRA_STACK;
    if (inuse > MAXSTACK - n) {
      ok = false;
    } else {
      stack_grow(L, n, false);
      ok = L->stack_last - L->top >= n;
    }
  }
  if (ok && ci->top < L->top + n) ci->top = L->top + n;
  return ok;
}

void xmove(State* from, State* to, int n) {
  if (from == to || n <= 0) return;
  ensure_stack(to, n);
  from->top -= n;
  for (int i = 0; i < n; i++) *to->top++ = from->top[i];
}

// ---------------------------------------------------------------- access

bool is_number(State* L, int idx) {
  Number n;
  return to_number(*value_at(L, idx), &n);
}

bool is_string(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  return o->is_string() || o->is_number();
}

bool is_native_function(State* L, int idx) {
  Tag t = value_at(L, idx)->tag;
  return t == Tag::LightFn || t == Tag::NClosure;
}

bool is_integer(State* L, int idx) { return value_at(L, idx)->is_int(); }

bool is_userdata(State* L, int idx) {
  Tag t = value_at(L, idx)->tag;
  return t == Tag::Userdata || t == Tag::LightUd;
}

int type(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  return o == &L->g->nilvalue ? TNONE : o->type();
}

const char* type_name(State*, int tp) { return type_name_of(tp); }

Number to_numberx(State* L, int idx, bool* isnum) {
  Number n = 0;
  bool ok = to_number(*value_at(L, idx), &n);
  if (isnum) *isnum = ok;
  return ok ? n : 0;
}

Integer to_integerx(State* L, int idx, bool* isnum) {
  Integer i = 0;
  bool ok = to_integer(*value_at(L, idx), &i);
  if (isnum) *isnum = ok;
  return ok ? i : 0;
}

bool to_boolean(State* L, int idx) { return value_at(L, idx)->truthy(); }

const char* to_lstring(State* L, int idx, size_t* len) {
  TValue* o = value_at(L, idx);
  if (!o->is_string()) {
    if (!o->is_number()) {
      if (len) *len = 0;
      return nullptr;
    }
    vm_tostring(L, o);
    gc_check(L);
    o = value_at(L, idx);  // the collector may have run
  }
  String* s = o->as_string();
  if (len) *len = s->len;
  return s->c_str();
}

size_t raw_len(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  switch (o->tag) {
    case Tag::ShortStr:
    case Tag::LongStr: return o->as_string()->len;
    case Tag::Userdata: return o->as_udata()->len;
    case Tag::Table: return static_cast<size_t>(table_length(o->as_table()));
    default: return 0;
  }
}

NativeFn to_native_function(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  if (o->tag == Tag::LightFn) return o->u.f;
  if (o->tag == Tag::NClosure) return o->as_nclosure()->f;
  return nullptr;
}

void* to_userdata(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  if (o->tag == Tag::Userdata) return o->as_udata()->data();
  if (o->tag == Tag::LightUd) return o->u.p;
  return nullptr;
}

State* to_thread(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  return o->is_thread() ? o->as_thread() : nullptr;
}

const void* to_pointer(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  switch (o->tag) {
    case Tag::LightFn: return reinterpret_cast<const void*>(o->u.f);
    case Tag::LightUd: return o->u.p;
    case Tag::Userdata: return o->as_udata()->data();
    default: return o->is_collectable() ? o->u.gc : nullptr;
  }
}

// ------------------------------------------------------- comparison, arithmetic

void arith(State* L, int op) {
  if (op == OPUNM || op == OPBNOT) api_push(L, L->top[-1]);  // fake second operand
  TValue a = L->top[-2];
  TValue b = L->top[-1];
  vm_arith(L, op, a, b, L->top - 2);
  L->top--;
}

bool raw_equal(State* L, int idx1, int idx2) {
  const TValue* a = value_at(L, idx1);
  const TValue* b = value_at(L, idx2);
  if (a == &L->g->nilvalue || b == &L->g->nilvalue) return false;
  return vm_equal(nullptr, *a, *b);
}

bool compare(State* L, int idx1, int idx2, int op) {
  const TValue* pa = value_at(L, idx1);
  const TValue* pb = value_at(L, idx2);
  if (pa == &L->g->nilvalue || pb == &L->g->nilvalue) return false;
  TValue a = *pa, b = *pb;  // metamethods may move the stack
  switch (op) {
    case OPEQ: return vm_equal(L, a, b);
    case OPLT: return vm_less_than(L, a, b);
    case OPLE: return vm_less_equal(L, a, b);
    default: return false;
  }
}

// ---------------------------------------------------------------- push

void push_nil(State* L) { api_push(L, TValue::nil()); }
void push_number(State* L, Number n) { api_push(L, TValue::number(n)); }
void push_integer(State* L, Integer n) { api_push(L, TValue::integer(n)); }

const char* push_lstring(State* L, const char* s, size_t len) {
  String* ts = len == 0 ? str_new(L, "", 0) : str_new(L, s, len);
  api_push(L, str_value(ts));
  gc_check(L);
  return ts->c_str();
}

const char* push_string(State* L, const char* s) {
  if (s == nullptr) {
    push_nil(L);
    return nullptr;
  }
  return push_lstring(L, s, std::strlen(s));
}

namespace {
// push_vfstring's text: on the stack while it fits (error messages with a
// position: a heap string cost a malloc and a free per caught error),
// on the heap past that.
class FormatBuffer {
 public:
  void append(const char* s, size_t n) {
    if (heap_.empty() && len_ + n <= sizeof small_) {
      std::memcpy(small_ + len_, s, n);
      len_ += n;
      return;
    }
    if (heap_.empty()) heap_.assign(small_, len_);
    heap_.append(s, n);
  }
  void operator+=(char c) { append(&c, 1); }
  void operator+=(const char* s) { append(s, std::strlen(s)); }
  const char* data() const { return heap_.empty() ? small_ : heap_.data(); }
  size_t size() const { return heap_.empty() ? len_ : heap_.size(); }
  void release() { std::string().swap(heap_); }  // own nothing while raising

 private:
  char small_[200];
  size_t len_ = 0;
  std::string heap_;  // every byte once the text outgrows small_
};

// UTF-8 encoding of x (up to 0x7FFFFFFF, 6 bytes) appended to out.
void append_utf8(FormatBuffer& out, unsigned long x) {
  char buf[8];
  int n = 1;  // bytes written backwards from buf[7]
  if (x < 0x80) {
    buf[7] = static_cast<char>(x);
  } else {
    unsigned int mfb = 0x3f;  // largest value that fits in the first byte
    do {
      buf[8 - n++] = static_cast<char>(0x80 | (x & 0x3f));
      x >>= 6;
      mfb >>= 1;
    } while (x > mfb);
    buf[8 - n] = static_cast<char>((~mfb << 1) | x);
  }
  out.append(buf + 8 - n, n);
}
}  // namespace

const char* push_vfstring(State* L, const char* fmt, va_list argp) {
  FormatBuffer out;
  char num[MAX_NUMBER_TEXT];
  for (const char* p = fmt; *p; p++) {
    if (*p != '%') {
      out += *p;
      continue;
    }
    switch (*++p) {
      case 's': {
        const char* s = va_arg(argp, const char*);
        out += s ? s : "(null)";
        break;
      }
      case 'c': out += static_cast<char>(va_arg(argp, int)); break;
      case 'd': {
        TValue v = TValue::integer(va_arg(argp, int));
        out.append(num, number_to_text(v, num));
        break;
      }
      case 'I': {
        TValue v = TValue::integer(static_cast<Integer>(va_arg(argp, Integer)));
        out.append(num, number_to_text(v, num));
        break;
      }
      case 'f': {
        TValue v = TValue::number(static_cast<Number>(va_arg(argp, double)));
        out.append(num, number_to_text(v, num, dialect(L).float_round_trip));
        break;
      }
      case 'p': {
        int n = std::snprintf(num, sizeof num, "%p", va_arg(argp, void*));
        out.append(num, n);
        break;
      }
      case 'U': append_utf8(out, static_cast<unsigned long>(va_arg(argp, long))); break;
      case '%': out += '%'; break;
      default: {
        out.release();
        run_error(L, "invalid option '%%%c' to 'lua_pushfstring'", *p ? *p : ' ');
      }
    }
  }
  return push_lstring(L, out.data(), out.size());
}

const char* push_fstring(State* L, const char* fmt, ...) {
  va_list argp;
  va_start(argp, fmt);
  const char* s = push_vfstring(L, fmt, argp);
  va_end(argp);
  return s;
}

void push_native_closure(State* L, NativeFn fn, int n) {
  if (n == 0) {
    api_push(L, TValue::light_fn(fn));
    return;
  }
  NClosure* cl = nclosure_new(L, n);
  cl->f = fn;
  L->top -= n;
  for (int i = 0; i < n; i++) cl->upvalue[i] = L->top[i];
  *L->top++ = TValue::object(cl);
  gc_check(L);
}

void push_boolean(State* L, bool b) { api_push(L, TValue::boolean(b)); }
void push_light_userdata(State* L, void* p) { api_push(L, TValue::light_ud(p)); }

bool push_thread(State* L) {
  api_push(L, TValue::object(L));
  return L->g->mainthread == L;
}

// ---------------------------------------------------------------- get

namespace {
// t[key] where the key is already pushed: the result replaces the key.
int finish_get(State* L, const TValue& t) {
  TValue key = L->top[-1];
  vm_get(L, t, key, L->top - 1);
  return L->top[-1].type();
}

Table* check_table_at(State* L, int idx) {
  const TValue* o = value_at(L, idx);
  if (!o->is_table()) run_error(L, "table expected");
  return o->as_table();
}
}  // namespace

int get_global(State* L, const char* name) {
  TValue g = TValue::object(globals_table(L));
  api_push(L, str_value(str_new_cstr(L, name)));
  return finish_get(L, g);
}

int get_table(State* L, int idx) {
  TValue t = *value_at(L, idx);
  return finish_get(L, t);
}

int get_field(State* L, int idx, const char* k) {
  TValue t = *value_at(L, idx);
  api_push(L, str_value(str_new_cstr(L, k)));
  return finish_get(L, t);
}

// A present value in a table's array part: no metamethod can be involved,
// so get_i/set_i (table.sort, table.concat, ipairs-like loops in natives)
// skip the generic path.
namespace {
TValue* array_slot(const TValue& t, Integer n) {
  if (!t.is_table()) return nullptr;
  Table* h = t.as_table();
  if (static_cast<Unsigned>(n) - 1 >= h->asize || h->array[n - 1].is_nil()) return nullptr;
  return &h->array[n - 1];
}
}  // namespace

int get_i(State* L, int idx, Integer n) {
  TValue t = *value_at(L, idx);
  if (const TValue* slot = array_slot(t, n)) {
    api_push(L, *slot);
    return slot->type();
  }
  api_push(L, TValue::integer(n));
  return finish_get(L, t);
}

int raw_get(State* L, int idx) {
  Table* t = check_table_at(L, idx);
  L->top[-1] = clean(table_get(t, L->top[-1]));
  return L->top[-1].type();
}

int raw_get_i(State* L, int idx, Integer n) {
  Table* t = check_table_at(L, idx);
  api_push(L, clean(table_get_int(t, n)));
  return L->top[-1].type();
}

int raw_get_p(State* L, int idx, const void* p) {
  Table* t = check_table_at(L, idx);
  api_push(L, clean(table_get(t, TValue::light_ud(const_cast<void*>(p)))));
  return L->top[-1].type();
}

void create_table(State* L, int narr, int nrec) {
  Table* t = table_new(L);
  api_push(L, TValue::object(t));
  if (narr > 0 || nrec > 0)
    table_resize(L, t, static_cast<unsigned>(narr > 0 ? narr : 0), static_cast<unsigned>(nrec > 0 ? nrec : 0));
  gc_check(L);
}

void* new_userdata(State* L, size_t sz, int nuvalue) {
  if (nuvalue < 0 || nuvalue > 0xffff) run_error(L, "invalid number of user values");
  Udata* u = udata_new(L, sz, nuvalue);
  api_push(L, TValue::object(u));
  gc_check(L);
  return u->data();
}

bool get_metatable(State* L, int objindex) {
  Table* mt = metatable_of(L, *value_at(L, objindex));
  if (mt == nullptr) return false;
  api_push(L, TValue::object(mt));
  return true;
}

int get_iuservalue(State* L, int idx, int n) {
  const TValue* o = value_at(L, idx);
  if (!o->is_userdata() || n <= 0 || n > o->as_udata()->nuvalue) {
    push_nil(L);
    return TNONE;
  }
  api_push(L, o->as_udata()->uv[n - 1]);
  return L->top[-1].type();
}

// ---------------------------------------------------------------- set

namespace {
// t[key] = value with the key on top and the value just below it; pops both.
void finish_set(State* L, const TValue& t) {
  TValue key = L->top[-1];
  TValue val = L->top[-2];
  vm_set(L, t, key, val);
  L->top -= 2;
}
}  // namespace

void set_global(State* L, const char* name) {
  TValue g = TValue::object(globals_table(L));
  api_push(L, str_value(str_new_cstr(L, name)));
  finish_set(L, g);
}

void set_table(State* L, int idx) {
  TValue t = *value_at(L, idx);
  TValue key = L->top[-2];
  TValue val = L->top[-1];
  vm_set(L, t, key, val);
  L->top -= 2;
}

void set_field(State* L, int idx, const char* k) {
  TValue t = *value_at(L, idx);
  api_push(L, str_value(str_new_cstr(L, k)));
  finish_set(L, t);
}

void set_i(State* L, int idx, Integer n) {
  TValue t = *value_at(L, idx);
  if (TValue* slot = array_slot(t, n)) {
    *slot = L->top[-1];
    gc_barrier_back(L, t.as_table());
    L->top--;
    return;
  }
  api_push(L, TValue::integer(n));
  finish_set(L, t);
}

void raw_set(State* L, int idx) {
  Table* t = check_table_at(L, idx);
  table_set(L, t, L->top[-2], L->top[-1]);
  L->top -= 2;
}

void raw_set_i(State* L, int idx, Integer n) {
  Table* t = check_table_at(L, idx);
  table_set_int(L, t, n, L->top[-1]);
  L->top--;
}

void raw_set_p(State* L, int idx, const void* p) {
  Table* t = check_table_at(L, idx);
  table_set(L, t, TValue::light_ud(const_cast<void*>(p)), L->top[-1]);
  L->top--;
}

void set_metatable(State* L, int objindex) {
  TValue* obj = value_at(L, objindex);
  const TValue& top = L->top[-1];
  Table* mt = nullptr;
  if (top.is_table()) mt = top.as_table();
  else if (!top.is_nil()) run_error(L, "table expected");
  switch (obj->tag) {
    case Tag::Table: {
      Table* t = obj->as_table();
      t->metatable = mt;
      if (mt) {
        gc_barrier_obj(L, t, mt);
        gc_check_finalizer(L, t, mt);
      }
      break;
    }
    case Tag::Userdata: {
      Udata* u = obj->as_udata();
      u->metatable = mt;
      if (mt) {
        gc_barrier_obj(L, u, mt);
        gc_check_finalizer(L, u, mt);
      }
      break;
    }
    default: L->g->mt[obj->type()] = mt; break;
  }
  L->top--;
}

bool set_iuservalue(State* L, int idx, int n) {
  TValue* o = value_at(L, idx);
  bool ok = false;
  if (o->is_userdata() && n > 0 && n <= o->as_udata()->nuvalue) {
    Udata* u = o->as_udata();
    u->uv[n - 1] = L->top[-1];
    gc_barrier(L, u, L->top[-1]);
    ok = true;
  }
  L->top--;
  return ok;
}

// ---------------------------------------------------------------- calls

namespace {
void adjust_results(State* L, int nresults) {
  if (nresults == MULTRET && L->ci->top < L->top) L->ci->top = L->top;
}

struct CallArgs {
  TValue* func;
  int nresults;
};

void do_call_noyield(State* L, void* ud) {
  auto* c = static_cast<CallArgs*>(ud);
  call_noyield(L, c->func, c->nresults);
}

}  // namespace

void call(State* L, int nargs, int nresults) {
  call_noyield(L, L->top - (nargs + 1), nresults);
  adjust_results(L, nresults);
}

void call_k(State* L, int nargs, int nresults, KContext ctx, KFunction k) {
  TValue* func = L->top - (nargs + 1);
  if (k != nullptr && L->nny == 0) {
    CallInfo* ci = L->ci;
    ci->k = k;
    ci->ctx = ctx;
    luna::call(L, func, nresults);
  } else {
    call_noyield(L, func, nresults);
  }
  adjust_results(L, nresults);
}

int pcall(State* L, int nargs, int nresults, int msgh) { return pcall_k(L, nargs, nresults, msgh, 0, nullptr); }

int pcall_k(State* L, int nargs, int nresults, int msgh, KContext ctx, KFunction k) {
  ptrdiff_t ef = 0;
  if (msgh != 0) ef = L->save(index_to_stack(L, msgh));
  CallArgs c{L->top - (nargs + 1), nresults};
  int status = OK;
  if (k == nullptr || L->nny > 0) {
    status = pcall_raw(L, do_call_noyield, &c, L->save(c.func), ef, true, true);
  } else {
    // In a running coroutine: no catch point here. An error goes to the
    // resume, which finds this frame by CIST_YPCALL and recovers it
    // (coroutine.cpp), then goes on in k.
    CallInfo* ci = L->ci;
    ci->k = k;
    ci->ctx = ctx;
    ci->funcidx = static_cast<int32_t>(L->save(c.func));
    ci->old_allowhook = L->allowhook;
    ci->old_errfunc = static_cast<int32_t>(L->errfunc);
    ci->recover_status = OK;
    L->errfunc = ef;
    ci->callstatus |= CIST_YPCALL;
    luna::call(L, c.func, nresults);
    ci->callstatus &= static_cast<uint16_t>(~CIST_YPCALL);
    L->errfunc = ci->old_errfunc;
  }
  adjust_results(L, nresults);
  return status;
}

namespace {
struct LoadAll {
  Reader reader;
  void* data;
  std::string buf;
};

// Drains the reader inside a protected call so its errors become a status.
void read_all(State* L, void* ud) {
  auto* ls = static_cast<LoadAll*>(ud);
  for (;;) {
    size_t size = 0;
    const char* piece = ls->reader(L, ls->data, &size);
    if (piece == nullptr || size == 0) break;
    ls->buf.append(piece, size);
  }
}
}  // namespace

int load(State* L, Reader reader, void* data, const char* chunkname, const char* mode) {
  if (chunkname == nullptr) chunkname = "?";
  LoadAll ls{reader, data, {}};
  int status = pcall_raw(L, read_all, &ls, L->save(L->top), L->errfunc);
  if (status != OK) return status;
  status = protected_parser(L, ls.buf.data(), ls.buf.size(), chunkname, mode);
  if (status == OK) {
    LClosure* f = L->top[-1].as_lclosure();
    if (f->nupvalues >= 1) {
      // The main chunk's first upvalue is _ENV: the globals table.
      TValue g = *table_get_int(registry(L), RIDX_GLOBALS);
      UpVal* uv = f->upvals[0];
      *uv->v = g;
      gc_barrier(L, uv, g);
    }
  }
  return status;
}

int dump(State* L, Writer writer, void* data, bool strip) {
  const TValue& o = L->top[-1];
  if (!o.is_lclosure()) return 1;
  return dump_proto(L, o.as_lclosure()->p, writer, data, strip);
}

// ---------------------------------------------------------------- coroutines

int resume(State* L, State* from, int narg, int* nres) { return coro_resume(L, from, narg, nres); }
int status(State* L) { return L->status; }
bool is_yieldable(State* L) { return L->nny == 0; }
int yield(State* L, int nresults) { return coro_yield(L, nresults, 0, nullptr); }
int yield_k(State* L, int nresults, KContext ctx, KFunction k) { return coro_yield(L, nresults, ctx, k); }

// ---------------------------------------------------------------- gc

// Pause and step multiplier keep 5.4's precision: a byte counting fours,
// so what is read back is what 5.4 reads back (150 -> 148, 2000 -> 976).
static int gc_param(int percent) { return ((percent / 4) & 0xff) * 4; }

int gc(State* L, int what, int a, int b, int c) {
  GlobalState* g = L->g;
  if (g->gcstp & GCSTP_INTERNAL) return -1;  // collector busy or state closing
  int res = 0;
  switch (what) {
    case GCSTOP: g->gcstp |= GCSTP_USER; break;
    case GCRESTART:
      gc_set_debt(g, 0);
      g->gcstp &= static_cast<uint8_t>(~GCSTP_USER);
      break;
    case GCCOLLECT: gc_collect_api(L); break;
    case GCCOUNT: res = static_cast<int>(gc_count_bytes(L) >> 10); break;
    case GCCOUNTB: res = static_cast<int>(gc_count_bytes(L) & 0x3ff); break;
    // A generational step never ends an incremental cycle, so as in 5.4 it
    // reports false even though luna's step collects fully.
    case GCSTEP: res = gc_step_api(L, a) && g->gckind == 0 ? 1 : 0; break;
    case GCSETPAUSE:
      res = g->gcpause;
      g->gcpause = gc_param(a);
      break;
    case GCSETSTEPMUL:
      res = g->gcstepmul;
      g->gcstepmul = gc_param(a);
      break;
    case GCISRUNNING: res = g->gcstp == 0; break;
    case GCGEN:
      if (!dialect(L).gen_gc) {  // the luna command asks for it; 5.3 stays incremental
        res = GCINC;
        break;
      }
      if (a != 0) g->genminormul = a;
      if (b != 0) g->genmajormul = b;
      res = gc_change_mode(L, 1) == 1 ? GCGEN : GCINC;
      break;
    case GCINC:
      if (a != 0) g->gcpause = gc_param(a);
      if (b != 0) g->gcstepmul = gc_param(b);
      if (c != 0) g->gcstepsize = c;
      res = gc_change_mode(L, 0) == 1 ? GCGEN : GCINC;
      break;
    default: res = -1;
  }
  return res;
}

// ---------------------------------------------------------------- misc

void error(State* L) {
  const TValue& e = L->top[-1];
  if (e.is_string() && e.as_string() == L->g->memerrmsg) throw_status(L, ERRMEM);
  error_msg(L);  // runs the message handler, then raises ERRRUN
}

bool handling_lua_error() noexcept {
  try {
    throw;
  } catch (const LuaThrow&) {
    return true;
  } catch (...) {
    return false;
  }
}

bool next(State* L, int idx) {
  Table* t = check_table_at(L, idx);
  if (L->top >= L->stack_last) stack_grow(L, 1);  // room for the value
  if (table_next(L, t, L->top - 1)) {
    L->top++;
    return true;
  }
  L->top--;
  return false;
}

void concat(State* L, int n) {
  if (n > 0) {
    vm_concat(L, n);
  } else {
    api_push(L, str_value(str_new(L, "", 0)));
  }
  gc_check(L);
}

void len(State* L, int idx) {
  TValue o = *value_at(L, idx);
  api_push(L, TValue::nil());
  vm_len(L, L->top - 1, o);
}

size_t string_to_number(State* L, const char* s) {
  TValue v;
  size_t sz = str_to_number(s, std::strlen(s), &v);
  if (sz != 0) api_push(L, v);
  return sz;
}

void to_close(State* L, int idx) {
  tbc_new(L, index_to_stack(L, idx));
}

void close_slot(State* L, int idx) {
  ptrdiff_t level = L->save(index_to_stack(L, idx));
  upval_close(L, L->restore(level));
  tbc_close(L, L->restore(level), OK);
  *L->restore(level) = TValue::nil();
}

}  // namespace luna
