// Binary chunks, writing side (string.dump / dump()). The layout, PUC-Rio
// 5.4's, is described in dump_format.hpp and read back by undump.cpp.
#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dump_format.hpp"
#include "opcodes.hpp"
#include "state.hpp"

namespace luna {

namespace {

class Dumper {
 public:
  Dumper(State* L, Writer w, void* data, bool strip) : L_(L), w_(w), data_(data), strip_(strip) {}

  int run(const Proto* f) {
    header();
    byte(static_cast<uint8_t>(f->sizeupvalues));
    function(f, nullptr);
    return status_;
  }

 private:
  State* L_;
  Writer w_;
  void* data_;
  bool strip_;
  int status_ = 0;
  std::unordered_map<std::string_view, size_t> saved_;  // 5.5: strings written, by index

  // After the writer fails, nothing more is written; the status is reported.
  void block(const void* p, size_t n) {
    if (status_ == 0 && n > 0) status_ = w_(L_, p, n, data_);
  }
  void byte(uint8_t b) { block(&b, 1); }

  void varint(size_t x) {
    uint8_t buf[dumpfmt::MAX_VARINT_BYTES];
    int n = 0;
    do {
      buf[dumpfmt::MAX_VARINT_BYTES - 1 - n++] = x & 0x7f;
      x >>= 7;
    } while (x != 0);
    buf[dumpfmt::MAX_VARINT_BYTES - 1] |= 0x80;
    block(buf + dumpfmt::MAX_VARINT_BYTES - n, static_cast<size_t>(n));
  }

  void u64(uint64_t x) {
    uint8_t buf[8];
    for (int i = 0; i < 8; i++) buf[i] = static_cast<uint8_t>(x >> (8 * i));
    block(buf, 8);
  }
  void integer(Integer i) { u64(static_cast<uint64_t>(i)); }
  void number(Number n) {
    uint64_t bits;
    std::memcpy(&bits, &n, sizeof bits);
    u64(bits);
  }

  void string(const String* s) {
    if (s == nullptr) {
      varint(0);
      return;
    }
    if (dialect(L_).dump_55) {
      auto [it, fresh] = saved_.try_emplace(std::string_view(s->c_str(), s->len), saved_.size());
      if (!fresh) {
        varint(1);
        varint(it->second);
        return;
      }
      varint(s->len + 2);
    } else {
      varint(s->len + 1);
    }
    block(s->c_str(), s->len);
  }

  void header() {
    block(BINARY_SIGNATURE, 4);
    byte(dialect(L_).dump_version);
    byte(dumpfmt::FORMAT);
    block(dumpfmt::DATA, dumpfmt::DATA_LEN);
    if (dialect(L_).dump_55) {
      const int test_int = -static_cast<int>(dumpfmt::TEST_INT);
      byte(sizeof(int));
      block(&test_int, sizeof test_int);
      byte(sizeof(Instruction));
      block(&dumpfmt::TEST_INSTRUCTION, sizeof(Instruction));
      byte(sizeof(Integer));
      integer(-dumpfmt::TEST_INT);
      byte(sizeof(Number));
      number(-dumpfmt::TEST_NUM);
      return;
    }
    if (dialect(L_).dump_c_sizes) {
      byte(sizeof(int));
      byte(sizeof(size_t));
    }
    byte(sizeof(Instruction));
    byte(sizeof(Integer));
    byte(sizeof(Number));
    integer(dumpfmt::TEST_INT);
    number(dumpfmt::TEST_NUM);
  }

  // The code as PUC-Rio's VM runs it: an MMBIN* after every arithmetic
  // instruction that has none (luna's compiler emits none), with jumps, line
  // info and local variable ranges moved to the new positions.
  struct Code {
    std::vector<Instruction> ins;
    std::vector<int> lines;
    std::vector<int> newpc;  // for each old pc, and the end
  };

