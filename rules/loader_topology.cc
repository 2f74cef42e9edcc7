// The topology section of a rules file: declared services (user-facing or not, and what each
// depends on), component rules mapping raw labels to a node, and the place inventory (what
// nodes and pods lie in). Builds rules->topology and reports a dependency cycle with the
// services on it.
#include <map>

#include "rules/loader_sections.h"

namespace noisegate::rules::internal {
namespace {

// The shortest dependency cycle through `start`, as "a -> b -> a".
std::string DescribeCycle(const Topology& topo, int start) {
  std::vector<int> parent(topo.size(), -1);
  std::vector<int> queue{start};
  for (size_t q = 0; q < queue.size(); ++q) {
    int x = queue[q];
    for (int next : topo.node(x).depends_on) {
      if (next == start) {
        std::vector<int> chain{start};
        for (int v = x; v != start; v = parent[v]) chain.push_back(v);
        std::string out = topo.node(start).name;
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
          out += " -> " + topo.node(*it).name;
        }
        return out;
      }
      if (parent[next] < 0 && next != start) {
        parent[next] = x;
        queue.push_back(next);
      }
    }
  }
  return topo.node(start).name;
}

void LoadServices(YamlReader& r, const YAML::Node& services, Topology* topo,
                  std::map<std::string, YAML::Node>* depends_nodes) {
  const std::string path = "topology.services";
  if (!services.IsMap()) {
    r.Report(services, path,
             "expected a map of services like {web: {user_facing: true, depends_on: [db]}}, got " +
                 Describe(services));
    return;
  }
  r.Charge(services);
  // Declared services first, in file order, so node indexes follow the file.
  std::vector<std::pair<int, YAML::Node>> declared;
  for (auto it = services.begin(); it != services.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar() || key.Scalar().empty()) {
      r.Report(key, path, "expected a service name as key, got " + Describe(key));
      continue;
    }
    if (topo->Find(key.Scalar()) >= 0) {
      r.Report(key, JoinPath(path, key.Scalar()), "duplicate service \"" + key.Scalar() + "\"");
      continue;
    }
    r.NoteEmptyValue(key, it->second);
    declared.emplace_back(topo->AddNode(key.Scalar()), it->second);
  }
  for (auto& [index, value] : declared) {
    const std::string name = topo->node(index).name;
    const std::string service_path = JoinPath(path, name);
    if (!r.CheckMap(value, service_path, {"user_facing", "depends_on"},
                    "a service like {user_facing: true, depends_on: [payments-api]}")) {
      continue;
    }
    if (YAML::Node n = YamlReader::Get(value, "user_facing"); YamlReader::Has(n)) {
      if (auto b = r.Bool(n, JoinPath(service_path, "user_facing"))) topo->SetUserFacing(index, *b);
    }
    YAML::Node deps = YamlReader::Get(value, "depends_on");
    if (!YamlReader::Has(deps)) continue;
    std::string deps_path = JoinPath(service_path, "depends_on");
    if (!r.CheckList(deps, deps_path, "a list of service names")) continue;
    (*depends_nodes)[name] = deps;
    size_t i = 0;
    for (auto it = deps.begin(); it != deps.end(); ++it, ++i) {
      if (auto dep = r.NonEmptyString(*it, IndexPath(deps_path, i), "a service name")) {
        topo->AddDependency(index, topo->AddNode(*dep));
      }
    }
  }
}

void LoadComponents(YamlReader& r, const YAML::Node& components, Topology* topo) {
  const std::string path = "topology.components";
  if (!r.CheckList(components, path, "a list of component rules")) return;
  size_t i = 0;
  for (auto it = components.begin(); it != components.end(); ++it, ++i) {
    const YAML::Node item = *it;
    std::string item_path = IndexPath(path, i);
    if (!r.CheckMap(item, item_path, {"match", "component"},
                    "a component rule like {match: ['cluster=\"pg\"'], component: payments-db}")) {
      continue;
    }
    ComponentRule rule;
    rule.line = YamlReader::Pos(item).line;
    bool ok = true;
    if (r.Require(item, item_path, "match")) {
      auto m = r.Matchers(YamlReader::Get(item, "match"), JoinPath(item_path, "match"), true);
      if (m) rule.match = std::move(*m);
      ok = ok && m.has_value();
    } else {
      ok = false;
    }
    if (r.Require(item, item_path, "component")) {
      auto c = r.NonEmptyString(YamlReader::Get(item, "component"),
                                JoinPath(item_path, "component"), "a component name");
      if (c) rule.node = topo->AddNode(*c);
      ok = ok && c.has_value();
    } else {
      ok = false;
    }
    if (ok) topo->mutable_components().push_back(std::move(rule));
  }
}

