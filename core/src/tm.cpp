// Metamethod lookup and calls.
#include <cstring>

#include "state.hpp"

namespace luna {

namespace {

const char* const event_names[TM_N] = {
    "__index", "__newindex", "__gc", "__mode", "__len", "__eq",
    "__add", "__sub", "__mul", "__mod", "__pow", "__div", "__idiv",
    "__band", "__bor", "__bxor", "__shl", "__shr", "__unm", "__bnot",
    "__lt", "__le", "__concat", "__call", "__close"};

const char* const basic_type_names[NUMTYPES] = {
    "nil", "boolean", "userdata", "number", "string", "table", "function", "userdata", "thread"};

bool is_bitwise_event(TMS event) {
  return (event >= TM_BAND && event <= TM_SHR) || event == TM_BNOT;
}

// Runs the function at func (arguments above it) from a metamethod site:
// yieldable when the current frame is Lua code.
void call_from_tm(State* L, TValue* func, int nresults) {
  if (L->ci->is_lua())
    call(L, func, nresults);
  else
    call_noyield(L, func, nresults);
}

// A numeric string as its number, other values as they are (5.3's VM
// coerces strings in arithmetic and bitwise operations itself).
TValue string_as_number(const TValue& v) {
  TValue num;
  if (v.is_string()) {
    const String* s = v.as_string();
    if (str_to_number(s->c_str(), s->len, &num) == s->len + 1) return num;
  }
  return v;
}

bool on_stack(State* L, const TValue* p) {
  return p >= L->stack && p < L->stack_last + EXTRA_STACK;
}

}  // namespace

void tm_init(State* L) {
  for (int i = 0; i < TM_N; i++) {
    String* s = str_new_cstr(L, event_names[i]);
    L->g->tmname[i] = s;
    gc_fix(L, s);
  }
  for (int t = 0; t < NUMTYPES; t++) {
    String* s = str_new_cstr(L, basic_type_names[t]);
    L->g->typename_str[t] = s;
    gc_fix(L, s);
  }
}

const TValue* tm_get(State* L, Table* events, TMS event) {
  if (events == nullptr) return nullptr;
  bool cacheable = event <= TM_EQ;
  if (cacheable && (events->flags & (1u << event))) return nullptr;
  const TValue* tm = table_get_short_str(events, L->g->tmname[event]);
  if (tm->is_nil()) {
    if (cacheable) events->flags = static_cast<uint8_t>(events->flags | (1u << event));
    return nullptr;
  }
  return tm;
}

Table* metatable_of(State* L, const TValue& o) {
  switch (o.tag) {
    case Tag::Table:
      return o.as_table()->metatable;
    case Tag::Userdata:
      return o.as_udata()->metatable;
    default:
      return L->g->mt[o.type()];
  }
}

const TValue* tm_get_by_obj(State* L, const TValue& o, TMS event) {
  Table* mt = metatable_of(L, o);
  if (mt == nullptr) return &L->g->nilvalue;
  return table_get_short_str(mt, L->g->tmname[event]);
}

// A lookup in the string metatable (its __index and the arithmetic
// metamethods) by the name's hash, which makes no string. When absent,
// it is cached in the metatable's flags (TM_CACHE_TOSTRING), as the
// interpreter caches absent metamethods: any new key clears them.
bool string_tostring_absent(State* L) {
  Table* mt = L->g->mt[TSTRING];
  if (mt == nullptr || (mt->flags & TM_CACHE_TOSTRING)) return true;
  static constexpr char kName[] = "__tostring";
  constexpr size_t kLen = sizeof kName - 1;
  uint32_t hash = str_hash(kName, kLen, L->g->seed);
  for (const Node* n = &mt->node[hash & ((1u << mt->lsizenode) - 1)];; n += n->next) {
    if (n->key_tag == Tag::ShortStr) {
      const auto* k = static_cast<const String*>(n->key_u.gc);
      if (k->hash == hash && k->len == kLen && std::memcmp(k->data, kName, kLen) == 0 && !n->val.is_nil())
        return false;
    }
    if (n->next == 0) break;
  }
  mt->flags = static_cast<uint8_t>(mt->flags | TM_CACHE_TOSTRING);
  return true;
}

const char* type_name_of(int t) {
  if (t < 0 || t >= NUMTYPES) return "no value";
  return basic_type_names[t];
}

const char* tm_typename_of(State* L, const TValue& o) {
  Table* mt = nullptr;
  if (o.is_table())
    mt = o.as_table()->metatable;
  else if (o.is_userdata())
    mt = o.as_udata()->metatable;
  if (mt != nullptr) {
    const TValue* name = table_get_short_str(mt, str_new(L, "__name", 6));
    if (name->is_string()) return name->as_string()->c_str();
  }
  return type_name_of(o.type());
}

void tm_call(State* L, const TValue& f, const TValue& p1, const TValue& p2, const TValue& p3) {
  // Copies first: the arguments may live on the stack, which can move.
  TValue args[4] = {f, p1, p2, p3};
  ensure_stack(L, 4);
  TValue* func = L->top;
  for (int i = 0; i < 4; i++) func[i] = args[i];
  L->top = func + 4;
  call_from_tm(L, func, 0);
}

void tm_call_res(State* L, const TValue& f, const TValue& p1, const TValue& p2, TValue* res) {
  bool res_on_stack = on_stack(L, res);
  ptrdiff_t res_off = res_on_stack ? L->save(res) : 0;
  TValue args[3] = {f, p1, p2};
  ensure_stack(L, 3);
  TValue* func = L->top;
  for (int i = 0; i < 3; i++) func[i] = args[i];
  L->top = func + 3;
  call_from_tm(L, func, 1);
  TValue result = *--L->top;
  if (res_on_stack) res = L->restore(res_off);
  *res = result;
}

void tm_trybin(State* L, const TValue& p1, const TValue& p2, TValue* res, TMS event) {
  // Operands that are numbers after coercion never reach a metamethod.
  TValue n1 = p1, n2 = p2;
  if (dialect(L).vm_string_coerce && event != TM_CONCAT && (p1.is_string() || p2.is_string())) {
    n1 = string_as_number(p1);
    n2 = string_as_number(p2);
    if (n1.is_number() && n2.is_number() && raw_arith(L, event - TM_ADD, n1, n2, res)) return;
  }
  const TValue* tm = tm_get_by_obj(L, p1, event);
  if (tm->is_nil()) tm = tm_get_by_obj(L, p2, event);
  if (!tm->is_nil()) {
    tm_call_res(L, *tm, p1, p2, res);
    return;
  }
  if (event == TM_CONCAT) concat_error(L, &p1, &p2);
  if (is_bitwise_event(event)) {
    if (n1.is_number() && n2.is_number()) to_int_error(L, &p1, &p2);
    op_int_error(L, n1.is_number() ? &p2 : &p1, &p2, "perform bitwise operation on");
  }
  // A first operand that is (or coerces to) a number is not the culprit.
  op_int_error(L, n1.is_number() ? &p2 : &p1, &p2, "perform arithmetic on");
}

namespace {

int call_order(State* L, const TValue& p1, const TValue& p2, TMS event) {
  const TValue* tm = tm_get_by_obj(L, p1, event);
  if (tm->is_nil()) tm = tm_get_by_obj(L, p2, event);
  if (tm->is_nil()) return -1;
  TValue args[3] = {*tm, p1, p2};
  ensure_stack(L, 3);
  TValue* func = L->top;
  for (int i = 0; i < 3; i++) func[i] = args[i];
  L->top = func + 3;
  call_from_tm(L, func, 1);
  return (--L->top)->truthy() ? 1 : 0;
}

}  // namespace

int tm_call_order(State* L, const TValue& p1, const TValue& p2, TMS event) {
  int r = call_order(L, p1, p2, event);
  if (r >= 0 || event != TM_LE || !dialect(L).le_via_lt) return r;
  // 5.3: a <= b without __le is not (b < a). The flag tells vm_finish_op to
  // negate the result should __lt yield.
  L->ci->callstatus |= CIST_LEQ;
  r = call_order(L, p2, p1, TM_LT);
  L->ci->callstatus &= static_cast<uint16_t>(~CIST_LEQ);
  return r < 0 ? r : !r;
}

}  // namespace luna
