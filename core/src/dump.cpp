// Binary chunks, writing side (string.dump / dump()). The layout is
// described in dump_format.hpp and read back by undump.cpp.
#include "dump_format.hpp"
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

  // After the writer fails, nothing more is written; the status is reported.
  void block(const void* p, size_t n) {
    if (status_ == 0 && n > 0) status_ = w_(L_, p, n, data_);
  }
  void byte(uint8_t b) { block(&b, 1); }

  void varint(size_t x) {
    uint8_t buf[dumpfmt::MAX_VARINT_BYTES];
    int n = 0;
    do {
      uint8_t b = x & 0x7f;
      x >>= 7;
      if (x != 0) b |= 0x80;
      buf[n++] = b;
    } while (x != 0);
    block(buf, static_cast<size_t>(n));
  }
  void sint(int x) { varint(dumpfmt::zigzag(x)); }

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
    varint(s->len + 1);
    block(s->c_str(), s->len);
  }

  void header() {
    block(BINARY_SIGNATURE, 4);
    byte(dumpfmt::VERSION);
    byte(dumpfmt::FORMAT);
    block(dumpfmt::DATA, dumpfmt::DATA_LEN);
    byte(sizeof(Instruction));
    byte(sizeof(Integer));
    byte(sizeof(Number));
    integer(dumpfmt::TEST_INT);
    number(dumpfmt::TEST_NUM);
  }

  void code(const Proto* f) {
    varint(static_cast<size_t>(f->sizecode));
    for (int i = 0; i < f->sizecode; i++) {
      Instruction ins = f->code[i];
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
        case Tag::ShortStr: case Tag::LongStr: byte(dumpfmt::K_STRING); string(v.as_string()); break;
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
  // which are small.
  void debug(const Proto* f) {
    int nlines = strip_ ? 0 : f->sizelineinfo;
    varint(static_cast<size_t>(nlines));
    int prev = f->linedefined;
    for (int i = 0; i < nlines; i++) {
      sint(f->lineinfo[i] - prev);
      prev = f->lineinfo[i];
    }
    int nloc = strip_ ? 0 : f->sizelocvars;
    varint(static_cast<size_t>(nloc));
    for (int i = 0; i < nloc; i++) {
      string(f->locvars[i].name);
      varint(static_cast<size_t>(f->locvars[i].startpc));
      varint(static_cast<size_t>(f->locvars[i].endpc));
    }
    int nup = strip_ ? 0 : f->sizeupvalues;
    varint(static_cast<size_t>(nup));
    for (int i = 0; i < nup; i++) string(f->upvalues[i].name);
  }

  void function(const Proto* f, const String* psource) {
    string((strip_ || f->source == psource) ? nullptr : f->source);
    varint(static_cast<size_t>(f->linedefined));
    varint(static_cast<size_t>(f->lastlinedefined));
    byte(f->numparams);
    byte(f->is_vararg);
    byte(f->maxstacksize);
    code(f);
    constants(f);
    upvalues(f);
    varint(static_cast<size_t>(f->sizep));
    for (int i = 0; i < f->sizep; i++) function(f->p[i], f->source);
    debug(f);
  }
};

}  // namespace

int dump_proto(State* L, const Proto* f, Writer w, void* data, bool strip) {
  Dumper d(L, w, data, strip);
  return d.run(f);
}

}  // namespace luna
