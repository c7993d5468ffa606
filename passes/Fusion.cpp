#include "passes/Fusion.h"
#include "passes/DeadCode.h"

#include "ir/Groups.h"

#include <algorithm>
#include <map>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace nabla::passes {

using namespace ir;

namespace {

/// Ops that cost nothing to recompute in every group that reads them: they
/// are copied into each group instead of joining one.
bool isLeaf(const Op &op) { return hasTrait(op.kind, kCheapLeaf); }

struct Group {
  Shape shape;
  std::vector<Op *> ops; ///< in order, copies of leaves before the op that reads them
  size_t first = 0;      ///< position of its first op in the original order
  bool anchored = false; ///< starts with a matmul, conv2d or softmax
};

class Fuser {
public:
  explicit Fuser(Function &fn) : fn_(fn) {
    for (size_t i = 0; i < fn.ops.size(); ++i)
      position_[fn.ops[i].get()] = i;
  }

  bool run() {
    for (size_t i = 0; i < fn_.ops.size(); ++i)
      place(*fn_.ops[i]);
    while (mergeOnce()) {
    }
    if (!schedule())
      return false;
    removeDeadOps(fn_);
    return std::any_of(fn_.ops.begin(), fn_.ops.end(),
                       [](const auto &op) { return op->group >= 0; });
  }

private:
  /// Whether `v` is computed, directly or not, from an op of group `g`,
  /// counting a group as one unit: reaching one op of a group reaches what
  /// all of its ops read (the group runs as one kernel).
  bool dependsOn(const Value *v, int g) {
    std::vector<const Op *> stack;
    std::unordered_set<const Op *> visited;
    std::unordered_set<int> groupsSeen;
    if (v->def)
      stack.push_back(v->def);
    while (!stack.empty()) {
      const Op *op = stack.back();
      stack.pop_back();
      if (!visited.insert(op).second)
        continue;
      auto it = groupOf_.find(op);
      if (it != groupOf_.end()) {
        if (it->second == g)
          return true;
        if (groupsSeen.insert(it->second).second)
          for (const Op *member : groups_[size_t(it->second)].ops)
            stack.push_back(member);
      } else if (auto pos = position_.find(op);
                 pos != position_.end() && pos->second < groups_[size_t(g)].first) {
        continue; // an op before the group started, outside any group, cannot depend on it
      }
      for (const Value *operand : op->operands)
        if (operand->def)
          stack.push_back(operand->def);
    }
    return false;
  }

  bool inGroup(const Value *v, int g) const {
    auto it = v->def ? groupOf_.find(v->def) : groupOf_.end();
    return it != groupOf_.end() && it->second == g;
  }

  /// Whether `op` can join group `g`: same shape, and nothing it reads from
  /// outside the group is computed from the group (which would need the
  /// group to run both before and after it).
  bool canJoin(const Op &op, int g) {
    if (!(groups_[size_t(g)].shape == op.result.type.shape))
      return false;
    for (const Value *v : op.operands)
      if (!inGroup(v, g) && dependsOn(v, g))
        return false;
    return true;
  }

  void place(Op &op) {
    if (isLeaf(op) || !(canAnchorGroup(op) || isGroupElementOp(op)))
      return;
    int g = -1;
    if (!canAnchorGroup(op))
      for (const Value *v : op.operands)
        if (v->def && groupOf_.count(v->def) && canJoin(op, groupOf_[v->def])) {
          g = groupOf_[v->def];
          break;
        }
    if (g < 0) {
      g = int(groups_.size());
      groups_.push_back({op.result.type.shape, {}, position_.at(&op), canAnchorGroup(op)});
    }
    // Leaves read element-wise are computed in the group itself.
    if (!canAnchorGroup(op))
      for (size_t i = 0; i < op.operands.size(); ++i) {
        const Value *v = op.operands[i];
        if (v->def && isLeaf(*v->def) && v->type.shape == op.result.type.shape &&
            !std::any_of(v->def->operands.begin(), v->def->operands.end(),
                         [&](const Value *w) { return dependsOn(w, g); }))
          uses_.push_back({&op, i, copyLeaf(*v->def, g)});
      }
    groupOf_[&op] = g;
    groups_[size_t(g)].ops.push_back(&op);
  }

  /// Merges a group into one it reads from, when both have one shape, the
  /// reader has no anchor, and nothing else between them would need the
  /// first group before and the second after: ops that each start a group
  /// of their own (they read only arguments, or values of other shapes)
  /// end up with the ops that combine them. Returns whether it merged.
  bool mergeOnce() {
    for (size_t g2 = 0; g2 < groups_.size(); ++g2) {
      Group &reader = groups_[g2];
      if (reader.ops.empty() || reader.anchored)
        continue;
      for (const Op *op : reader.ops)
        for (const Value *v : op->operands) {
          auto from = v->def ? groupOf_.find(v->def) : groupOf_.end();
          if (from == groupOf_.end() || from->second == int(g2))
            continue;
          int g1 = from->second;
          if (!(groups_[size_t(g1)].shape == reader.shape) || !canMerge(g1, int(g2)))
            continue;
          Group &into = groups_[size_t(g1)];
          for (Op *member : reader.ops)
            groupOf_[member] = g1;
          into.ops.insert(into.ops.end(), reader.ops.begin(), reader.ops.end());
          into.first = std::min(into.first, reader.first);
          reader.ops.clear();
          return true;
        }
    }
    return false;
  }

