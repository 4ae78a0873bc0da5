// Harness: load of binary chunks. The first input byte picks the mode:
//  - even: the rest is a binary chunk, loaded as is;
//  - odd: the rest is source text. It is compiled and dumped (stripped when
//    bit 1 is set); the genuine dump must load. Then copies of it with
//    (byte0 >> 2) % 8 + 1 bytes changed at positions drawn from a generator
//    seeded by the input are loaded, then copies whose bytecode is mutated
//    with knowledge of its structure: operands, jump targets, open-top
//    producers (CALL/VARARG with C == 0) and consumers (B == 0), the close
//    bit of returns, instructions copied over others. Random bytes rarely
//    keep a chunk loadable; these mutations reach the validator's data-flow
//    checks (the stack top, to-be-closed variables, register contents).
// Whatever the loader accepts is run under the sandbox limits: the loader
// promises that an accepted chunk cannot make the VM misbehave.
#include <vector>

#include "dump_format.hpp"
#include "harness.hpp"
#include "opcodes.hpp"

namespace {

void load_and_run(luna::State* L, const std::string& chunk) {
  if (luna_fuzz::load(L, chunk.data(), chunk.size(), "=fuzz", "b") == luna::OK)
    luna_fuzz::run_limited(L);
  luna::set_top(L, 0);
}

// Small deterministic generator (xorshift64*), so a saved input replays the
// same flips.
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

// Where the code of each function sits in a dump (the layout is described
// in dump_format.hpp): offset of the first instruction, count, frame size.
struct CodeSpan {
  size_t at;
  int n;
  int maxstack;
};

class DumpWalker {
 public:
  explicit DumpWalker(const std::string& d) : d_(d) {}
  // False if the dump does not parse (it always should: it is genuine).
  bool walk(std::vector<CodeSpan>& out) {
    p_ = luna::dumpfmt::HEADER_LEN + 1;
    return function(out, 0) && p_ == d_.size();
  }

 private:
  const std::string& d_;
  size_t p_ = 0;
  bool ok_ = true;

  size_t varint() {
    size_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= d_.size()) break;
      uint8_t b = static_cast<uint8_t>(d_[p_++]);
      x = (x << 7) | (b & 0x7f);
      if (b & 0x80) return x;
    }
    ok_ = false;
    return 0;
  }
  void skip(size_t n) {
    if (n > d_.size() - p_) ok_ = false;
    p_ = ok_ ? p_ + n : d_.size();
  }
  void string() {
    size_t size = varint();
    if (size > 0) skip(size - 1);
  }
  bool function(std::vector<CodeSpan>& out, int depth) {
    if (depth > 50) return false;
    string();
    varint();
    varint();
    skip(2);
    if (!ok_) return false;
    int maxstack = static_cast<uint8_t>(d_[p_]);
    skip(1);
    size_t n = varint();
    if (!ok_ || n > (d_.size() - p_) / 4) return false;
    out.push_back({p_, static_cast<int>(n), maxstack});
    skip(4 * n);
    for (size_t k = varint(); ok_ && k > 0; k--) {
      switch (p_ < d_.size() ? static_cast<uint8_t>(d_[p_++]) : 0xff) {
        case luna::dumpfmt::K_INT: case luna::dumpfmt::K_FLOAT: skip(8); break;
        case luna::dumpfmt::K_SHORTSTR: case luna::dumpfmt::K_LONGSTR: string(); break;
        case luna::dumpfmt::K_NIL: case luna::dumpfmt::K_FALSE: case luna::dumpfmt::K_TRUE: break;
        default: ok_ = false;
      }
    }
    skip(3 * varint());
    for (size_t k = varint(); ok_ && k > 0; k--)
      if (!function(out, depth + 1)) return false;
    skip(varint());  // relative lines
    for (size_t k = varint(); ok_ && k > 0; k--) {  // absolute lines
      varint();
      varint();
    }
    for (size_t k = varint(); ok_ && k > 0; k--) {
      string();
      varint();
      varint();
    }
    for (size_t k = varint(); ok_ && k > 0; k--) string();
    return ok_;
  }
};

luna::Instruction get_insn(const std::string& d, size_t at) {
  luna::Instruction x = 0;
  for (int b = 0; b < 4; b++) x |= static_cast<luna::Instruction>(static_cast<uint8_t>(d[at + b])) << (8 * b);
  return x;
}
void put_insn(std::string& d, size_t at, luna::Instruction x) {
  for (int b = 0; b < 4; b++) d[at + b] = static_cast<char>((x >> (8 * b)) & 0xff);
}

bool is_open_producer(luna::Instruction i) {
  return (luna::get_op(i) == luna::OP_CALL || luna::get_op(i) == luna::OP_VARARG) && luna::getarg_C(i) == 0;
}
bool is_open_consumer(luna::Instruction i) {
  luna::OpCode op = luna::get_op(i);
  return (op == luna::OP_CALL || op == luna::OP_TAILCALL || op == luna::OP_RETURN || op == luna::OP_SETLIST) &&
         luna::getarg_B(i) == 0;
}

