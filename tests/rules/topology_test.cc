// Tests of Topology: which user-facing services a component impacts, ancestors and
// DependsOn, cycle detection, and how labels are attributed to a node (component rules
// first, then the service label).
#include "rules/topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/rules/map_labels.h"

namespace noisegate::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using Labels = testing::MapLabels;

std::vector<std::string> Names(const Topology& t, const std::vector<int>& nodes) {
  std::vector<std::string> out;
  for (int n : nodes) out.push_back(t.node(n).name);
  return out;
}

// web-frontend (uf) -> checkout-api (uf) -> payments-api -> payments-db
//                   -> search-api                        -> redis-cart
// admin (uf) -> payments-db
class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = t_.AddNode("web-frontend");
    checkout_ = t_.AddNode("checkout-api");
    payments_ = t_.AddNode("payments-api");
    search_ = t_.AddNode("search-api");
    admin_ = t_.AddNode("admin");
    db_ = t_.AddNode("payments-db");
    redis_ = t_.AddNode("redis-cart");
    t_.SetUserFacing(web_, true);
    t_.SetUserFacing(checkout_, true);
    t_.SetUserFacing(admin_, true);
    t_.AddDependency(web_, checkout_);
    t_.AddDependency(web_, search_);
    t_.AddDependency(checkout_, payments_);
    t_.AddDependency(payments_, db_);
    t_.AddDependency(payments_, redis_);
    t_.AddDependency(admin_, db_);
    ASSERT_EQ(t_.Finish(), "");
  }

  Topology t_;
  int web_, checkout_, payments_, search_, admin_, db_, redis_;
};

TEST_F(TopologyTest, ImpactsStopAtTheNearestUserFacingService) {
  EXPECT_THAT(Names(t_, t_.node(db_).impacts), ElementsAre("admin", "checkout-api"));
  EXPECT_THAT(Names(t_, t_.node(redis_).impacts), ElementsAre("checkout-api"));
  EXPECT_THAT(Names(t_, t_.node(search_).impacts), ElementsAre("web-frontend"));
  EXPECT_THAT(Names(t_, t_.node(checkout_).impacts), ElementsAre("checkout-api"));
  EXPECT_THAT(Names(t_, t_.node(web_).impacts), ElementsAre("web-frontend"));
}

TEST_F(TopologyTest, AncestorsAndDependsOn) {
  EXPECT_EQ(t_.node(db_).ancestors, (std::vector<int>{web_, checkout_, payments_, admin_}));
  EXPECT_THAT(t_.node(web_).ancestors, IsEmpty());
  EXPECT_TRUE(t_.DependsOn(web_, db_));
  EXPECT_TRUE(t_.DependsOn(payments_, redis_));
  EXPECT_FALSE(t_.DependsOn(db_, web_));
  EXPECT_FALSE(t_.DependsOn(search_, db_));
  EXPECT_FALSE(t_.DependsOn(db_, db_));
}

TEST_F(TopologyTest, AddNodeFindsExisting) {
  EXPECT_EQ(t_.AddNode("payments-db"), db_);
  EXPECT_EQ(t_.Find("payments-db"), db_);
  EXPECT_EQ(t_.Find("nope"), -1);
}

TEST_F(TopologyTest, AttributePrefersComponentRulesThenServiceLabel) {
  t_.mutable_components().push_back(
      ComponentRule{MatcherSet({*Matcher::Parse("cluster=\"pg-payments\"")}), db_, 1});
  t_.mutable_components().push_back(
      ComponentRule{MatcherSet({*Matcher::Parse("namespace=\"checkout\"")}), checkout_, 2});
  // A component rule wins over the service label.
  EXPECT_EQ(t_.Attribute(Labels{{"cluster", "pg-payments"}, {"service", "search-api"}}), db_);
  // First matching rule wins.
  EXPECT_EQ(t_.Attribute(Labels{{"cluster", "pg-payments"}, {"namespace", "checkout"}}), db_);
  EXPECT_EQ(t_.Attribute(Labels{{"namespace", "checkout"}}), checkout_);
  // Then service, component, app.
  EXPECT_EQ(t_.Attribute(Labels{{"service", "search-api"}, {"app", "admin"}}), search_);
  EXPECT_EQ(t_.Attribute(Labels{{"component", "redis-cart"}, {"app", "admin"}}), redis_);
  EXPECT_EQ(t_.Attribute(Labels{{"service", "unknown"}, {"app", "admin"}}), admin_);
  EXPECT_EQ(t_.Attribute(Labels{{"service", "unknown"}}), -1);
}

TEST(TopologyCycleTest, FinishNamesANodeOnTheCycle) {
  Topology t;
  int a = t.AddNode("a"), b = t.AddNode("b"), c = t.AddNode("c"), d = t.AddNode("d");
  t.AddDependency(d, a);
  t.AddDependency(a, b);
  t.AddDependency(b, c);
  t.AddDependency(c, a);
  std::string on_cycle = t.Finish();
  EXPECT_THAT(on_cycle, ::testing::AnyOf("a", "b", "c"));
  Topology self;
  int s = self.AddNode("s");
  self.AddDependency(s, s);
  EXPECT_EQ(self.Finish(), "s");
}

}  // namespace
}  // namespace noisegate::rules