  /// Whether group `g2` (which reads from `g1`) can join `g1`: nothing it
  /// reads from elsewhere is computed from g1.
  bool canMerge(int g1, int g2) {
    for (const Op *op : groups_[size_t(g2)].ops)
      for (const Value *v : op->operands)
        if (!inGroup(v, g1) && !inGroup(v, g2) && dependsOn(v, g1))
          return false;
    return true;
  }

  /// The group's copy of `leaf` (one per group).
  Value *copyLeaf(const Op &leaf, int g) {
    auto key = std::make_pair(&leaf, g);
    if (auto it = copyOf_.find(key); it != copyOf_.end())
      return it->second;
    auto copy = std::make_unique<Op>();
    copy->kind = leaf.kind;
    copy->operands = leaf.operands;
    copy->attrs = leaf.attrs;
    copy->loc = leaf.loc;
    copy->result.type = leaf.result.type;
    copy->result.name = leaf.result.name;
    copy->result.def = copy.get();
    groupOf_[copy.get()] = g;
    groups_[size_t(g)].ops.push_back(copy.get());
    Value *v = &copy->result;
    copies_.push_back(std::move(copy));
    copyOf_[key] = v;
    return v;
  }

  /// Reorders the ops so that each group's ops are consecutive, keeping the
  /// original order where dependencies allow; numbers the groups of two or
  /// more ops. False (and nothing changed) if no such order exists.
  bool schedule() {
    // Units: a group, or a single op outside any group.
    std::vector<std::vector<Op *>> units;
    std::vector<size_t> firstOf;
    std::unordered_map<const Op *, size_t> unitOf;
    std::vector<int> unitGroup(groups_.size(), -1);
    for (const auto &op : fn_.ops) {
      auto g = groupOf_.find(op.get());
      if (g != groupOf_.end()) {
        if (unitGroup[size_t(g->second)] < 0) {
          unitGroup[size_t(g->second)] = int(units.size());
          units.push_back(groups_[size_t(g->second)].ops);
          firstOf.push_back(position_.at(op.get()));
          for (Op *member : units.back())
            unitOf[member] = units.size() - 1;
        }
        continue;
      }
      unitOf[op.get()] = units.size();
      units.push_back({op.get()});
      firstOf.push_back(position_.at(op.get()));
    }
    // Kahn's algorithm, earliest original position first.
    std::vector<std::vector<size_t>> next(units.size());
    std::vector<size_t> waiting(units.size(), 0);
    for (size_t u = 0; u < units.size(); ++u) {
      std::unordered_set<size_t> from;
      for (const Op *op : units[u])
        for (const Value *v : op->operands)
          if (v->def && unitOf.count(v->def) && unitOf[v->def] != u)
            from.insert(unitOf[v->def]);
      for (size_t f : from)
        next[f].push_back(u);
      waiting[u] = from.size();
    }
    using Entry = std::pair<size_t, size_t>; // (first position, unit)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> ready;
    for (size_t u = 0; u < units.size(); ++u)
      if (!waiting[u])
        ready.push({firstOf[u], u});
    std::vector<size_t> order;
    while (!ready.empty()) {
      size_t u = ready.top().second;
      ready.pop();
      order.push_back(u);
      for (size_t n : next[u])
        if (--waiting[n] == 0)
          ready.push({firstOf[n], n});
    }
    if (order.size() != units.size())
      return false;

    // The order exists: the group members now read their own copies of leaves.
    for (const CopyUse &use : uses_)
      use.op->operands[use.operand] = use.copy;
    // Take ownership of every op (originals and copies) and lay them out.
    std::unordered_map<const Op *, std::unique_ptr<Op>> owned;
    for (auto &op : fn_.ops)
      owned[op.get()] = std::move(op);
    for (auto &op : copies_)
      owned[op.get()] = std::move(op);
    fn_.ops.clear();
    int groupId = 0;
    for (size_t u : order) {
      int id = units[u].size() > 1 ? groupId++ : -1;
      for (Op *op : units[u]) {
        op->group = id;
        fn_.ops.push_back(std::move(owned.at(op)));
      }
    }
    return true;
  }

  Function &fn_;
  std::unordered_map<const Op *, size_t> position_;
  std::unordered_map<const Op *, int> groupOf_;
  std::vector<Group> groups_;
  std::vector<std::unique_ptr<Op>> copies_;
  std::map<std::pair<const Op *, int>, Value *> copyOf_;
  /// Operands to point at copies of leaves once the schedule succeeds.
  struct CopyUse {
    Op *op;
    size_t operand;
    Value *copy;
  };
  std::vector<CopyUse> uses_;
};

} // namespace

bool fuse(Function &fn) {
  for (const auto &op : fn.ops)
    if (op->group >= 0)
      return false; // already fused
  return Fuser(fn).run();
}

} // namespace nabla::passes