// One structural change to the code of one function of the dump.
void mutate_code(std::string& d, const std::vector<CodeSpan>& spans, Rng& rng) {
  using namespace luna;
  const CodeSpan& f = spans[rng.next() % spans.size()];
  if (f.n == 0) return;
  int pc = static_cast<int>(rng.next() % static_cast<uint64_t>(f.n));
  uint64_t r = rng.next();
  // Some mutations go for a particular kind of instruction: the first one
  // at or after pc (wrapping around), if the function has any.
  auto find = [&](bool (*want)(Instruction)) {
    for (int k = 0; k < f.n; k++) {
      int q = (pc + k) % f.n;
      if (want(get_insn(d, f.at + 4 * static_cast<size_t>(q)))) return q;
    }
    return -1;
  };
  // A register near the frame: mostly inside, sometimes just past it.
  int reg = static_cast<int>((r >> 8) % static_cast<uint64_t>(f.maxstack + 3));
  switch (r % 8) {
    case 0: {  // an open-top producer writes elsewhere
      int q = find(is_open_producer);
      if (q >= 0) pc = q;
      break;
    }
    case 1: {  // an open-top consumer reads from elsewhere
      int q = find(is_open_consumer);
      if (q >= 0) pc = q;
      break;
    }
    default: break;
  }
  size_t at = f.at + 4 * static_cast<size_t>(pc);
  Instruction i = get_insn(d, at);
  switch (r % 8) {
    case 0: case 1: setarg_A(i, reg & MAXARG_A); break;
    case 2: {  // jump somewhere else in the function
      int dest = static_cast<int>((r >> 16) % static_cast<uint64_t>(f.n));
      switch (get_op(i)) {
        case OP_FORLOOP: case OP_TFORLOOP:
          if (dest <= pc) setarg_Bx(i, static_cast<unsigned>(pc + 1 - dest));
          break;
        case OP_FORPREP:
          if (dest >= pc + 2) setarg_Bx(i, static_cast<unsigned>(dest - pc - 2));
          break;
        case OP_TFORPREP:
          if (dest >= pc + 1) setarg_Bx(i, static_cast<unsigned>(dest - pc - 1));
          break;
        default: i = create_sJ(OP_JMP, dest - pc - 1, 0); break;
      }
      break;
    }
    case 3:  // make a count open ("up to the top") or fixed
      if ((r >> 20) & 1)
        setarg_B(i, (r >> 21) & 1 ? 0 : reg & MAXARG_B);
      else
        setarg_C(i, (r >> 21) & 1 ? 0 : reg & MAXARG_C);
      break;
    case 4: setarg_k(i, getarg_k(i) ^ 1); break;  // returns skip or do the closing
    case 5: {  // an instruction copied from elsewhere in the function
      int from = static_cast<int>((r >> 16) % static_cast<uint64_t>(f.n));
      i = get_insn(d, f.at + 4 * static_cast<size_t>(from));
      break;
    }
    case 6: setarg_B(i, reg & MAXARG_B); break;
    default: i = (i & ~Instruction(0x7f)) | Instruction((r >> 16) % NUM_OPCODES); break;
  }
  put_insn(d, at, i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  luna::State* L = luna_fuzz::open_sandbox();
  if (L == nullptr) return 0;
  uint8_t mode = data[0];
  const char* rest = reinterpret_cast<const char*>(data + 1);
  if ((mode & 1) == 0) {
    load_and_run(L, std::string(rest, size - 1));
  } else if (luna_fuzz::load(L, rest, size - 1, "=src", "t") == luna::OK) {
    std::string dump;
    if (luna::dump(L, luna_fuzz::string_writer, &dump, (mode & 2) != 0) != 0)
      luna_fuzz::violated("dump failed", nullptr);
    luna::set_top(L, 0);
    if (luna::load_bufferx(L, dump.data(), dump.size(), "=dump", "b") != luna::OK)
      luna_fuzz::violated("own dump rejected", luna::to_string(L, -1));
    luna::set_top(L, 0);
    Rng rng{0x9E3779B97F4A7C15ULL ^ size};
    for (size_t i = 0; i < size; i++) rng.s = (rng.s ^ data[i]) * 0x100000001B3ULL;
    if (rng.s == 0) rng.s = 1;
    int flips = (mode >> 2) % 8 + 1;
    for (int round = 0; round < 4; round++) {
      std::string bad = dump;
      for (int k = 0; k < flips; k++) {
        uint64_t r = rng.next();
        size_t pos = r % bad.size();
        // Mostly single-bit flips, sometimes a whole random byte.
        uint8_t mask = (r >> 32) & 1 ? static_cast<uint8_t>(1u << ((r >> 40) & 7)) : static_cast<uint8_t>(r >> 48);
        bad[pos] = static_cast<char>(bad[pos] ^ (mask ? mask : 0xFF));
      }
      load_and_run(L, bad);
    }
    std::vector<CodeSpan> spans;
    if (!DumpWalker(dump).walk(spans)) luna_fuzz::violated("own dump does not parse", nullptr);
    for (int round = 0; round < 4; round++) {
      std::string bad = dump;
      for (int k = 0; k < flips; k++) mutate_code(bad, spans, rng);
      load_and_run(L, bad);
    }
  }
  luna::set_top(L, 0);
  luna_fuzz::check_usable(L);
  luna_fuzz::close_limited(L);
  return 0;
}
