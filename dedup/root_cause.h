// Where an incident's failure most likely starts: root candidates among its members'
// components and the culprits they name, the places where its signals began together, and the
// member that best names the problem. The engine ranks them when it notifies (they are part
// of the notification); outputs format them (processor/output/render.cc), and rank them only
// for a notification made by hand.
#pragma once

#include <vector>

#include "dedup/incident.h"
#include "rules/compiled_rules.h"

namespace noisegate::dedup {

struct RootCause {
  // Topology nodes that depend on no other of the incident's components or named culprits,
  // by name.
  std::vector<int> components;
  // Places where signals of the incident began together (join_colocated tied one to another
  // there); one that holds others of them comes first.
  std::vector<const Place*> places;
  // The member that best names the problem, or null.
  const Member* lead = nullptr;
};

RootCause RankRoots(const Incident& inc, const rules::Topology& topo);

}  // namespace noisegate::dedup
