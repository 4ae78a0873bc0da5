// The value operations the dispatcher, the API and the libraries share
// (equality, ordering, indexing with metamethods, length, concatenation,
// arithmetic with metamethods), and the slow paths of the instruction
// handlers. The dispatcher itself is execute.cpp.
#include <cstring>

#include "opcodes.hpp"
#include "short_bytes.hpp"
#include "vm.hpp"

namespace luna {

namespace {

// Bound on __index / __newindex chains through tables (loop detection).
constexpr int MAX_TAG_LOOP = 2000;
// Largest string a concatenation may build (sizes must fit an Integer too).
constexpr size_t MAX_STRING_SIZE = static_cast<size_t>(PTRDIFF_MAX) / 2;

// Locale-aware string order (strcoll) that also handles embedded zeros by
// comparing the '\0'-separated pieces one after another.
int str_compare(const String* a, const String* b) {
  const char* l = a->data;
  size_t ll = a->len;
  const char* r = b->data;
  size_t lr = b->len;
  for (;;) {
    int c = std::strcoll(l, r);
    if (c != 0) return c;
    size_t piece = std::strlen(l);  // equal pieces: same length in both
    if (piece == lr) return piece == ll ? 0 : 1;
    if (piece == ll) return -1;
    piece++;  // skip the '\0'
    l += piece; ll -= piece;
    r += piece; lr -= piece;
  }
}

// Stores v into a found slot of table h (slot may hold nil or be absent).
void table_store(State* L, Table* h, const TValue& key, const TValue* slot, const TValue& v) {
  if (slot->tag == Tag::AbsKey) {
    // As 5.4, a nil value adds no key (a bad key is still an error): the JIT
    // records such a store as nothing, with no allocation to mirror.
    if (v.is_nil()) normalize_key(L, key);
    else table_set_absent(L, h, key, v);
    return;
  }
  *const_cast<TValue*>(slot) = v;
  table_invalidate_tm_cache(h);
  if (v.is_collectable()) gc_barrier_back(L, h);
}

// Integer limit of a loop with integer start and step; true when the loop
// must not run at all.
bool for_limit(State* L, Integer init, const TValue* lim, Integer* p, Integer step) {
  if (lim->is_int()) {
    *p = lim->u.i;
  } else if (!to_integer(*lim, p, step < 0 ? F2I::Ceil : F2I::Floor)) {
    Number f;
    if (!to_number(*lim, &f)) for_error(L, lim, "limit");
    // A float beyond the integer range (or NaN): clip to the range end.
    if (f > 0) {
      if (step < 0) return true;
      *p = INT64_MAX;
    } else {
      if (step > 0) return true;
      *p = INT64_MIN;
    }
  }
  return step > 0 ? init > *p : init < *p;
}

}  // namespace

bool lt_other(State* L, const TValue& a, const TValue& b) {
  if (a.is_string() && b.is_string()) return str_compare(a.as_string(), b.as_string()) < 0;
  int r = tm_call_order(L, a, b, TM_LT);
  if (r < 0) order_error(L, &a, &b);
  return r != 0;
}
bool le_other(State* L, const TValue& a, const TValue& b) {
  if (a.is_string() && b.is_string()) return str_compare(a.as_string(), b.as_string()) <= 0;
  int r = tm_call_order(L, a, b, TM_LE);
  if (r < 0) order_error(L, &a, &b);
  return r != 0;
}

// The metamethod fallback of an arithmetic instruction whose operands are
// not numbers; `next` is the following instruction. An MMBIN* there (code
// from a PUC-Rio binary chunk) says which event and operand order the
// source had; without one, the instruction's own operands and event do
// (the instruction's k bit: its constant operand came first).
void arith_tm(State* L, const Instruction* next, const TValue* base, const TValue* k, const TValue& a,
              const TValue& b, TValue* ra, TMS ev) {
  Instruction n = *next;
  if (getarg_k(next[-1]) && !is_mmbin(get_op(n))) {
    tm_trybin(L, b, a, ra, ev);
    return;
  }
  OpCode op = get_op(n);
  if (op == OP_MMBIN) {
    tm_trybin(L, base[getarg_A(n)], base[getarg_B(n)], ra, static_cast<TMS>(getarg_C(n)));
  } else if (op == OP_MMBINI || op == OP_MMBINK) {
    TValue other = op == OP_MMBINI ? TValue::integer(getarg_sB(n)) : k[getarg_B(n)];
    const TValue& r = base[getarg_A(n)];
    if (getarg_k(n))
      tm_trybin(L, other, r, ra, static_cast<TMS>(getarg_C(n)));
    else
      tm_trybin(L, r, other, ra, static_cast<TMS>(getarg_C(n)));
  } else {
    tm_trybin(L, a, b, ra, ev);
  }
}

// Order against an immediate operand (LTI..GEI) when R[A] is no number:
// `flip` puts the immediate first, as the source had it.
bool order_imm(State* L, const TValue& a, int imm, bool is_float, bool flip, TMS event) {
  TValue v = is_float ? TValue::number(static_cast<Number>(imm)) : TValue::integer(imm);
  const TValue& p1 = flip ? v : a;
  const TValue& p2 = flip ? a : v;
  int r = tm_call_order(L, p1, p2, event);
  if (r < 0) order_error(L, &p1, &p2);
  return r != 0;
}

// ------------------------------------------------------------ indexing

namespace {

// Finishes t[key] after the raw access missed, the general way: __index
// functions, values other than tables, any key. `slot` is the raw lookup
// result when t is a table (a nil value), nullptr when t is not a table;
// `loop` counts the __index steps already taken, so that a chain is too
// long after MAX_TAG_LOOP steps whichever path took them.
[[gnu::noinline]] void finish_get_any(State* L, const TValue* t, const TValue& key, TValue* val, const TValue* slot,
                                      int loop) {
  for (; loop < MAX_TAG_LOOP; loop++) {
    const TValue* tm;
    if (slot != nullptr) {
      Table* mt = t->as_table()->metatable;
      tm = mt ? tm_get(L, mt, TM_INDEX) : nullptr;
      if (tm == nullptr) {
        set_nil(val);
        return;
      }
    } else {
      tm = tm_get_by_obj(L, *t, TM_INDEX);
      if (tm->is_nil()) type_error_op(L, t, "index");
    }
    if (tm->is_function()) {
      tm_call_res(L, *tm, *t, key, val);
      return;
    }
    t = tm;
    if (t->is_table()) {
      slot = table_get(t->as_table(), key);
      if (!slot->is_nil()) {
        *val = *slot;
        return;
      }
    } else {
      slot = nullptr;
    }
  }
  run_error(L, "'__index' chain too long; possible loop");
}

// The value of the short string key in t's hash part, or nullptr:
// table_get_short_str with the key's pointer compared before its tag (a
// class's other fields are short strings too) and no shared absent value
// to load.
inline const TValue* short_str_value(const Table* t, const String* key) {
  const Node* n = &t->node[key->hash & ((1u << t->lsizenode) - 1)];
  for (;;) {
    if (n->key_u.gc == key && n->key_tag == Tag::ShortStr) return &n->val;
    if (n->next == 0) return nullptr;
    n += n->next;
  }
}

}  // namespace

// Chains of __index tables with a short-string key (a field or method of an
// instance found in its class or a parent class, or missing in all) are
// walked here without calls: the absence cache test, the __index lookup and
// the key lookup are inline, and with no call in the loop no registers are
// saved (richards: 167 instructions per finish_get when each step called
// tm_get and table_get). Anything else continues in finish_get_any from the
// table reached, with the steps taken so far.
void finish_get(State* L, const TValue* t, const TValue& key, TValue* val, const TValue* slot, int steps) {
  if (slot == nullptr) return finish_get_any(L, t, key, val, slot, steps);
  Table* mt = t->as_table()->metatable;
  // A miss in a table without a metatable (the end of an array, an absent
  // key): nil, with no call.
  if (mt == nullptr) {
    set_nil(val);
    return;
  }
  if (key.tag != Tag::ShortStr) return finish_get_any(L, t, key, val, slot, steps);
  const String* name = key.as_string();
  const String* index_name = L->g->tmname[TM_INDEX];
  // steps < MAX_TAG_LOOP: the limit is tested after each step only.
  int loop = steps;
  do {
    if (mt == nullptr || (mt->flags & (1u << TM_INDEX))) {
      set_nil(val);
      return;
    }
    const TValue* tm = short_str_value(mt, index_name);
    // Absent (tm_get caches that), nil, a function or another value.
    if (tm == nullptr || !tm->is_table()) return finish_get_any(L, t, key, val, &table_absent_key, loop);
    Table* h = tm->as_table();
    const TValue* found = short_str_value(h, name);
    if (found != nullptr && !found->is_nil()) {
      *val = *found;
      return;
    }
    mt = h->metatable;
    t = tm;
  } while (++loop < MAX_TAG_LOOP);
  finish_get_any(L, t, key, val, &table_absent_key, MAX_TAG_LOOP);
}

// Finishes t[key] = v after the raw access found no value; `slot` as for finish_get.
void finish_set(State* L, const TValue* t, const TValue& key, const TValue& v, const TValue* slot) {
  for (int loop = 0; loop < MAX_TAG_LOOP; loop++) {
    const TValue* tm;
    if (slot != nullptr) {
      Table* h = t->as_table();
      tm = h->metatable ? tm_get(L, h->metatable, TM_NEWINDEX) : nullptr;
      if (tm == nullptr) {
        table_store(L, h, key, slot, v);
        return;
      }
    } else {
      tm = tm_get_by_obj(L, *t, TM_NEWINDEX);
      if (tm->is_nil()) type_error_op(L, t, "index");
    }
    if (tm->is_function()) {
      tm_call(L, *tm, *t, key, v);
      return;
    }
    t = tm;
    if (t->is_table()) {
      Table* h = t->as_table();
      slot = table_get(h, key);
      if (!slot->is_nil()) {
        table_store(L, h, key, slot, v);
        return;
      }
    } else {
      slot = nullptr;
    }
  }
  run_error(L, "'__newindex' chain too long; possible loop");
}

// FORPREP: checks and prepares R[A..A+3]; true when the loop is skipped.
bool for_prep(State* L, TValue* ra) {
  TValue* pinit = ra;
  TValue* plimit = ra + 1;
  TValue* pstep = ra + 2;
  if (pinit->is_int() && pstep->is_int()) {
    Integer init = pinit->u.i;
    Integer step = pstep->u.i;
    Integer limit;
    if (step == 0) run_error(L, "'for' step is zero");
    set_int(ra + 3, init);
    if (for_limit(L, init, plimit, &limit, step)) return true;
    // Iteration count as an unsigned number: no overflow at the range ends.
    Unsigned count;
    if (step > 0) {
      count = static_cast<Unsigned>(limit) - static_cast<Unsigned>(init);
      if (step != 1) count /= static_cast<Unsigned>(step);
    } else {
      count = static_cast<Unsigned>(init) - static_cast<Unsigned>(limit);
      // -(step + 1) + 1 avoids negating the minimum integer.
      count /= static_cast<Unsigned>(-(step + 1)) + 1u;
    }
    set_int(plimit, static_cast<Integer>(count));
    return false;
  }
  Number init, limit, step;
  if (!to_number(*plimit, &limit)) for_error(L, plimit, "limit");
  if (!to_number(*pstep, &step)) for_error(L, pstep, "step");
  if (!to_number(*pinit, &init)) for_error(L, pinit, "initial value");
  if (step == 0) run_error(L, "'for' step is zero");
  if (step > 0 ? limit < init : init < limit) return true;
  set_flt(plimit, limit);
  set_flt(pstep, step);
  set_flt(ra, init);
  set_flt(ra + 3, init);
  return false;
}

// =================================================================== public

bool vm_tostring(State* L, TValue* obj) {
  if (obj->is_string()) return true;
  if (!obj->is_number()) return false;
  char buf[MAX_NUMBER_TEXT];
  int len = number_to_text(*obj, buf, dialect(L).float_round_trip);
  *obj = str_value(str_new(L, buf, static_cast<size_t>(len)));
  return true;
}

bool vm_equal(State* L, const TValue& a, const TValue& b) {
  if (a.tag != b.tag) {
    if (a.type() != b.type()) return false;
    if (a.type() == TNUMBER) {
      // An integer equals a float only when the float is that integer.
      Integer i1, i2;
      return to_integer(a, &i1, F2I::Exact, false) && to_integer(b, &i2, F2I::Exact, false) && i1 == i2;
    }
    // Nil variants are all nil; other variants of one type never compare equal.
    return a.type() == TNIL;
  }
  const TValue* tm = nullptr;
  switch (a.tag) {
    case Tag::Nil: case Tag::Empty: case Tag::AbsKey: case Tag::False: case Tag::True:
      return true;
    case Tag::Int: return a.u.i == b.u.i;
    case Tag::Float: return a.u.n == b.u.n;
    case Tag::LightUd: return a.u.p == b.u.p;
    case Tag::LightFn: return a.u.f == b.u.f;
    case Tag::ShortStr: return a.u.gc == b.u.gc;
    case Tag::LongStr: return str_equal(a.as_string(), b.as_string());
    case Tag::Userdata: {
      if (a.u.gc == b.u.gc) return true;
      if (L == nullptr) return false;
      Table* m1 = a.as_udata()->metatable;
      tm = m1 ? tm_get(L, m1, TM_EQ) : nullptr;
      if (tm == nullptr) {
        Table* m2 = b.as_udata()->metatable;
        tm = m2 ? tm_get(L, m2, TM_EQ) : nullptr;
      }
      break;
    }
    case Tag::Table: {
      if (a.u.gc == b.u.gc) return true;
      if (L == nullptr) return false;
      Table* m1 = a.as_table()->metatable;
      tm = m1 ? tm_get(L, m1, TM_EQ) : nullptr;
      if (tm == nullptr) {
        Table* m2 = b.as_table()->metatable;
        tm = m2 ? tm_get(L, m2, TM_EQ) : nullptr;
      }
      break;
    }
    default:
      return a.u.gc == b.u.gc;
  }
  if (tm == nullptr) return false;
  // The result lands in the scratch slot at the top (EXTRA_STACK room).
  ptrdiff_t res = L->save(L->top);
  tm_call_res(L, *tm, a, b, L->top);
  return L->restore(res)->truthy();
}

bool vm_less_than(State* L, const TValue& a, const TValue& b) {
  if (a.is_number() && b.is_number()) return lt_num(a, b);
  return lt_other(L, a, b);
}

bool vm_less_equal(State* L, const TValue& a, const TValue& b) {
  if (a.is_number() && b.is_number()) return le_num(a, b);
  return le_other(L, a, b);
}

void vm_get(State* L, const TValue& t, const TValue& key, TValue* val) {
  const TValue* slot = nullptr;
  if (t.is_table()) {
    slot = table_get(t.as_table(), key);
    if (!slot->is_nil()) {
      *val = *slot;
      return;
    }
  }
  finish_get(L, &t, key, val, slot);
}

void vm_set(State* L, const TValue& t, const TValue& key, const TValue& v) {
  const TValue* slot = nullptr;
  if (t.is_table()) {
    Table* h = t.as_table();
    slot = table_get(h, key);
    if (!slot->is_nil()) {
      *const_cast<TValue*>(slot) = v;
      if (v.is_collectable()) gc_barrier_back(L, h);
      return;
    }
  }
  finish_set(L, &t, key, v, slot);
}

void vm_len(State* L, TValue* ra, const TValue& rb) {
  const TValue* tm;
  switch (rb.tag) {
    case Tag::Table: {
      Table* h = rb.as_table();
      tm = h->metatable ? tm_get(L, h->metatable, TM_LEN) : nullptr;
      if (tm == nullptr) {
        set_int(ra, table_length(h));
        return;
      }
      break;
    }
    case Tag::ShortStr:
    case Tag::LongStr:
      set_int(ra, static_cast<Integer>(rb.as_string()->len));
      return;
    default:
      tm = tm_get_by_obj(L, rb, TM_LEN);
      if (tm->is_nil()) type_error_op(L, &rb, "get length of");
      break;
  }
  tm_call_res(L, *tm, rb, rb, ra);
}

void vm_arith(State* L, int op, const TValue& a, const TValue& b, TValue* res) {
  TValue r;
  if (raw_arith(L, op, a, b, &r))
    *res = r;
  else
    tm_trybin(L, a, b, res, static_cast<TMS>(TM_ADD + op));
}

namespace {

// vm_tostring with the common case, already a string, inline.
inline bool to_text(State* L, TValue* v) { return v->is_string() || vm_tostring(L, v); }

// The text of the first few numbers of a concatenation, written here
// instead of becoming interned strings of their own ("item" .. i .. ":"
// made i a string only to copy it once). Numbers beyond these are
// converted in place as before.
struct NumberTexts {
  static constexpr int MAX = 4;
  char text[MAX][MAX_NUMBER_TEXT];
  uint8_t len[MAX];
  int count = 0;
};

// Appends the pieces top[-n] .. top[-1] to out; numbers among them are
// the texts of `nums`, in order.
template <bool SHORT_RESULT>
[[gnu::always_inline]] inline void copy_pieces(char* out, const TValue* top, int n, const NumberTexts& nums) {
  int k = nums.count;  // the texts were made from the top down
  for (int j = n; j > 0; j--) {
    const char* data;
    size_t len;
    if (top[-j].is_string()) {
      data = top[-j].as_string()->data;
      len = top[-j].as_string()->len;
    } else {
      k--;
      data = nums.text[k];
      len = nums.len[k];
    }
    if constexpr (SHORT_RESULT)
      bytes::copy(out, data, len);
    else
      std::memcpy(out, data, len);
    out += len;
  }
}

// Two non-empty strings with a short result, the commonest concatenation
// (`w = w .. syllable`): no scan for more pieces or numbers.
[[gnu::noinline]] String* concat_two_short(State* L, const String* a, const String* b) {
  char buf[MAX_SHORT_LEN];
  bytes::copy(buf, a->data, a->len);
  bytes::copy(buf + a->len, b->data, b->len);
  return str_new(L, buf, a->len + b->len);
}

// A short string and an integer in either order (`"bad " .. n`, `i .. ""`):
// the integer's text goes straight into the result's buffer, without the
// general merge's piece scan and number texts. An integer's text does not
// depend on the dialect, so this is number_to_text's.
[[gnu::noinline]] String* concat_string_integer(State* L, const String* s, Integer i, bool string_first) {
  char buf[MAX_SHORT_LEN + MAX_INTEGER_TEXT];
  size_t n;
  if (string_first) {
    bytes::copy(buf, s->data, s->len);
    n = s->len + static_cast<size_t>(integer_to_text(i, buf + s->len));
  } else {
    n = static_cast<size_t>(integer_to_text(i, buf));
    bytes::copy(buf + n, s->data, s->len);
    n += s->len;
  }
  return str_new(L, buf, n);
}

// vm_concat past its two-operand cases: its buffers and saved registers
// (~15 instructions of frame) paid only here.
[[gnu::noinline]] void concat_merge(State* L, int total) {
  while (total > 1) {
    TValue* top = L->top;
    int n = 2;  // values merged in this round
    TValue* a = top - 2;
    TValue* b = top - 1;
    if (!(a->is_string() || a->is_number()) || !(b->is_string() || b->is_number())) {
      tm_trybin(L, *a, *b, a, TM_CONCAT);
    } else if (b->is_string() && b->as_string()->len == 0) {
      to_text(L, a);  // a .. "" is a as a string
    } else if (a->is_string() && a->as_string()->len == 0) {
      to_text(L, b);
      *a = *b;
    } else {
      // Merge as many string-convertible values as there are in a row.
      NumberTexts nums;
      bool round_trip = dialect(L).float_round_trip;
      size_t tl = 0;
      for (n = 0; n < total; n++) {
        TValue* v = top - n - 1;
        size_t l;
        if (v->is_string()) {
          l = v->as_string()->len;
        } else if (v->is_number() && nums.count < NumberTexts::MAX) {
          l = static_cast<size_t>(number_to_text(*v, nums.text[nums.count], round_trip));
          nums.len[nums.count++] = static_cast<uint8_t>(l);
        } else if (vm_tostring(L, v)) {
          l = v->as_string()->len;
        } else {
          break;
        }
        if (l >= MAX_STRING_SIZE - tl) {
          L->top = top - total;
          run_error(L, "string length overflow");
        }
        tl += l;
      }
      if (L->g->instr_budget != 0) charge_budget(L, tl / BUDGET_BYTES_PER_UNIT);
      String* s;
      if (tl <= MAX_SHORT_LEN) {
        // Short results are interned from a local buffer, the pieces
        // copied a word at a time; long ones are filled in place.
        char shortbuf[MAX_SHORT_LEN];
        copy_pieces<true>(shortbuf, top, n, nums);
        s = str_new(L, shortbuf, tl);
      } else {
        s = str_new_long(L, tl);
        copy_pieces<false>(s->data, top, n, nums);
      }
      top[-n] = str_value(s);
    }
    total -= n - 1;
    L->top -= n - 1;
  }
}

}  // namespace

void vm_concat(State* L, int total) {
  if (total == 2 && L->g->instr_budget == 0) {
    TValue* a = L->top - 2;
    const TValue* b = L->top - 1;
    if (a->is_string() && b->is_string()) {
      size_t la = a->as_string()->len, lb = b->as_string()->len;
      if (la != 0 && lb != 0 && la + lb <= MAX_SHORT_LEN) {
        *a = str_value(concat_two_short(L, a->as_string(), b->as_string()));
        L->top--;
        return;
      }
    } else if (a->is_string() && b->is_int() && a->as_string()->len <= MAX_SHORT_LEN) {
      *a = str_value(concat_string_integer(L, a->as_string(), b->u.i, true));
      L->top--;
      return;
    } else if (a->is_int() && b->is_string() && b->as_string()->len <= MAX_SHORT_LEN) {
      *a = str_value(concat_string_integer(L, b->as_string(), a->u.i, false));
      L->top--;
      return;
    }
  }
  concat_merge(L, total);
}

}  // namespace luna
