// luac's -l listing, laid out as Debian's luac5.4 lays out its own so that
// tools and people reading listings see the same columns and comments.
#include "listing.hpp"

#include <cctype>
#include <cstring>

#include "opcodes.hpp"

namespace luna {

namespace {

const char* plural(int n) { return n == 1 ? "" : "s"; }

void print_string(const String* s, FILE* out) {
  std::fputc('"', out);
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = static_cast<unsigned char>(s->data[i]);
    const char* escape = nullptr;
    switch (c) {
      case '"': escape = "\\\""; break;
      case '\\': escape = "\\\\"; break;
      case '\a': escape = "\\a"; break;
      case '\b': escape = "\\b"; break;
      case '\f': escape = "\\f"; break;
      case '\n': escape = "\\n"; break;
      case '\r': escape = "\\r"; break;
      case '\t': escape = "\\t"; break;
      case '\v': escape = "\\v"; break;
      default: break;
    }
    if (escape != nullptr) std::fputs(escape, out);
    else if (std::isprint(c)) std::fputc(c, out);
    else std::fprintf(out, "\\%03d", c);
  }
  std::fputc('"', out);
}

void print_constant(const TValue& v, FILE* out) {
  switch (v.tag) {
    case Tag::Nil: std::fputs("nil", out); break;
    case Tag::False: std::fputs("false", out); break;
    case Tag::True: std::fputs("true", out); break;
    case Tag::Int: std::fprintf(out, "%lld", static_cast<long long>(v.u.i)); break;
    case Tag::Float: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.14g", v.u.n);
      std::fputs(buf, out);
      // A float that reads like an integer gets ".0", as Lua prints it.
      if (buf[std::strspn(buf, "-0123456789")] == '\0') std::fputs(".0", out);
      break;
    }
    case Tag::ShortStr: case Tag::LongStr: print_string(v.as_string(), out); break;
    default: std::fputs("?", out); break;
  }
}

char constant_kind(const TValue& v) {
  switch (v.tag) {
    case Tag::Nil: return 'N';
    case Tag::False: case Tag::True: return 'B';
    case Tag::Int: return 'I';
    case Tag::Float: return 'F';
    case Tag::ShortStr: case Tag::LongStr: return 'S';
    default: return '?';
  }
}

// The listing reads code that may come from a binary chunk; the loader has
// validated it, but a listing must never read out of bounds whatever it gets.
void comment_constant(const Proto* p, int idx, FILE* out) {
  if (idx >= 0 && idx < p->sizek) print_constant(p->k[idx], out);
  else std::fputs("?", out);
}

const char* upvalue_name(const Proto* p, int idx) {
  if (idx < 0 || idx >= p->sizeupvalues) return "?";
  return p->upvalues[idx].name != nullptr ? p->upvalues[idx].name->c_str() : "-";
}

const char* event_name(State* L, int event) {
  return event >= 0 && event < TM_N ? L->g->tmname[event]->c_str() : "?";
}

int extra_arg(const Proto* p, int pc) {
  return pc + 1 < p->sizecode && get_op(p->code[pc + 1]) == OP_EXTRAARG ? getarg_Ax(p->code[pc + 1]) : 0;
}

// "N in" / "N out" counts of CALL, RETURN and VARARG (0 means up to the top).
void print_count(int n, const char* what, FILE* out) {
  if (n == 0) std::fprintf(out, "all %s", what);
  else std::fprintf(out, "%d %s", n - 1, what);
}