  static bool needs_mmbin(const Proto* f, int pc) {
    return is_mm_arith(get_op(f->code[pc])) && !(pc + 1 < f->sizecode && is_mmbin(get_op(f->code[pc + 1])));
  }

  // The MMBIN* that says what the arithmetic instruction i does when its
  // operands are not numbers, as luna's VM does it (k of ADDI/ADDK/MULK:
  // the constant came first; PUC-Rio's VM reads that from the MMBIN*).
  static Instruction mmbin(Instruction i) {
    OpCode op = get_op(i);
    int b = getarg_B(i), c = getarg_C(i), flip = getarg_k(i);
    switch (op) {
      case OP_ADDI: return create_ABCk(OP_MMBINI, b, c, TM_ADD, flip);
      case OP_SHRI: return create_ABCk(OP_MMBINI, b, c, TM_SHR, 0);
      case OP_SHLI: return create_ABCk(OP_MMBINI, b, c, TM_SHL, 1);  // the immediate is the first operand
      default:
        if (op < OP_ADD) return create_ABCk(OP_MMBINK, b, c, TM_ADD + (op - OP_ADDK), flip);
        return create_ABCk(OP_MMBIN, b, c, TM_ADD + (op - OP_ADD), 0);
    }
  }

  // A jump operand for the new positions; false if it does not fit.
  static bool retarget(Instruction& i, const std::vector<int>& np, int pc, int n) {
    auto dest = [&](int t) { return np[static_cast<size_t>(t < 0 ? 0 : t > n ? n : t)]; };
    int at = np[static_cast<size_t>(pc)];
    switch (get_op(i)) {
      case OP_JMP: setarg_sJ(i, dest(pc + 1 + getarg_sJ(i)) - at - 1); return true;
      case OP_FORPREP: return set_bx(i, dest(pc + 2 + getarg_Bx(i)) - at - 2);
      case OP_TFORPREP: return set_bx(i, dest(pc + 1 + getarg_Bx(i)) - at - 1);
      case OP_FORLOOP: case OP_TFORLOOP: return set_bx(i, at + 1 - dest(pc + 1 - getarg_Bx(i)));
      default: return true;
    }
  }
  static bool set_bx(Instruction& i, int v) {
    if (v < 0 || v > MAXARG_Bx) return false;
    setarg_Bx(i, static_cast<unsigned>(v));
    return true;
  }

  bool translate(const Proto* f, Code& out) {
    int n = f->sizecode;
    out.newpc.resize(static_cast<size_t>(n) + 1);
    int extra = 0;
    for (int pc = 0; pc < n; pc++) {
      out.newpc[static_cast<size_t>(pc)] = pc + extra;
      if (needs_mmbin(f, pc)) extra++;
    }
    out.newpc[static_cast<size_t>(n)] = n + extra;
    bool lines = !strip_ && f->sizelineinfo == n;
    for (int pc = 0; pc < n; pc++) {
      Instruction i = plain_ins(f->code[pc]);  // a blacklisted loop's back-edge as compiled
      if (!retarget(i, out.newpc, pc, n)) return false;
      int line = lines ? f->lineinfo[pc] : 0;
      if (needs_mmbin(f, pc)) {
        Instruction mm = mmbin(i);
        setarg_k(i, 0);  // PUC-Rio's arithmetic instructions have no k
        out.ins.push_back(i);
        out.ins.push_back(mm);
        out.lines.push_back(line);
      } else {
        out.ins.push_back(i);
      }
      out.lines.push_back(line);
    }
    if (!lines) out.lines.clear();
    return true;
  }

  void code(const Code& c) {
    varint(c.ins.size());
    for (Instruction ins : c.ins) {
      uint8_t buf[4];
      for (int j = 0; j < 4; j++) buf[j] = static_cast<uint8_t>(ins >> (8 * j));
      block(buf, 4);
    }
  }

