// Prototypes, closures, upvalues and to-be-closed variables.
#include "state.hpp"

namespace luna {

// ------------------------------------------------------------ prototypes

Proto* proto_new(State* L) {
  Proto* p = static_cast<Proto*>(gc_new_object(L, Tag::Proto, sizeof(Proto)));
  p->numparams = 0;
  p->is_vararg = 0;
  p->maxstacksize = 0;
  p->jit_cold_entry = 0;
  p->sizeupvalues = p->sizek = p->sizecode = p->sizelineinfo = p->sizep = p->sizelocvars = 0;
  p->linedefined = p->lastlinedefined = 0;
  p->k = nullptr;
  p->code = nullptr;
  p->p = nullptr;
  p->upvalues = nullptr;
  p->lineinfo = nullptr;
  p->locvars = nullptr;
  p->source = nullptr;
  p->gclist = nullptr;
  p->jit_data = nullptr;
  p->cache = nullptr;
  return p;
}

void proto_free(State* L, Proto* p) {
  jit_proto_freed(L, p);  // traces die with their prototype
  if (L->g->where.p == p) L->g->where.p = nullptr;  // its position text, cached by where_text
  mem_free_array(L, p->code, static_cast<size_t>(p->sizecode));
  mem_free_array(L, p->p, static_cast<size_t>(p->sizep));
  mem_free_array(L, p->k, static_cast<size_t>(p->sizek));
  mem_free_array(L, p->lineinfo, static_cast<size_t>(p->sizelineinfo));
  mem_free_array(L, p->locvars, static_cast<size_t>(p->sizelocvars));
  mem_free_array(L, p->upvalues, static_cast<size_t>(p->sizeupvalues));
  mem_free(L, p, sizeof(Proto));
}

// -------------------------------------------------------------- closures

LClosure* lclosure_new(State* L, int nupvals) {
  auto* cl = static_cast<LClosure*>(gc_new_object(L, Tag::LClosure, lclosure_size(nupvals)));
  cl->nupvalues = static_cast<uint8_t>(nupvals);
  cl->gclist = nullptr;
  cl->p = nullptr;
  for (int i = 0; i < nupvals; i++) cl->upvals[i] = nullptr;
  return cl;
}

NClosure* nclosure_new(State* L, int nupvals) {
  auto* cl = static_cast<NClosure*>(gc_new_object(L, Tag::NClosure, nclosure_size(nupvals)));
  cl->nupvalues = static_cast<uint8_t>(nupvals);
  cl->gclist = nullptr;
  cl->f = nullptr;
  for (int i = 0; i < nupvals; i++) cl->upvalue[i] = TValue();
  return cl;
}

namespace {

UpVal* new_closed_upval(State* L) {
  auto* uv = static_cast<UpVal*>(gc_new_object(L, Tag::UpVal, sizeof(UpVal)));
  uv->tbc = 0;
  uv->touched = 0;
  uv->u.closed = TValue();
  uv->v = &uv->u.closed;
  return uv;
}

}  // namespace

void lclosure_init_upvals(State* L, LClosure* cl) {
  for (int i = 0; i < cl->nupvalues; i++) {
    UpVal* uv = new_closed_upval(L);
    cl->upvals[i] = uv;
    gc_barrier_obj(L, cl, uv);
  }
}

// -------------------------------------------------------------- upvalues

namespace {

UpVal* find_open(State* L, TValue* level) {
  for (UpVal* p = L->openupval; p != nullptr && p->v >= level; p = p->u.open.next)
    if (p->v == level) return p;
  return nullptr;
}

// Links a new open upvalue for level into L's list, which is sorted by level.
void link_open(State* L, UpVal* uv, TValue* level) {
  uv->tbc = 0;
  uv->touched = 1;
  UpVal** pp = &L->openupval;
  while (*pp != nullptr && (*pp)->v > level) pp = &(*pp)->u.open.next;
  uv->v = level;
  uv->u.open.next = *pp;
  uv->u.open.previous = pp;
  if (*pp != nullptr) (*pp)->u.open.previous = &uv->u.open.next;
  *pp = uv;
  // A thread with open upvalues joins g->twups (twups == itself: not listed).
  if (L->twups == L) {
    L->twups = L->g->twups;
    L->g->twups = L;
  }
}

}  // namespace

UpVal* upval_find(State* L, TValue* level) {
  if (UpVal* p = find_open(L, level)) return p;
  // Not there: allocate, then search the insertion point (an emergency
  // collection during the allocation does not touch this list, but
  // searching after it keeps that an assumption-free fact).
  auto* uv = static_cast<UpVal*>(gc_new_object(L, Tag::UpVal, sizeof(UpVal)));
  link_open(L, uv, level);
  return uv;
}

UpVal* upval_try_find(State* L, TValue* level) noexcept {
  if (UpVal* p = find_open(L, level)) return p;
  auto* uv = static_cast<UpVal*>(gc_try_new_object(L->g, Tag::UpVal, sizeof(UpVal)));
  if (uv != nullptr) link_open(L, uv, level);
  return uv;
}

LClosure* lclosure_try_new(GlobalState* g, Proto* p) noexcept {
  int n = p->sizeupvalues;
  auto* cl = static_cast<LClosure*>(gc_try_new_object(g, Tag::LClosure, lclosure_size(n)));
  if (cl == nullptr) return nullptr;
  cl->nupvalues = static_cast<uint8_t>(n);
  cl->gclist = nullptr;
  cl->p = p;
  for (int i = 0; i < n; i++) cl->upvals[i] = nullptr;
  return cl;
}

bool upval_try_close(State* L, TValue* level) noexcept {
  if (L->ntbc > 0 && L->tbclist[L->ntbc - 1] >= L->save(level)) return false;
  upval_close(L, level);
  return true;
}

void upval_unlink(UpVal* uv) {
  *uv->u.open.previous = uv->u.open.next;
  if (uv->u.open.next != nullptr) uv->u.open.next->u.open.previous = uv->u.open.previous;
}

void upval_close(State* L, TValue* level) {
  UpVal* uv;
  while ((uv = L->openupval) != nullptr && uv->v >= level) {
    TValue val = *uv->v;
    upval_unlink(uv);  // u.open overlaps u.closed: unlink before storing
    uv->u.closed = val;
    uv->v = &uv->u.closed;
    gc_barrier(L, uv, val);
  }
}

void upval_free(State* L, UpVal* uv) {
  if (uv->is_open()) upval_unlink(uv);
  mem_free(L, uv, sizeof(UpVal));
}

// -------------------------------------------------- to-be-closed variables

const char* local_name(const Proto* p, int local_number, int pc) {
  for (int i = 0; i < p->sizelocvars && p->locvars[i].startpc <= pc; i++) {
    if (pc < p->locvars[i].endpc) {  // variable active here
      if (--local_number == 0) return p->locvars[i].name->c_str();
    }
  }
  return nullptr;
}

void tbc_new(State* L, TValue* slot) {
  if (slot->is_false_or_nil()) return;  // false and nil need no closing
  if (tm_get_by_obj(L, *slot, TM_CLOSE)->is_nil()) {
    CallInfo* ci = L->ci;
    const char* name = nullptr;
    if (ci->is_lua())
      name = local_name(ci->func->as_lclosure()->p, static_cast<int>(slot - ci->func), current_pc(ci));
    else
      name = "(C temporary)";
    run_error(L, "variable '%s' got a non-closable value", name != nullptr ? name : "?");
  }
  if (L->ntbc == L->sizetbc) {
    int newsize = L->sizetbc == 0 ? 8 : 2 * L->sizetbc;
    L->tbclist = mem_resize_array(L, L->tbclist, static_cast<size_t>(L->sizetbc), static_cast<size_t>(newsize));
    L->sizetbc = newsize;
  }
  L->tbclist[L->ntbc++] = L->save(slot);
}

namespace {

// The error object a __close receives for status (nil on a normal exit).
TValue close_error_object(State* L, int status) {
  switch (status) {
    case OK:
      return TValue();
    case ERRMEM:
      return str_value(L->g->memerrmsg);
    case ERRERR:
      return str_value(str_new_cstr(L, "error in error handling"));
    default:
      return L->top[-1];
  }
}

void close_slots(State* L, TValue* level, int status, bool yieldable) {
  ptrdiff_t lvl = L->save(level);
  while (L->ntbc > 0 && L->tbclist[L->ntbc - 1] >= lvl) {
    // Unlisted before the call: if __close raises, it is not run again.
    TValue obj = *L->restore(L->tbclist[--L->ntbc]);
    TValue err = close_error_object(L, status);
    TValue tm = *tm_get_by_obj(L, obj, TM_CLOSE);
    // Called above the current top, so results being returned survive.
    ensure_stack(L, 3);
    TValue* func = L->top;
    func[0] = tm;
    func[1] = obj;
    func[2] = err;
    L->top = func + (status == OK && dialect(L).close_err_only ? 2 : 3);
    if (yieldable)
      call(L, func, 0);
    else
      call_noyield(L, func, 0);
  }
}

}  // namespace

void tbc_close(State* L, TValue* level, int status) {
  close_slots(L, level, status, L->ci->is_lua());
}

void tbc_close_yieldable(State* L, TValue* level, int status) {
  close_slots(L, level, status, true);
}

}  // namespace luna