void list_instruction(State* L, const Proto* p, int pc, FILE* out) {
  Instruction i = p->code[pc];
  OpCode op = get_op(i);
  int a = getarg_A(i), b = getarg_B(i), c = getarg_C(i), k = getarg_k(i);
  int sb = getarg_sB(i), sc = getarg_sC(i), bx = getarg_Bx(i);
  const char* isk = k ? "k" : "";
  std::fprintf(out, "\t%d\t", pc + 1);
  if (pc < p->sizelineinfo) std::fprintf(out, "[%d]\t", p->lineinfo[pc]);
  else std::fputs("[-]\t", out);
  std::fprintf(out, "%-9s\t", op < NUM_OPCODES ? op_info[op].name : "?");
  const char* comment = "\t; ";
  switch (op) {
    case OP_MOVE: case OP_UNM: case OP_BNOT: case OP_NOT: case OP_LEN: case OP_CONCAT:
      std::fprintf(out, "%d %d", a, b);
      break;
    case OP_LOADI: case OP_LOADF:
      std::fprintf(out, "%d %d", a, getarg_sBx(i));
      break;
    case OP_LOADK:
      std::fprintf(out, "%d %d%s", a, bx, comment);
      comment_constant(p, bx, out);
      break;
    case OP_LOADKX:
      std::fprintf(out, "%d%s", a, comment);
      comment_constant(p, extra_arg(p, pc), out);
      break;
    case OP_LOADFALSE: case OP_LFALSESKIP: case OP_LOADTRUE: case OP_CLOSE: case OP_TBC:
    case OP_RETURN1: case OP_VARARGPREP:
      std::fprintf(out, "%d", a);
      break;
    case OP_LOADNIL:
      std::fprintf(out, "%d %d%s%d out", a, b, comment, b + 1);
      break;
    case OP_GETUPVAL: case OP_SETUPVAL:
      std::fprintf(out, "%d %d%s%s", a, b, comment, upvalue_name(p, b));
      break;
    case OP_GETTABUP:
      std::fprintf(out, "%d %d %d%s%s ", a, b, c, comment, upvalue_name(p, b));
      comment_constant(p, c, out);
      break;
    case OP_GETTABLE: case OP_GETI: case OP_ADD: case OP_SUB: case OP_MUL: case OP_MOD: case OP_POW:
    case OP_DIV: case OP_IDIV: case OP_BAND: case OP_BOR: case OP_BXOR: case OP_SHL: case OP_SHR:
      std::fprintf(out, "%d %d %d", a, b, c);
      break;
    case OP_GETFIELD: case OP_ADDK: case OP_SUBK: case OP_MULK: case OP_MODK: case OP_POWK: case OP_DIVK:
    case OP_IDIVK: case OP_BANDK: case OP_BORK: case OP_BXORK:
      std::fprintf(out, "%d %d %d%s", a, b, c, comment);
      comment_constant(p, c, out);
      break;
    case OP_SETTABUP:
      std::fprintf(out, "%d %d %d%s%s%s ", a, b, c, isk, comment, upvalue_name(p, a));
      comment_constant(p, b, out);
      if (k) {
        std::fputc(' ', out);
        comment_constant(p, c, out);
      }
      break;
    case OP_SETFIELD:
      std::fprintf(out, "%d %d %d%s%s", a, b, c, isk, comment);
      comment_constant(p, b, out);
      if (k) {
        std::fputc(' ', out);
        comment_constant(p, c, out);
      }
      break;
    case OP_SETTABLE: case OP_SETI: case OP_SELF:
      std::fprintf(out, "%d %d %d%s", a, b, c, isk);
      if (k) {
        std::fputs(comment, out);
        comment_constant(p, c, out);
      }
      break;
    case OP_NEWTABLE:
      std::fprintf(out, "%d %d %d%s%d", a, b, c, comment, c + extra_arg(p, pc) * (MAXARG_C + 1));
      break;
    case OP_ADDI: case OP_SHRI: case OP_SHLI:
      std::fprintf(out, "%d %d %d", a, b, sc);
      break;
    case OP_MMBIN:
      std::fprintf(out, "%d %d %d%s%s", a, b, c, comment, event_name(L, c));
      break;
    case OP_MMBINI:
      std::fprintf(out, "%d %d %d %d%s%s%s", a, sb, c, k, comment, event_name(L, c), k ? " flip" : "");
      break;
    case OP_MMBINK:
      std::fprintf(out, "%d %d %d %d%s%s ", a, b, c, k, comment, event_name(L, c));
      comment_constant(p, b, out);
      if (k) std::fputs(" flip", out);
      break;
    case OP_JMP: {
      int sj = getarg_sJ(i);
      std::fprintf(out, "%d%sto %d", sj, comment, sj + pc + 2);
      break;
    }
    case OP_EQ: case OP_LT: case OP_LE:
      std::fprintf(out, "%d %d %d", a, b, k);
      break;
    case OP_EQK:
      std::fprintf(out, "%d %d %d%s", a, b, k, comment);
      comment_constant(p, b, out);
      break;
    case OP_EQI: case OP_LTI: case OP_LEI: case OP_GTI: case OP_GEI:
      std::fprintf(out, "%d %d %d", a, sb, k);
      break;
    case OP_TEST:
      std::fprintf(out, "%d %d", a, k);
      break;
    case OP_TESTSET:
      std::fprintf(out, "%d %d %d", a, b, k);
      break;
    case OP_CALL:
      std::fprintf(out, "%d %d %d%s", a, b, c, comment);
      print_count(b, "in ", out);
      print_count(c, "out", out);
      break;
    case OP_TAILCALL:
      std::fprintf(out, "%d %d %d%s%s%d in", a, b, c, isk, comment, b - 1);
      break;
    case OP_RETURN:
      std::fprintf(out, "%d %d %d%s%s", a, b, c, isk, comment);
      print_count(b, "out", out);
      break;
    case OP_RETURN0:
      break;
    case OP_FORLOOP: case OP_TFORLOOP:
      std::fprintf(out, "%d %d%sto %d", a, bx, comment, pc - bx + 2);
      break;
    case OP_FORPREP:
      std::fprintf(out, "%d %d%sexit to %d", a, bx, comment, pc + bx + 3);
      break;
    case OP_TFORPREP:
      std::fprintf(out, "%d %d%sto %d", a, bx, comment, pc + bx + 2);
      break;
    case OP_TFORCALL:
      std::fprintf(out, "%d %d", a, c);
      break;
    case OP_SETLIST:
      std::fprintf(out, "%d %d %d", a, b, c);
      if (k) std::fprintf(out, "%s%d", comment, c + extra_arg(p, pc) * (MAXARG_C + 1));
      break;
    case OP_CLOSURE:
      std::fprintf(out, "%d %d%s%p", a, bx, comment, bx < p->sizep ? static_cast<void*>(p->p[bx]) : nullptr);
      break;
    case OP_VARARG:
      std::fprintf(out, "%d %d%s", a, c, comment);
      print_count(c, "out", out);
      break;
    case OP_EXTRAARG:
      std::fprintf(out, "%d", getarg_Ax(i));
      break;
    default:
      std::fprintf(out, "%d %d %d%snot handled", a, b, c, comment);
      break;
  }
  std::fputc('\n', out);
}

