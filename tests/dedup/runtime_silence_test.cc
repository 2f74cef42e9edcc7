// Runtime silences (format `silences`, the silences API): a silence record mutes, from its
// place in event-time order, what a silence of the rules would; a later version of its id
// replaces it (expiring ends it); it crosses Kafka and checkpoints.
#include "rules/runtime_silence.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "dedup/codec.h"
#include "tests/dedup/engine_test_util.h"

namespace noisegate::dedup::testing {
namespace {

constexpr const char* kRules = R"(
correlate:
  - name: r
    group_by: [alertname]
)";

// A silence record of `id`, written at `t`, muting `service` from `starts` to `ends`.
Record Silence(int64_t t, const std::string& id, const std::string& service, int64_t starts,
               int64_t ends, bool regex = false) {
  auto s = std::make_shared<SilenceSpec>();
  s->id = id;
  s->matchers.push_back({"service", service, regex, true});
  s->starts = EventTime{kT0 + starts};
  s->ends = EventTime{kT0 + ends};
  s->created_by = "sre";
  s->comment = "known noisy";
  Record r;
  r.addr.topic = "noisegate.silences";
  r.time = EventTime{kT0 + t};
  r.kind = SignalKind::kSilence;
  r.silence = std::move(s);
  return r;
}

Record SearchAlert(int64_t t, const std::string& name) {
  return Alert(t, {{"alertname", name}, {"service", "search"}});
}

TEST(RuntimeSilenceTest, MutesWhatFiresAfterItInsideItsWindowAndDecidesNothingItself) {
  Harness h(kRules);
  EXPECT_EQ(h.Feed(SearchAlert(0, "Before")).decision, Decision::kNew);
  h.engine.Process(Silence(kM, "s1", "search", kM, 60 * kM));
  EXPECT_EQ(h.sink.decisions.size(), 1u) << "a silence is no signal: no decision of its own";
  EXPECT_EQ(h.engine.state_sizes().silences, 1u);
  Decided muted = h.Feed(SearchAlert(2 * kM, "During"));
  EXPECT_EQ(muted.decision, Decision::kSilenced);
  EXPECT_EQ(muted.rule, "silence s1");
  EXPECT_EQ(h.Feed(Alert(3 * kM, {{"alertname", "Other"}, {"service", "cart"}})).decision,
            Decision::kNew);
  // After its end it mutes nothing and is no longer counted.
  EXPECT_EQ(h.Feed(SearchAlert(61 * kM, "After")).decision, Decision::kNew);
  EXPECT_EQ(h.engine.state_sizes().silences, 0u);
  h.engine.Process(Silence(62 * kM, "s2", "cart", 62 * kM, 90 * kM));
  EXPECT_EQ(h.engine.state_sizes().silences, 1u);
}

TEST(RuntimeSilenceTest, AFutureSilenceMutesFromItsStartOnly) {
  Harness h(kRules);
  h.engine.Process(Silence(0, "later", "search", 10 * kM, 20 * kM));
  EXPECT_EQ(h.Feed(SearchAlert(5 * kM, "A")).decision, Decision::kNew);
  EXPECT_EQ(h.Feed(SearchAlert(11 * kM, "B")).decision, Decision::kSilenced);
}

TEST(RuntimeSilenceTest, ALaterVersionOfItsIdReplacesItAndExpiringEndsIt) {
  Harness h(kRules);
  h.engine.Process(Silence(0, "s1", "search", 0, 60 * kM));
  EXPECT_EQ(h.Feed(SearchAlert(kM, "A")).decision, Decision::kSilenced);
  // Updated to another service: search is no longer muted, cart is.
  h.engine.Process(Silence(2 * kM, "s1", "cart", 0, 60 * kM));
  EXPECT_EQ(h.Feed(SearchAlert(3 * kM, "B")).decision, Decision::kNew);
  EXPECT_EQ(h.Feed(Alert(3 * kM, {{"alertname", "C"}, {"service", "cart"}})).decision,
            Decision::kSilenced);
  // Expired (amtool silence expire: the same id, ending now).
  h.engine.Process(Silence(4 * kM, "s1", "cart", 0, 4 * kM));
  EXPECT_EQ(h.engine.state_sizes().silences, 0u);
  // The silenced alert still fires: its next notification from the sender correlates.
  EXPECT_EQ(h.Feed(Alert(5 * kM, {{"alertname", "C"}, {"service", "cart"}})).decision,
            Decision::kNew);
}

TEST(RuntimeSilenceTest, SilencesSurviveBothKindsOfCheckpointAndEndedOnesAreNotWritten) {
  Harness h(kRules);
  h.engine.TrackChanges(/*all=*/true);
  h.engine.Process(Silence(0, "long", "search", 0, 600 * kM));
  h.engine.Process(Silence(0, "short", "cart", 0, 10 * kM));
  h.Feed(SearchAlert(20 * kM, "Tick"));  // the watermark passes the end of "short"

  std::string whole;
  h.engine.SaveState(&whole);
  SavedEntries saved;
  saved.SaveFrom(h.engine);

  Harness from_whole(kRules), from_entries(kRules);
  ASSERT_TRUE(from_whole.engine.LoadState(whole));
  ASSERT_TRUE(from_entries.engine.LoadEntries(saved.View()));
  for (Harness* restored : {&from_whole, &from_entries}) {
    EXPECT_EQ(restored->engine.state_sizes().silences, 1u) << "the ended one is not written";
    Decided d = restored->Feed(SearchAlert(21 * kM, "Muted"));
    EXPECT_EQ(d.decision, Decision::kSilenced);
    EXPECT_EQ(d.rule, "silence long");
    EXPECT_EQ(restored->Feed(Alert(21 * kM, {{"alertname", "X"}, {"service", "cart"}})).decision,
              Decision::kNew);
  }
}

TEST(RuntimeSilenceTest, ASilenceRecordCrossesKafkaWhole) {
  Record r = Silence(kM, "abc-123", "search|cart", 0, 60 * kM, /*regex=*/true);
  auto spec = std::make_shared<SilenceSpec>(*r.silence);
  spec->matchers.push_back({"severity", "info", false, false});
  r.silence = spec;
  std::string bytes;
  Writer w(&bytes);
  EncodeRecord(r, w);
  Reader rd(bytes);
  Record back;
  back.source_fingerprint = "stale";
  ASSERT_TRUE(DecodeRecord(rd, &back));
  EXPECT_TRUE(rd.done());
  EXPECT_EQ(back.kind, SignalKind::kSilence);
  ASSERT_NE(back.silence, nullptr);
  EXPECT_EQ(back.silence->id, "abc-123");
  ASSERT_EQ(back.silence->matchers.size(), 2u);
  EXPECT_EQ(back.silence->matchers[0].value, "search|cart");
  EXPECT_TRUE(back.silence->matchers[0].regex);
  EXPECT_TRUE(back.silence->matchers[0].equal);
  EXPECT_FALSE(back.silence->matchers[1].regex);
  EXPECT_FALSE(back.silence->matchers[1].equal);
  EXPECT_EQ(back.silence->starts, r.silence->starts);
  EXPECT_EQ(back.silence->ends, r.silence->ends);
  EXPECT_EQ(back.silence->created_by, "sre");
  EXPECT_EQ(back.silence->comment, "known noisy");
  for (size_t len = 0; len < bytes.size(); ++len) {
    Reader cut(std::string_view(bytes).substr(0, len));
    Record x;
    EXPECT_FALSE(DecodeRecord(cut, &x)) << len;
  }
  // Decoding an alert into a record that held a silence drops it.
  Record alert = SearchAlert(0, "A");
  bytes.clear();
  Writer w2(&bytes);
  EncodeRecord(alert, w2);
  Reader rd2(bytes);
  ASSERT_TRUE(DecodeRecord(rd2, &back));
  EXPECT_EQ(back.silence, nullptr);
}

TEST(RuntimeSilenceTest, WhatAlertmanagerRefusesDoesNotCompile) {
  SilenceSpec s;
  s.id = "x";
  s.starts = EventTime{kT0};
  s.ends = EventTime{kT0 + kM};
  EXPECT_FALSE(rules::CompileSilence(s)) << "no matchers";
  s.matchers.push_back({"service", "", false, true});
  s.matchers.push_back({"team", ".*", true, true});
  Result<rules::Silence> empty_only = rules::CompileSilence(s);
  ASSERT_FALSE(empty_only);
  EXPECT_NE(empty_only.error().detail.find("empty string"), std::string::npos);
  s.matchers.push_back({"alertname", "(", true, true});
  Result<rules::Silence> bad_regex = rules::CompileSilence(s);
  ASSERT_FALSE(bad_regex);
  EXPECT_NE(bad_regex.error().detail.find("matchers[2]"), std::string::npos);
  s.matchers.back().value = "Disk.*";
  ASSERT_TRUE(rules::CompileSilence(s));
  s.ends = EventTime{kT0 - 1};
  EXPECT_FALSE(rules::CompileSilence(s)) << "ends before it starts";
  // An engine fed a record that does not compile mutes nothing with it.
  Harness h(kRules);
  Record bad = Silence(0, "bad", "search", 0, 60 * kM);
  auto spec = std::make_shared<SilenceSpec>(*bad.silence);
  spec->matchers[0].value = "";
  bad.silence = spec;
  h.engine.Process(bad);
  EXPECT_EQ(h.engine.state_sizes().silences, 0u);
  EXPECT_EQ(h.Feed(SearchAlert(kM, "A")).decision, Decision::kNew);
}

}  // namespace
}  // namespace noisegate::dedup::testing