  void constants(const Proto* f) {
    varint(static_cast<size_t>(f->sizek));
    for (int i = 0; i < f->sizek; i++) {
      const TValue& v = f->k[i];
      switch (v.tag) {
        case Tag::False: byte(dumpfmt::K_FALSE); break;
        case Tag::True: byte(dumpfmt::K_TRUE); break;
        case Tag::Int: byte(dumpfmt::K_INT); integer(v.u.i); break;
        case Tag::Float: byte(dumpfmt::K_FLOAT); number(v.u.n); break;
        case Tag::ShortStr: byte(dumpfmt::K_SHORTSTR); string(v.as_string()); break;
        case Tag::LongStr: byte(dumpfmt::K_LONGSTR); string(v.as_string()); break;
        default: byte(dumpfmt::K_NIL); break;
      }
    }
  }

  void upvalues(const Proto* f) {
    varint(static_cast<size_t>(f->sizeupvalues));
    for (int i = 0; i < f->sizeupvalues; i++) {
      byte(f->upvalues[i].instack ? 1 : 0);
      byte(f->upvalues[i].idx);
      byte(f->upvalues[i].kind);
    }
  }

  // Lines are stored as differences from the previous instruction's line,
  // which mostly fit a byte; the others, and one in every MAX_RELATIVE,
  // as absolute (pc, line) pairs.
  void debug(const Proto* f, const Code& c) {
    std::vector<int8_t> rel;
    std::vector<std::pair<int, int>> abs;
    int prev = f->linedefined, since_abs = 0;
    for (size_t pc = 0; pc < c.lines.size(); pc++) {
      int line = c.lines[pc], diff = line - prev;
      if (diff >= dumpfmt::LIM_LINEDIFF || diff <= -dumpfmt::LIM_LINEDIFF || since_abs++ >= dumpfmt::MAX_RELATIVE) {
        abs.emplace_back(static_cast<int>(pc), line);
        diff = dumpfmt::ABSLINEINFO;
        since_abs = 1;
      }
      rel.push_back(static_cast<int8_t>(diff));
      prev = line;
    }
    varint(rel.size());
    block(rel.data(), rel.size());
    varint(abs.size());
    for (auto [pc, line] : abs) {
      varint(static_cast<size_t>(pc));
      varint(static_cast<size_t>(line));
    }
    int nloc = strip_ ? 0 : f->sizelocvars;
    varint(static_cast<size_t>(nloc));
    auto moved = [&](int pc) { return static_cast<size_t>(c.newpc[static_cast<size_t>(std::clamp(pc, 0, f->sizecode))]); };
    for (int i = 0; i < nloc; i++) {
      string(f->locvars[i].name);
      varint(moved(f->locvars[i].startpc));
      varint(moved(f->locvars[i].endpc));
    }
    int nup = strip_ ? 0 : f->sizeupvalues;
    varint(static_cast<size_t>(nup));
    for (int i = 0; i < nup; i++) string(f->upvalues[i].name);
  }

  void function(const Proto* f, const String* psource) {
    Code c;
    if (!translate(f, c)) {
      status_ = status_ != 0 ? status_ : ERRRUN;  // a jump too long once MMBINs are added
      return;
    }
    string((strip_ || f->source == psource) ? nullptr : f->source);
    varint(static_cast<size_t>(f->linedefined));
    varint(static_cast<size_t>(f->lastlinedefined));
    byte(f->numparams);
    byte(f->is_vararg);
    byte(f->maxstacksize);
    code(c);
    constants(f);
    upvalues(f);
    varint(static_cast<size_t>(f->sizep));
    for (int i = 0; i < f->sizep; i++) function(f->p[i], f->source);
    debug(f, c);
  }
};

}  // namespace

int dump_proto(State* L, const Proto* f, Writer w, void* data, bool strip) {
  Dumper d(L, w, data, strip);
  return d.run(f);
}

}  // namespace luna
