#include "rules/topology.h"

#include <algorithm>
#include <functional>

namespace noisegate::rules {

int Topology::AddNode(std::string_view name) {
  int found = Find(name);
  if (found >= 0) return found;
  nodes_.emplace_back().name = std::string(name);
  return static_cast<int>(nodes_.size() - 1);
}

void Topology::AddDependency(int from, int to) {
  auto& d = nodes_[from].depends_on;
  if (std::find(d.begin(), d.end(), to) == d.end()) d.push_back(to);
  auto& r = nodes_[to].dependents;
  if (std::find(r.begin(), r.end(), from) == r.end()) r.push_back(from);
}

int Topology::Find(std::string_view name) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Topology::Finish() {
  const int n = static_cast<int>(nodes_.size());
  // Cycle check (colouring DFS over depends_on).
  std::vector<int> colour(n, 0);
  std::string cycle;
  std::function<void(int)> visit = [&](int v) {
    colour[v] = 1;
    for (int w : nodes_[v].depends_on) {
      if (colour[w] == 1 && cycle.empty()) cycle = nodes_[w].name;
      if (colour[w] == 0) visit(w);
    }
    colour[v] = 2;
  };
  for (int v = 0; v < n; ++v) {
    if (colour[v] == 0) visit(v);
  }
  if (!cycle.empty()) return cycle;
  auto by_name = [&](int a, int b) { return nodes_[a].name < nodes_[b].name; };
  for (int v = 0; v < n; ++v) {
    // Ancestors: everything that transitively depends on v.
    std::vector<char> seen(n, 0);
    std::vector<int> stack{v};
    std::vector<int> ancestors;
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      for (int up : nodes_[x].dependents) {
        if (!seen[up]) {
          seen[up] = 1;
          ancestors.push_back(up);
          stack.push_back(up);
        }
      }
    }
    // Impacts: the nearest user-facing nodes. The walk stops at a user-facing service,
    // because what is above it feels the failure through it and is not separate impact.
    std::vector<int> impacts;
    std::fill(seen.begin(), seen.end(), 0);
    stack.assign(1, v);
    seen[v] = 1;
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      if (nodes_[x].user_facing) {
        impacts.push_back(x);
        continue;
      }
      for (int up : nodes_[x].dependents) {
        if (!seen[up]) {
          seen[up] = 1;
          stack.push_back(up);
        }
      }
    }
    std::sort(impacts.begin(), impacts.end(), by_name);
    std::sort(ancestors.begin(), ancestors.end());
    nodes_[v].impacts = std::move(impacts);
    nodes_[v].ancestors = std::move(ancestors);
  }
  return {};
}

bool Topology::DependsOn(int a, int b) const {
  const auto& anc = nodes_[b].ancestors;
  return std::binary_search(anc.begin(), anc.end(), a);
}

std::vector<int> Topology::Callees(int node, int hops) const {
  std::vector<int> out, frontier{node}, next;
  std::vector<char> seen(nodes_.size(), 0);
  seen[static_cast<size_t>(node)] = 1;
  for (int h = 0; h < hops && !frontier.empty(); ++h) {
    next.clear();
    for (int v : frontier) {
      for (int w : nodes_[v].depends_on) {
        if (seen[static_cast<size_t>(w)]) continue;
        seen[static_cast<size_t>(w)] = 1;
        next.push_back(w);
        out.push_back(w);
      }
    }
    frontier.swap(next);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Position of `name` as a whole word in `text`, or npos.
size_t FindWord(std::string_view text, std::string_view name) {
  size_t pos = 0;
  while ((pos = text.find(name, pos)) != std::string_view::npos) {
    bool left = pos == 0 || !IsWordChar(text[pos - 1]);
    size_t end = pos + name.size();
    bool right = end >= text.size() || !IsWordChar(text[end]);
    if (left && right) return pos;
    pos += 1;
  }
  return std::string_view::npos;
}

}  // namespace

int Topology::FindNamed(std::string_view text, std::string_view more, int self) const {
  constexpr size_t kMaxScan = 4096;
  for (std::string_view t : {text.substr(0, kMaxScan), more.substr(0, kMaxScan)}) {
    int best = -1;
    size_t best_pos = std::string_view::npos;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (static_cast<int>(i) == self || nodes_[i].name.size() < 3) continue;
      size_t p = FindWord(t, nodes_[i].name);
      if (p < best_pos) {
        best_pos = p;
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) return best;
  }
  return -1;
}

int Topology::Attribute(const LabelSource& labels) const {
  for (const ComponentRule& c : components_) {
    if (c.match.Matches(labels)) return c.node;
  }
  for (std::string_view key : {"service", "component", "app"}) {
    std::string_view v = labels.Get(key);
    if (!v.empty()) {
      int i = Find(v);
      if (i >= 0) return i;
    }
  }
  return -1;
}

}  // namespace noisegate::rules
