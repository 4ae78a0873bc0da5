// Linear scan (Poletto and Sarkar) with eviction of the furthest-ending value.
#include "regalloc.hpp"

#include <algorithm>

namespace luna::jit {

RegSet RegSet::x64() {
  // Reserved: rsp, r12 (State*), r13 (base), r10/r11 and xmm14/xmm15 (scratch).
  RegSet r;
  r.gpr = {0, 1, 2, 6, 7, 8, 9, 3, 5, 14, 15};
  r.gpr_saved = {3, 5, 14, 15};
  for (int i = 0; i < 14; i++) r.xmm.push_back(i);
  return r;
}

bool needs_reg(const IrIns& i) {
  if (i.op <= IrOp::KTRUE) return false;  // constants are immediates
  return i.type == IrType::Int || i.type == IrType::Num || i.type == IrType::Gc || i.type == IrType::Ptr;
}

bool inline_helper(const IrBuffer& ir, const IrIns& i) {
  if (i.op != IrOp::CALL) return false;
  Helper h = static_cast<Helper>(i.aux8);
  if (h == Helper::IntMod || h == Helper::IntIdiv) return true;
  return h == Helper::TabGetStr && ir[i.b].op == IrOp::KGC && ir[i.b].tag == Tag::ShortStr;
}

namespace {

bool caller_saved_gpr(int r) { return !(r == 3 || r == 5 || (r >= 12 && r <= 15)); }

// Operations the assembler emits as d = x; d op= y: a result in the register
// of its dying first operand (or second, when they commute) needs no move.
bool two_address(const IrIns& i) {
  switch (i.op) {
    case IrOp::ADD: case IrOp::SUB: case IrOp::MUL: case IrOp::DIV: case IrOp::BAND: case IrOp::BOR:
    case IrOp::BXOR: case IrOp::SHLK: case IrOp::SHRK: case IrOp::NEG: case IrOp::BNOT:
      return true;
    case IrOp::ABS:
      return i.type == IrType::Num;
    default:
      return false;
  }
}
bool commutes(IrOp op) {
  return op == IrOp::ADD || op == IrOp::MUL || op == IrOp::BAND || op == IrOp::BOR || op == IrOp::BXOR;
}
// Operations whose result is written after every operand was read (and
// after their guard's exit): it may take either operand's register.
bool writes_last(IrOp op) {
  return op == IrOp::FLOAD || op == IrOp::VLOAD || op == IrOp::AREF || op == IrOp::HREFK || op == IrOp::BLOAD ||
         op == IrOp::SQRT || op == IrOp::FLOOR || op == IrOp::CEIL;
}

}  // namespace

std::vector<bool> fused_addresses(const IrBuffer& ir) {
  Ref n = ir.size();
  std::vector<bool> fused(n, false);
  for (Ref r = 1; r < n; r++) fused[r] = ir[r].op == IrOp::AREF || ir[r].op == IrOp::HREFK;
  for (Ref r = 1; r < n; r++) {
    const IrIns& i = ir[r];
    if (i.op == IrOp::LOOP) continue;
    // A store through an array slot would need a third scratch register
    // for the value, unless it is an immediate (nil, a boolean, a 32-bit
    // integer), a float, or an integer or object in a register (either
    // spilled goes through an SSE scratch: store_value).
    auto no_scratch = [&](Ref v) {
      const IrIns& k = ir[v];
      return k.type == IrType::Num || k.op == IrOp::KNIL || k.op == IrOp::KFALSE || k.op == IrOp::KTRUE ||
             (k.op == IrOp::KINT && k.k.i >= INT32_MIN && k.k.i <= INT32_MAX) ||
             (needs_reg(k) && (k.type == IrType::Int || k.type == IrType::Gc));
    };
    bool through = i.op == IrOp::VLOAD || i.op == IrOp::NOTNIL ||
                   (i.op == IrOp::VSTORE && (ir[i.a].op == IrOp::HREFK || no_scratch(i.b)));
    if (i.a != NO_REF && !through) fused[i.a] = false;
    if (i.b != NO_REF) fused[i.b] = false;
  }
  for (const SnapEntry& e : ir.snap_entries()) fused[e.ref] = false;
  return fused;
}

Allocation allocate(const IrBuffer& ir, const RegSet& regs) {
  Allocation al;
  Ref n = ir.size();
  al.iv.resize(n);
  al.fused = fused_addresses(ir);
  // A use of a fused address uses its operands.
  auto use = [&](Ref v, Ref pos) {
    if (v == NO_REF) return;
    if (pos > al.iv[v].end) al.iv[v].end = pos;
    if (al.fused[v])
      for (Ref o : {ir[v].a, ir[v].b})
        if (o != NO_REF && pos > al.iv[o].end) al.iv[o].end = pos;
  };
  const auto& snaps = ir.snapshots();
  const auto& ents = ir.snap_entries();
  // The last use of each value by an instruction rather than a snapshot:
  // past it, only exits read the value, which read a spill slot as well.
  std::vector<Ref> op_end(n, 0);
  for (Ref r = 1; r < n; r++) {
    const IrIns& i = ir[r];
    al.iv[r].start = r;
    al.iv[r].fpr = i.type == IrType::Num;
    if (i.op != IrOp::LOOP) {  // its b is a mode, not an operand
      use(i.a, r);
      use(i.b, r);
      for (Ref v : {i.a, i.b}) {
        if (v == NO_REF) continue;
        op_end[v] = r;
        if (al.fused[v])
          for (Ref o : {ir[v].a, ir[v].b})
            if (o != NO_REF) op_end[o] = r;
      }
    }
    if (i.snap >= 0) {
      const Snapshot& s = snaps[static_cast<size_t>(i.snap)];
      for (uint32_t e = 0; e < s.count; e++) use(ents[s.first + e].ref, r);
    }
    if ((i.op == IrOp::CALL && !inline_helper(ir, i)) || i.op == IrOp::CALLOUT || i.op == IrOp::NCALL)
      al.calls.push_back(r);
  }
  // In an optimised loop, whatever the loop uses from before LOOPSTART is
  // live until the back-edge, except a PHI's destination: the back-edge's
  // moves write its register with the next iteration's value, so it lives
  // to its own last use (its PHI and the back-edge's snapshot left out,
  // which read it after the moves). That snapshot is also the budget
  // exit's at LOOPSTART: used there, so no value the pre-roll leaves to the
  // loop can take the register. The value that replaces it (phi_src)
  // prefers its register, and the back-edge moves nothing for it.
  Ref loop_start = 0;
  for (Ref r = 1; r < n; r++)
    if (ir[r].op == IrOp::LOOPSTART) loop_start = r;
  std::vector<bool> phi_dst;
  std::vector<Ref> phi_src;
  if (loop_start != 0) {
    std::vector<Ref> own_end(n, 0);
    phi_dst.assign(n, false);
    phi_src.assign(n, NO_REF);
    auto own_use = [&](Ref v, Ref pos) {
      if (v == NO_REF) return;
      if (pos > own_end[v]) own_end[v] = pos;
      if (al.fused[v])
        for (Ref o : {ir[v].a, ir[v].b})
          if (o != NO_REF && pos > own_end[o]) own_end[o] = pos;
    };
    for (Ref r = 1; r < n; r++) {
      const IrIns& i = ir[r];
      if (i.op == IrOp::PHI) {
        own_use(i.b, r);
        if (needs_reg(ir[i.a])) phi_dst[i.a] = true;
        if (i.b > loop_start && needs_reg(ir[i.b]) && phi_src[i.b] == NO_REF) phi_src[i.b] = i.a;
        continue;
      }
      Ref at = r;
      if (i.op == IrOp::LOOP) {
        at = loop_start;
      } else {
        own_use(i.a, r);
        own_use(i.b, r);
      }
      if (i.snap >= 0) {
        const Snapshot& s = snaps[static_cast<size_t>(i.snap)];
        for (uint32_t e = 0; e < s.count; e++) own_use(ents[s.first + e].ref, at);
      }
    }
    for (Ref r = 1; r < loop_start; r++)
      if (phi_dst[r]) al.iv[r].end = own_end[r];
      else if (al.iv[r].end >= loop_start) al.iv[r].end = n - 1;
  }
  auto crosses_call = [&](const Interval& v) {
    for (Ref c : al.calls)
      if (v.start < c && c < v.end) return true;
    return false;
  };

  std::vector<Ref> active;
  std::vector<bool> gpr_free(16, false), xmm_free(16, false);
  for (int g : regs.gpr) gpr_free[static_cast<size_t>(g)] = true;
  for (int x : regs.xmm) xmm_free[static_cast<size_t>(x)] = true;

  for (Ref r = 1; r < n; r++) {
    if (!needs_reg(ir[r]) || al.fused[r]) continue;
    Interval& cur = al.iv[r];
    if (cur.end == 0) cur.end = r;  // defined but unused: still needs a target
    // Expire values whose last use is before this definition.
    for (size_t k = 0; k < active.size();) {
      Interval& a = al.iv[active[k]];
      if (a.end < r) {
        (a.fpr ? xmm_free : gpr_free)[static_cast<size_t>(a.reg)] = true;
        active.erase(active.begin() + static_cast<long>(k));
      } else {
        k++;
      }
    }
    // The register of an operand dying here passes to the result of a
    // two-address operation (or one that writes it last: a load through a
    // pointer that dies there).
    Ref heir = NO_REF;
    if (two_address(ir[r]) || writes_last(ir[r].op)) {
      auto dies_here = [&](Ref v) {
        if (v == NO_REF || ir.is_const(v) || !needs_reg(ir[v])) return false;
        const Interval& w = al.iv[v];
        return w.end == r && w.fpr == cur.fpr && w.reg >= 0 && w.spill_from == UINT32_MAX;
      };
      const IrIns& i = ir[r];
      if (dies_here(i.a)) heir = i.a;
      else if ((commutes(i.op) || writes_last(i.op)) && dies_here(i.b)) heir = i.b;
    }
    std::vector<bool>& free = cur.fpr ? xmm_free : gpr_free;
    // A loop-carried value takes its PHI's register when that is free,
    // unless the operand it inherits holds it: an inherited register there
    // would cost a move at the back-edge (a cycle of them when it is
    // another PHI's).
    int want = loop_start != 0 && phi_src[r] != NO_REF ? al.iv[phi_src[r]].reg : -1;
    if (want >= 0 && !free[static_cast<size_t>(want)]) want = -1;
    if (heir != NO_REF && want < 0) {
      cur.reg = al.iv[heir].reg;
      active.erase(std::find(active.begin(), active.end(), heir));
      active.push_back(r);
      continue;
    }
    int pick = want;
    if (pick < 0 && !cur.fpr && crosses_call(cur))
      for (int g : regs.gpr_saved)
        if (gpr_free[static_cast<size_t>(g)]) { pick = g; break; }
    if (pick < 0)
      for (int g : cur.fpr ? regs.xmm : regs.gpr)
        if (free[static_cast<size_t>(g)]) { pick = g; break; }
    if (pick >= 0) {
      cur.reg = pick;
      free[static_cast<size_t>(pick)] = false;
      active.push_back(r);
      continue;
    }
    // No register: evict a value only exits still read (its spill store at
    // the definition is all it costs), else whichever of the same class ends
    // last; not a value an optimised loop carries to its back-edge (it must
    // stay in its register) while another can go.
    auto carried = [&](Ref v) { return loop_start != 0 && v < loop_start && (al.iv[v].end == n - 1 || phi_dst[v]); };
    auto exits_only = [&](Ref v) { return v != r && op_end[v] < r && !carried(v); };
    Ref victim = r;
    for (Ref a : active) {
      if (al.iv[a].fpr != cur.fpr) continue;
      bool better = exits_only(victim) ? false
                    : exits_only(a)    ? true
                    : carried(victim)  ? !carried(a) || al.iv[a].end > al.iv[victim].end
                                       : !carried(a) && al.iv[a].end > al.iv[victim].end;
      if (better) victim = a;
    }
    if (victim == r) {
      cur.spill = al.nspill++;
      cur.spill_from = r - 1;  // the definition writes only memory
      continue;
    }
    Interval& v = al.iv[victim];
    v.spill = al.nspill++;
    v.spill_from = r - 1;
    cur.reg = v.reg;
    active.erase(std::find(active.begin(), active.end(), victim));
    active.push_back(r);
  }
  // Caller-saved registers do not survive a call: give such values a slot,
  // written at the definition, to reload from after the call.
  for (Ref c : al.calls) {
    for (Ref r = 1; r < c; r++) {
      Interval& v = al.iv[r];
      if (!needs_reg(ir[r]) || al.fused[r] || !(v.start < c && c < v.end) || !v.in_reg(c) || v.spill >= 0) continue;
      if (v.fpr || caller_saved_gpr(v.reg)) v.spill = al.nspill++;
    }
  }
  if (loop_start != 0) {
    for (Ref r = 1; r < loop_start; r++) {
      const Interval& v = al.iv[r];
      if (needs_reg(ir[r]) && !al.fused[r] && (v.end == n - 1 || phi_dst[r]) && (v.reg < 0 || v.spill_from != UINT32_MAX)) al.ok = false;
    }
  }
  return al;
}

}  // namespace luna::jit
