// Loop optimisation, after LuaJIT's LOOP pass. The recorded iteration
// becomes a pre-roll; it is copied once more behind a LOOPSTART marker with
// every operand substituted (a slot read at the start of the copy becomes
// the value the pre-roll left in that slot). Re-emitting through fold/CSE
// shares every instruction and guard whose operands did not change with
// the pre-roll, which hoists them out of the loop. The slots the loop
// modifies become PHIs: at the back-edge the copy's values move into the
// registers of the pre-roll's, and the code jumps to LOOPSTART. Exits in the
// copy restore, besides what the copy wrote, the PHI values of the slots it
// has not rewritten yet.
#include <algorithm>
#include <map>

#include "ir.hpp"

namespace luna::jit {

namespace {

bool same_type(const IrIns& a, const IrIns& b) { return a.type == b.type && a.tag == b.tag; }

}  // namespace

bool loop_optimise(IrBuffer& ir) {
  Ref loop = ir.size() - 1;
  if (ir[loop].op != IrOp::LOOP || ir[loop].b != 0) return false;  // b = 2: a side trace's link
  IrBuffer saved = ir;
  const Snapshot ls = ir.snapshots()[static_cast<size_t>(ir[loop].snap)];
  std::map<int, Ref> endval;  // slot -> value at the end of the pre-roll
  for (uint32_t e = 0; e < ls.count; e++) {
    const SnapEntry& se = ir.snap_entries()[ls.first + e];
    endval[se.slot] = se.ref;
  }
  // Pre-roll values that differ between iterations may not be shared.
  bool stores = false;
  bool inserts = false;  // a new key may move another key's node, or the hash part
  bool setmeta = false;
  bool closes = false;  // upvalues closed: their value pointers change
  bool grows = false;   // array parts grown: they move
  for (Ref r = 1; r < loop; r++) {
    stores = stores || ir[r].op == IrOp::VSTORE;
    inserts = inserts || (ir[r].op == IrOp::CALL && helper_inserts(static_cast<Helper>(ir[r].aux8)));
    setmeta = setmeta || (ir[r].op == IrOp::CALL && static_cast<Helper>(ir[r].aux8) == Helper::SetMeta);
    closes = closes || (ir[r].op == IrOp::CALL && static_cast<Helper>(ir[r].aux8) == Helper::UpvalClose);
    grows = grows || ir[r].op == IrOp::FSTORE ||
            (ir[r].op == IrOp::CALL && (static_cast<Helper>(ir[r].aux8) == Helper::TabAppend ||
                                                 static_cast<Helper>(ir[r].aux8) == Helper::TabGrowArray));
  }
  std::vector<bool> variant(loop, false);
  for (const auto& [slot, ref] : endval) variant[ref] = !ir.is_const(ref);
  for (Ref r = 1; r < loop; r++) {
    const IrIns& i = ir[r];
    if (i.op == IrOp::SLOAD && endval.count(i.aux)) variant[r] = true;
    Helper h = static_cast<Helper>(i.aux8);
    bool reads = i.op == IrOp::VLOAD ||
                 (i.op == IrOp::CALL && (h == Helper::TabLen || h == Helper::TabGetStr || h == Helper::TabGetInt));
    if (stores && reads && ir.stored_between(0, loop, i)) variant[r] = true;
    if (inserts && (i.op == IrOp::HREFK || (i.op == IrOp::FLOAD && (static_cast<Field>(i.aux8) == Field::TabFlags ||
                                                                   static_cast<Field>(i.aux8) == Field::TabNode ||
                                                                   static_cast<Field>(i.aux8) == Field::TabLsizenode))))
      variant[r] = true;
    if (setmeta && i.op == IrOp::FLOAD && static_cast<Field>(i.aux8) == Field::TabMeta) variant[r] = true;
    if (closes && i.op == IrOp::FLOAD && static_cast<Field>(i.aux8) == Field::UvValue) variant[r] = true;
    if (grows && i.op == IrOp::FLOAD &&
        (static_cast<Field>(i.aux8) == Field::TabArray || static_cast<Field>(i.aux8) == Field::TabAsize))
      variant[r] = true;
    if ((i.a != NO_REF && variant[i.a]) || (i.b != NO_REF && variant[i.b])) variant[r] = true;
  }
  ir.set_variant(variant);
  IrIns& marker = ir.at(loop);
  marker.op = IrOp::LOOPSTART;
  int32_t loop_snap = marker.snap;
  marker.snap = -1;

  std::vector<Ref> subst(loop, NO_REF);
  bool ok = true;
  for (Ref r = 1; r < loop && ok; r++) {
    const IrIns orig = ir[r];
    if (ir.is_const(r)) {
      subst[r] = r;
      continue;
    }
    if (orig.op == IrOp::SLOAD) {
      auto it = endval.find(orig.aux);
      if (it == endval.end()) {
        subst[r] = r;  // never written: the same value all along
      } else {
        subst[r] = it->second;
        ok = same_type(ir[it->second], orig);  // a type-unstable loop
      }
      continue;
    }
    IrIns c = orig;
    if (c.a != NO_REF) c.a = subst[c.a];
    if (c.b != NO_REF) c.b = subst[c.b];
    if ((c.a != NO_REF && !same_type(ir[c.a], ir[orig.a])) || (c.b != NO_REF && !same_type(ir[c.b], ir[orig.b]))) {
      ok = false;
      break;
    }
    if (c.snap >= 0) {
      const Snapshot s = ir.snapshots()[static_cast<size_t>(c.snap)];
      std::map<int, Ref> now;
      for (const auto& [slot, ref] : endval) now[slot] = ref;
      for (uint32_t e = 0; e < s.count; e++) {
        const SnapEntry& se = ir.snap_entries()[s.first + e];
        now[se.slot] = subst[se.ref];
      }
      std::vector<SnapEntry> entries;
      for (const auto& [slot, ref] : now) entries.push_back(SnapEntry{slot, ref});
      c.snap = static_cast<int32_t>(ir.add_snapshot(s.pc, entries, s.frame, s.top));
    }
    subst[r] = ir.emit(c);
    if (ir.failed()) ok = false;
  }
  if (ok) {
    // Two slots holding one value (a for loop's index and its copy) need
    // one PHI.
    std::map<Ref, Ref> phis;
    for (const auto& [slot, ref] : endval) {
      Ref v1 = ir.is_const(ref) ? ref : subst[ref];
      if (v1 == ref || !phis.emplace(ref, v1).second) continue;
      if (!same_type(ir[v1], ir[ref])) {
        ok = false;
        break;
      }
      ir.emit_raw(ir_ins(IrOp::PHI, IrType::Void, ref, v1));
    }
  }
  if (!ok) {
    ir = saved;
    return false;
  }
  IrIns back = ir_ins(IrOp::LOOP, IrType::Void, NO_REF, 1, saved[loop].aux);
  back.snap = loop_snap;
  ir.emit_raw(back);
  ir.set_variant({});
  return true;
}

bool hoist_bounds(IrBuffer& ir) {
  Ref one = ir.kint(1), zero = ir.kint(0);  // interned before anything is copied
  Ref n = ir.size(), start = 0;
  for (Ref r = 1; r < n; r++)
    if (ir[r].op == IrOp::LOOPSTART) start = r;
  // The guards go before LOOPSTART: so must the constants they use.
  if (start == 0 || ir[n - 1].op != IrOp::LOOP || ir[n - 1].b != 1 || one > start || zero > start) return false;
  auto is_k = [&](Ref r, Integer v) { return ir[r].op == IrOp::KINT && ir[r].k.i == v; };
  // The loop's counter c (c - 1 each iteration, and a guard c ~= 0) and an
  // index i (i + s each iteration, s 1 or an integer from before the loop:
  // sieve's `for j = i * i, n, i`), as PHI destinations: their values at
  // the top of each iteration.
  std::vector<Ref> counters;
  std::vector<std::pair<Ref, Ref>> indexes;  // (index, step)
  std::vector<bool> phi_dst(n, false);
  for (Ref r = start; r < n; r++)
    if (ir[r].op == IrOp::PHI) phi_dst[ir[r].a] = true;
  for (Ref r = start; r < n; r++) {
    const IrIns& p = ir[r];
    if (p.op != IrOp::PHI) continue;
    const IrIns& v = ir[p.b];
    if (v.type != IrType::Int || ir[p.a].type != IrType::Int) continue;
    if (v.op == IrOp::SUB && v.a == p.a && is_k(v.b, 1)) counters.push_back(p.a);
    if (v.op != IrOp::ADD || (v.a != p.a && v.b != p.a)) continue;
    Ref step = v.a == p.a ? v.b : v.a;
    if (step < start && !phi_dst[step] && ir[step].type == IrType::Int && !(ir[step].op == IrOp::KINT && ir[step].k.i < 1))
      indexes.emplace_back(p.a, step);
  }
  auto step_of = [&](Ref index) {
    for (const auto& [i, s] : indexes)
      if (i == index) return s;
    return NO_REF;
  };
  Ref count = NO_REF;
  for (Ref r = start; r < n && count == NO_REF; r++)
    if (ir[r].op == IrOp::NE && is_k(ir[r].b, 0) && std::find(counters.begin(), counters.end(), ir[r].a) != counters.end())
      count = ir[r].a;
  if (count == NO_REF) return false;
  // Bounds guards of the body, (i - 1) < B unsigned with B invariant.
  std::vector<bool> drop(n, false);
  std::vector<std::pair<Ref, Ref>> bounds;  // (index, bound)
  for (Ref r = start; r < n; r++) {
    const IrIns& g = ir[r];
    if (g.op != IrOp::ULT || g.b >= start || phi_dst[g.b] || ir.is_const(g.b)) continue;
    const IrIns& k = ir[g.a];
    if (k.op != IrOp::SUB || !is_k(k.b, 1) || step_of(k.a) == NO_REF) continue;
    drop[r] = true;
    if (std::find(bounds.begin(), bounds.end(), std::make_pair(k.a, g.b)) == bounds.end()) bounds.emplace_back(k.a, g.b);
  }
  if (bounds.empty()) return false;
  // The iteration with counter c and index i is followed by at most c more,
  // so the indexes the loop reaches are i .. i + c: with c >= 0 (no more
  // than 2^63 iterations) and both ends within 1 .. B, so is every index
  // (i + c wrapping would put the upper end below 1). Tested once, before
  // the loop, with the back-edge's snapshot (the state at LOOPSTART).
  const Snapshot ls = ir.snapshots()[static_cast<size_t>(ir[n - 1].snap)];
  std::vector<SnapEntry> entries(ir.snap_entries().begin() + ls.first, ir.snap_entries().begin() + ls.first + ls.count);
  int32_t snap = static_cast<int32_t>(ir.add_snapshot(ls.pc, entries, ls.frame, ls.top));
  std::vector<IrIns> out;
  for (Ref r = 0; r < start; r++) out.push_back(ir[r]);
  auto add = [&](IrIns i) {
    out.push_back(i);
    return static_cast<Ref>(out.size() - 1);
  };
  auto check = [&](IrOp op, Ref a, Ref b) {
    IrIns g = ir_ins(op, IrType::Void, a, b);
    g.snap = snap;
    g.aux8 = 1;  // a hoisted bounds check (ExitInfo::bounds)
    add(g);
  };
  check(IrOp::GE, count, zero);
  for (const auto& [index, bound] : bounds) {
    Ref step = step_of(index);
    Ref last;
    if (is_k(step, 1)) {
      last = add(ir_ins(IrOp::ADD, IrType::Int, index, count));
    } else {
      // With step s the indexes are i, i + s, .. i + c*s. c < B and
      // 1 <= s <= B (unsigned), and i <= B below: c*s + i stays below
      // 2^64 (B < 2^32), so the upper end cannot wrap. A loop past them
      // would leave the array anyway.
      check(IrOp::ULT, count, bound);
      check(IrOp::ULT, add(ir_ins(IrOp::SUB, IrType::Int, step, one)), bound);
      last = add(ir_ins(IrOp::ADD, IrType::Int, index, add(ir_ins(IrOp::MUL, IrType::Int, count, step))));
    }
    check(IrOp::ULT, add(ir_ins(IrOp::SUB, IrType::Int, index, one)), bound);
    check(IrOp::ULT, add(ir_ins(IrOp::SUB, IrType::Int, last, one)), bound);
  }
  compact_into(ir, out, start, drop);
  return true;
}

bool drop_implied_bounds(IrBuffer& ir) {
  Ref n = ir.size(), start = 0, end = n - 1;
  for (Ref r = 1; r < n; r++)
    if (ir[r].op == IrOp::LOOPSTART) start = r;
  while (end > start && ir.is_const(end)) end--;  // constants hoist_bounds interned
  if (start == 0 || ir[end].op != IrOp::LOOP || ir[end].b != 1) return false;
  auto is_k = [&](Ref r, Integer v) { return ir[r].op == IrOp::KINT && ir[r].k.i == v; };
  auto asize = [&](Ref r) { return ir[r].op == IrOp::FLOAD && static_cast<Field>(ir[r].aux8) == Field::TabAsize; };
  // (x - 1) < B with B an array part's size: 1 <= x <= B < 2^32.
  auto bound = [&](const IrIns& g, Ref& x) {
    if (g.op != IrOp::ULT || !asize(g.b) || ir[g.a].op != IrOp::SUB || !is_k(ir[g.a].b, 1)) return false;
    x = ir[g.a].a;
    return true;
  };
  auto positive_before = [&](Ref v) {
    for (Ref r = 1; r < start; r++)
      if (Ref x; bound(ir[r], x) && x == v) return true;
    return false;
  };
  // Indexes at least 1 at the top of every iteration: the pre-roll proved
  // the first value (or the one it adds 1 to) within an array, and each
  // iteration adds 1 to a value its own bounds guard keeps below 2^32.
  std::vector<bool> rising(n, false);
  for (Ref r = start; r < n; r++) {
    const IrIns& p = ir[r];
    if (p.op != IrOp::PHI || ir[p.a].type != IrType::Int) continue;
    const IrIns& v = ir[p.b];
    if (v.op != IrOp::ADD || !((v.a == p.a && is_k(v.b, 1)) || (v.b == p.a && is_k(v.a, 1)))) continue;
    const IrIns& init = ir[p.a];
    rising[p.a] = positive_before(p.a) || (init.op == IrOp::ADD && is_k(init.b, 1) && positive_before(init.a));
  }
  // In the body: a < b and (b - 1) < B, with a >= 1, put a - 1 below B.
  std::vector<std::pair<Ref, Ref>> less, within;
  std::vector<bool> drop(n, false);
  bool any = false;
  for (Ref r = start; r < n; r++) {
    const IrIns& g = ir[r];
    if (g.op == IrOp::LT) less.emplace_back(g.a, g.b);
    if (g.op == IrOp::GT) less.emplace_back(g.b, g.a);
    Ref a;
    if (!bound(g, a)) continue;
    if (rising[a])
      for (const auto& [lo, hi] : less)
        if (lo == a && std::find(within.begin(), within.end(), std::make_pair(hi, g.b)) != within.end()) drop[r] = true;
    any = any || drop[r];
    within.emplace_back(a, g.b);
  }
  if (!any) return false;
  // A dropped guard is a void instruction nothing refers to: renumber.
  std::vector<IrIns> out;
  for (Ref r = 0; r < start; r++) out.push_back(ir[r]);
  compact_into(ir, out, start, drop);
  return true;
}

}  // namespace luna::jit