// Labels the engine computes: an inventory may not give them.
bool IsComputedLabel(std::string_view name) {
  for (std::string_view computed :
       {"signal", "template", "component", "impacted_service", "impacted_user_facing"}) {
    if (name == computed) return true;
  }
  return false;
}

// topology.places: {node: {node-1: {zone: eu-west-1a}, ...}, pod: {...}}.
void LoadPlaces(YamlReader& r, const YAML::Node& places, Topology* topo) {
  const std::string path = "topology.places";
  constexpr std::string_view kExample = "{node: {node-1: {zone: eu-west-1a}}}";
  if (!places.IsMap()) {
    r.Report(places, path,
             "expected a map of place labels like " + std::string(kExample) + ", got " +
                 Describe(places));
    return;
  }
  r.Charge(places);
  for (auto it = places.begin(); it != places.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar() || !IsLabelName(key.Scalar())) {
      r.Report(key, path, "expected a label name as key (node, pod, ...), got " + Describe(key));
      continue;
    }
    if (IsComputedLabel(key.Scalar())) {
      r.Report(key, JoinPath(path, key.Scalar()),
               "is computed by noisegate, not a label signals carry: name a place label (node, "
               "pod, ...)");
      continue;
    }
    const std::string label = key.Scalar();
    const std::string label_path = JoinPath(path, label);
    const YAML::Node values = it->second;
    if (!values.IsMap()) {
      r.Report(values, label_path,
               "expected a map of " + label +
                   " values to what they lie in, like {node-1: {zone: "
                   "eu-west-1a}}, got " +
                   Describe(values));
      continue;
    }
    r.Charge(values);
    for (auto v = values.begin(); v != values.end(); ++v) {
      auto value = r.NonEmptyString(v->first, label_path, "a " + label + " value as key");
      if (!value) continue;
      const std::string value_path = JoinPath(label_path, *value);
      const YAML::Node in = v->second;
      if (!in.IsMap() || in.size() == 0) {
        r.Report(in, value_path,
                 "expected the places it lies in, like {zone: eu-west-1a}, got " + Describe(in));
        continue;
      }
      r.Charge(in);
      PlaceInventory::Labels lies_in;
      for (auto p = in.begin(); p != in.end(); ++p) {
        const YAML::Node name = p->first;
        if (!name.IsScalar() || !IsLabelName(name.Scalar())) {
          r.Report(name, value_path, "expected a label name as key, got " + Describe(name));
          continue;
        }
        const std::string name_path = JoinPath(value_path, name.Scalar());
        if (name.Scalar() == label || IsComputedLabel(name.Scalar())) {
          r.Report(name, name_path,
                   name.Scalar() == label ? "a place cannot lie in another of its own kind"
                                          : "is computed by noisegate; an inventory cannot set it");
          continue;
        }
        if (auto s = r.NonEmptyString(p->second, name_path, "a place name")) {
          lies_in.emplace_back(name.Scalar(), std::move(*s));
        }
      }
      if (!lies_in.empty()) topo->mutable_places().Add(label, *value, std::move(lies_in));
    }
  }
}

}  // namespace

void LoadTopology(YamlReader& r, const YAML::Node& node, CompiledRules* rules) {
  Topology& topo = rules->topology;
  std::map<std::string, YAML::Node> depends_nodes;
  if (YamlReader::Has(node) && r.CheckMap(node, "topology", {"services", "components", "places"},
                                          "a map with services, components and places")) {
    if (YAML::Node n = YamlReader::Get(node, "services"); YamlReader::Has(n)) {
      LoadServices(r, n, &topo, &depends_nodes);
    }
    if (YAML::Node n = YamlReader::Get(node, "components"); YamlReader::Has(n)) {
      LoadComponents(r, n, &topo);
    }
    if (YAML::Node n = YamlReader::Get(node, "places"); YamlReader::Has(n)) {
      LoadPlaces(r, n, &topo);
    }
  }
  std::string cycle = topo.Finish();
  if (cycle.empty()) return;
  // The node Finish names lies on a cycle, so it has depends_on and was declared a service.
  std::string path = JoinPath(JoinPath("topology.services", cycle), "depends_on");
  std::string message = "dependency cycle: " + DescribeCycle(topo, topo.Find(cycle));
  auto it = depends_nodes.find(cycle);
  if (it != depends_nodes.end()) {
    r.Report(it->second, path, message);
  } else {
    r.Report(node, "topology.services", message);
  }
}

}  // namespace noisegate::rules::internal