void list_debug_info(const Proto* p, FILE* out) {
  const void* id = p;
  std::fprintf(out, "constants (%d) for %p:\n", p->sizek, id);
  for (int i = 0; i < p->sizek; i++) {
    std::fprintf(out, "\t%d\t%c\t", i, constant_kind(p->k[i]));
    print_constant(p->k[i], out);
    std::fputc('\n', out);
  }
  std::fprintf(out, "locals (%d) for %p:\n", p->sizelocvars, id);
  for (int i = 0; i < p->sizelocvars; i++)
    std::fprintf(out, "\t%d\t%s\t%d\t%d\n", i, p->locvars[i].name ? p->locvars[i].name->c_str() : "?",
                 p->locvars[i].startpc + 1, p->locvars[i].endpc + 1);
  std::fprintf(out, "upvalues (%d) for %p:\n", p->sizeupvalues, id);
  for (int i = 0; i < p->sizeupvalues; i++)
    std::fprintf(out, "\t%d\t%s\t%d\t%d\n", i, upvalue_name(p, i), p->upvalues[i].instack ? 1 : 0,
                 p->upvalues[i].idx);
}

}  // namespace

void list_function(State* L, const Proto* p, bool full, FILE* out) {
  const char* source = p->source != nullptr ? p->source->c_str() : "=?";
  if (*source == '@' || *source == '=') source++;
  else source = "(string)";
  std::fprintf(out, "\n%s <%s:%d,%d> (%d instruction%s at %p)\n", p->linedefined == 0 ? "main" : "function",
               source, p->linedefined, p->lastlinedefined, p->sizecode, plural(p->sizecode),
               static_cast<const void*>(p));
  std::fprintf(out, "%d%s param%s, %d slot%s, %d upvalue%s, %d local%s, %d constant%s, %d function%s\n",
               p->numparams, p->is_vararg ? "+" : "", plural(p->numparams), p->maxstacksize,
               plural(p->maxstacksize), p->sizeupvalues, plural(p->sizeupvalues), p->sizelocvars,
               plural(p->sizelocvars), p->sizek, plural(p->sizek), p->sizep, plural(p->sizep));
  for (int pc = 0; pc < p->sizecode; pc++) list_instruction(L, p, pc, out);
  if (full) list_debug_info(p, out);
  for (int i = 0; i < p->sizep; i++) list_function(L, p->p[i], full, out);
}

}  // namespace luna
