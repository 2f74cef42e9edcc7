// The place inventory (topology.places): what a signal that carries only its node or pod is
// given (the node's zone), how far the chain climbs, that a signal's own labels win, and the
// loader's errors with file:line:column.
#include "rules/place_inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "rules/loader.h"
#include "tests/rules/map_labels.h"

namespace noisegate::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using Own = testing::MapLabels;

std::shared_ptr<const CompiledRules> Load(const std::string& topology,
                                          std::vector<Diagnostic>* diagnostics = nullptr) {
  LoadResult r = LoadRulesString(topology + "correlate:\n  - name: all\n", "t.yaml");
  if (diagnostics != nullptr) *diagnostics = r.diagnostics;
  return r.rules;
}

constexpr const char* kInventory = R"(topology:
  places:
    pod:
      web-7d9f-x2: {node: node-1}
    node:
      node-1: {zone: eu-west-1a, rack: r12}
      node-2: {zone: eu-west-1b}
    zone:
      eu-west-1a: {region: eu-west-1}
)";

TEST(PlaceInventoryTest, ASignalIsGivenWhatItsPlacesLieIn) {
  auto rules = Load(kInventory);
  ASSERT_NE(rules, nullptr);
  const PlaceInventory& places = rules->topology.places();
  EXPECT_THAT(places.labels(), ElementsAre("pod", "node", "zone"));
  Own on_node_1{{"node", "node-1"}, {"service", "web"}};
  EXPECT_EQ(places.Lookup(on_node_1, "zone"), "eu-west-1a");
  EXPECT_EQ(places.Lookup(on_node_1, "rack"), "r12");
  EXPECT_EQ(places.Lookup(on_node_1, "region"), "eu-west-1");  // through the zone
  EXPECT_EQ(places.Lookup(on_node_1, "service"), "");          // no place gives it
  // A log line that carries only its pod: pod -> node -> zone -> region.
  Own pod{{"pod", "web-7d9f-x2"}};
  EXPECT_EQ(places.Lookup(pod, "node"), "node-1");
  EXPECT_EQ(places.Lookup(pod, "zone"), "eu-west-1a");
  EXPECT_EQ(places.Lookup(pod, "region"), "eu-west-1");
  EXPECT_THAT(places.All(pod),
              ElementsAre(Pair("node", "node-1"), Pair("rack", "r12"), Pair("region", "eu-west-1"),
                          Pair("zone", "eu-west-1a")));
  // Places the inventory does not list give nothing.
  EXPECT_EQ(places.Lookup(Own{{"node", "node-9"}}, "zone"), "");
  EXPECT_EQ(places.Lookup(Own{{"node", "node-2"}}, "region"), "");
  // What a signal says of itself wins: its own zone, which the inventory does not list, gives
  // no region (node-1's zone is not used).
  EXPECT_THAT(places.All(Own{{"node", "node-1"}, {"zone", "eu-west-1c"}}),
              ElementsAre(Pair("rack", "r12")));
}

TEST(PlaceInventoryTest, WithoutOneNothingIsGiven) {
  auto rules = Load("");
  ASSERT_NE(rules, nullptr);
  EXPECT_TRUE(rules->topology.places().empty());
  EXPECT_EQ(rules->topology.places().Lookup(Own{{"node", "node-1"}}, "zone"), "");
}

TEST(PlaceInventoryTest, MistakesAreNamedWithTheirPosition) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"topology:\n  places: [node]\n",
       "t.yaml:2:11: topology.places: expected a map of place labels like {node: {node-1: {zone: "
       "eu-west-1a}}}, got a list"},
      {"topology:\n  places:\n    node: [node-1]\n",
       "t.yaml:3:11: topology.places.node: expected a map of node values to what they lie in, "
       "like {node-1: {zone: eu-west-1a}}, got a list"},
      {"topology:\n  places:\n    node:\n      node-1: eu-west-1a\n",
       "t.yaml:4:15: topology.places.node.node-1: expected the places it lies in, like {zone: "
       "eu-west-1a}, got the string \"eu-west-1a\""},
      {"topology:\n  places:\n    node:\n      node-1: {node: node-2}\n",
       "t.yaml:4:16: topology.places.node.node-1.node: a place cannot lie in another of its own "
       "kind"},
      {"topology:\n  places:\n    node:\n      node-1: {component: db}\n",
       "t.yaml:4:16: topology.places.node.node-1.component: is computed by noisegate; an "
       "inventory cannot set it"},
      {"topology:\n  places:\n    node:\n      node-1: {zone: [a, b]}\n",
       "t.yaml:4:22: topology.places.node.node-1.zone: expected a place name, got a list"},
      {"topology:\n  places:\n    \"no de\": {node-1: {zone: a}}\n",
       "t.yaml:3:5: topology.places: expected a label name as key (node, pod, ...), got the "
       "string \"no de\""},
      {"topology:\n  places:\n    component: {db: {zone: a}}\n",
       "t.yaml:3:5: topology.places.component: is computed by noisegate, not a label signals "
       "carry: name a place label (node, pod, ...)"},
      {"topology:\n  place: {}\n", ""},
  };
  for (const Case& c : cases) {
    std::vector<Diagnostic> d;
    EXPECT_EQ(Load(c.yaml, &d), nullptr) << c.yaml;
    ASSERT_EQ(d.size(), 1u) << c.yaml;
    if (c.error.empty()) {
      EXPECT_THAT(d[0].message, HasSubstr("places")) << d[0].ToString();  // did you mean
    } else {
      EXPECT_EQ(d[0].ToString(), c.error);
    }
  }
}

}  // namespace
}  // namespace noisegate::rules
