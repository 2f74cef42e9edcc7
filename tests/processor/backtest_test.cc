// `noisegate backtest`: scoring what the engine did against labelled incidents, and reading
// the incidents file.
#include "processor/replay/backtest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/dedup/engine_test_util.h"

namespace noisegate::processor {
namespace {

using dedup::testing::Alert;
using dedup::testing::kM;
using dedup::testing::kS;
using dedup::testing::kT0;

constexpr const char* kRules = R"(
correlate:
  - name: r
    group_by: [service]
    group_wait: 30s
page:
  when:
    - ['severity="critical"']
  otherwise: ticket
)";

LabelledIncident Labelled(std::string name, bool page, std::vector<std::string> services) {
  LabelledIncident l;
  l.name = std::move(name);
  l.start_ms = kT0;
  l.end_ms = kT0 + 10 * kM;
  l.page = page;
  for (const std::string& s : services) {
    auto m = rules::Matcher::Parse("service=\"" + s + "\"");
    EXPECT_TRUE(m);
    l.match.push_back(rules::MatcherSet({*m}));
  }
  return l;
}

// One outage paged twice (its database alert opened an incident of its own), a page for
// nothing anyone listed, a warning ticketed as wanted, and an outage that only got a ticket.
TEST(BacktestTest, ScoresPagesDuplicatesFalsePagesAndGrouping) {
  Backtest bt({Labelled("api outage", true, {"api", "api-db"}),
               Labelled("cache warning", false, {"cache"}), Labelled("web down", true, {"web"})});
  dedup::Engine engine(dedup::testing::Rules(kRules), &bt);
  auto crit = [](std::string name, std::string service) {
    return dedup::testing::Labels{
        {"alertname", name}, {"service", service}, {"severity", "critical"}};
  };
  for (int64_t t : {0 * kM, 1 * kM, 2 * kM}) engine.Process(Alert(t, crit("Down", "api")));
  engine.Process(Alert(30 * kS, crit("Slow", "api-db")));
  engine.Process(Alert(5 * kM, crit("Disk", "batch")));
  engine.Process(Alert(kM, {{"alertname", "Mem"}, {"service", "cache"}, {"severity", "warning"}}));
  engine.Process(Alert(kM, {{"alertname", "Down"}, {"service", "web"}, {"severity", "warning"}}));
  engine.AdvanceWatermark(EventTime{kT0 + 20 * kM});

  BacktestResult r = bt.Score();
  ASSERT_EQ(r.incidents.size(), 3u);
  EXPECT_EQ(r.want_page, 2);
  EXPECT_EQ(r.paged, 1);
  EXPECT_EQ(r.duplicate_pages, 1);
  EXPECT_EQ(r.false_pages, 1);
  ASSERT_EQ(r.timed, 1);
  EXPECT_EQ(r.median_page_after_critical_ms, 30 * kS);  // group_wait after the first alert

  const IncidentScore& api = r.incidents[0];
  EXPECT_TRUE(api.paged);
  EXPECT_EQ(api.pages, 2);
  EXPECT_EQ(api.records, 4u);
  EXPECT_EQ(api.in_main, 3u);
  // Precision: every incident holding its records holds only its records. Recall: three
  // records see 3 of 4, one sees 1 of 4: (3 * 3/4 + 1/4) / 4.
  EXPECT_DOUBLE_EQ(api.b3_precision, 1.0);
  EXPECT_DOUBLE_EQ(api.b3_recall, 0.625);
  ASSERT_EQ(api.astray.size(), 1u);
  EXPECT_EQ(api.astray[0].first.rfind("Slow -> ng-", 0), 0u) << api.astray[0].first;
  // Pairs: 6 of the outage's records belong together, the engine put 3 pairs together, all
  // right (the page for nothing holds no labelled record): precision 1, recall 1/2.
  EXPECT_NEAR(r.pair_f1_all, 2.0 / 3, 1e-9);

  EXPECT_FALSE(r.incidents[1].paged);
  EXPECT_TRUE(r.incidents[1].ticketed);
  EXPECT_FALSE(r.incidents[2].paged);
  EXPECT_TRUE(r.incidents[2].ticketed);

  std::ostringstream out;
  PrintBacktest(r, out);
  EXPECT_NE(out.str().find("1 DUPLICATE"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("web down  [page]"), std::string::npos);
  EXPECT_NE(out.str().find("MISSED"), std::string::npos);
  EXPECT_NE(out.str().find("paged 1 of 2, duplicate pages 1, false pages 1"), std::string::npos);
}

// Records that are nobody's and join an incident lower its precision; a record two incidents
// claim is the first one's; a record outside the time range is nobody's.
TEST(BacktestTest, IntrudersLowerPrecisionAndTheFirstClaimWins) {
  LabelledIncident first = Labelled("first", true, {"api"});
  first.end_ms = kT0 + 2 * kM;
  Backtest bt({first, Labelled("second", true, {"api"})});
  dedup::Engine engine(dedup::testing::Rules(kRules), &bt);
  auto labels =
      dedup::testing::Labels{{"alertname", "Down"}, {"service", "api"}, {"severity", "critical"}};
  engine.Process(Alert(0, labels));
  engine.Process(Alert(kM, labels));
  engine.Process(Alert(3 * kM, labels));   // past first's end: second's
  engine.Process(Alert(11 * kM, labels));  // past both: nobody's, in the same incident
  engine.AdvanceWatermark(EventTime{kT0 + 20 * kM});
  BacktestResult r = bt.Score();
  EXPECT_EQ(r.incidents[0].records, 2u);
  EXPECT_EQ(r.incidents[1].records, 1u);
  // One incident of 4 records: 2 first's, 1 second's, 1 nobody's. It is first's.
  EXPECT_DOUBLE_EQ(r.incidents[0].b3_precision, 0.5);
  EXPECT_DOUBLE_EQ(r.incidents[0].b3_recall, 1.0);
  EXPECT_EQ(r.incidents[0].pages, 1);
  EXPECT_EQ(r.incidents[1].pages, 0);
  EXPECT_FALSE(r.incidents[1].paged);  // its one record is in first's page: none for it
  EXPECT_EQ(r.duplicate_pages, 0);
  EXPECT_EQ(r.false_pages, 0);
  ASSERT_FALSE(r.incidents[0].intruders.empty());
  EXPECT_EQ(r.incidents[0].intruders[0].first, "Down (no incident)");
}

TEST(BacktestTest, ABadIncidentsFileNamesFileLineAndColumn) {
  auto path = std::filesystem::temp_directory_path() / "ng_backtest_bad.yaml";
  {
    std::ofstream f(path);
    f << "incidents:\n"
         "  - name: db\n"
         "    start: 2026-11-23T01:00:00Z\n"
         "    end: 2026-11-23T00:00:00Z\n"
         "    route: pgae\n"
         "    match:\n"
         "      - ['cluster=~\"(\"']\n";
  }
  std::vector<LabelledIncident> out;
  std::vector<rules::Diagnostic> problems;
  EXPECT_FALSE(LoadLabelledIncidents(path.string(), &out, &problems));
  std::string all;
  for (const auto& d : problems) all += d.ToString() + "\n";
  EXPECT_NE(all.find(path.string() + ":4:10: incidents[0].end: the end is before the start"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(":5:12: incidents[0].route:"), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean \"page\""), std::string::npos) << all;
  EXPECT_NE(all.find(":7:"), std::string::npos) << all;  // the bad regex
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace noisegate::processor
