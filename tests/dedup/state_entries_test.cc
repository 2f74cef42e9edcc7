// Per-entry checkpoints: the entries a tracking engine hands out, applied in order to a
// key-value map as a compacted changelog would keep them, always equal the engine's whole
// state; an engine restored from that map goes on exactly as the uninterrupted one; a commit
// writes what changed, not what the engine holds; expired fingerprints become deletions.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "dedup/engine.h"
#include "tests/dedup/page_condition_rules.h"
#include "tests/dedup/varied_stream.h"

namespace noisegate::dedup::testing {
namespace {

using Key = std::pair<Engine::EntryKind, uint32_t>;

// What a compacted changelog keeps: the newest value per key, nothing for deleted keys.
struct Changelog {
  std::map<Key, std::string> entries;
  std::string globals;
  size_t puts = 0, erases = 0;

  void Commit(Engine& e) {
    e.SaveChanges(
        [this](Engine::EntryKind k, uint32_t slot, std::string_view bytes) {
          entries[{k, slot}] = std::string(bytes);
          ++puts;
        },
        [this](Engine::EntryKind k, uint32_t slot) {
          ASSERT_EQ(k, Engine::EntryKind::kFingerprint);
          // A deletion is only for an entry that was written (or a slot freed in between).
          entries.erase({k, slot});
          ++erases;
        },
        &globals);
  }
  Engine::Entries View() const {
    Engine::Entries v;
    v.globals = globals;
    for (const auto& [key, value] : entries) {
      auto& list = key.first == Engine::EntryKind::kFingerprint ? v.fingerprints : v.incidents;
      list.emplace_back(key.second, value);
    }
    return v;
  }
};

// Every entry of an engine's whole state, without disturbing what it tracks: through a copy
// made with the whole-state checkpoint.
std::map<Key, std::string> AllEntries(const Engine& e,
                                      const std::shared_ptr<const rules::CompiledRules>& rules) {
  std::string state;
  e.SaveState(&state);
  CaptureSink sink;
  Engine copy(rules, &sink);
  EXPECT_TRUE(copy.LoadState(state));
  copy.TrackChanges(/*all=*/true);
  Changelog log;
  log.Commit(copy);
  return log.entries;
}

std::string EntriesRules() { return std::string(kVariedRules) + "state: {retention: 10m}\n"; }

std::vector<Record> EntriesStream() {
  std::vector<Record> varied = VariedStream();
  return Merge(varied, Churn(varied.front().time.ms, varied.back().time.ms, 40 * kS));
}

TEST(StateEntries, ChangelogOfChangedEntriesEqualsTheWholeState) {
  auto rules = Rules(EntriesRules());
  std::vector<Record> stream = EntriesStream();
  CaptureSink sink;
  Engine e(rules, &sink);
  e.TrackChanges(/*all=*/false);
  Changelog log;
  // Commits at uneven intervals, so that entries change once, many times, or expire between
  // two commits.
  size_t checked = 0;
  for (size_t i = 0, next = 1; i < stream.size(); ++i) {
    e.Process(stream[i]);
    if (i + 1 == next) {
      log.Commit(e);
      next += 1 + (i * 7919) % 97;
      if (checked++ % 10 == 0) {
        std::map<Key, std::string> all = AllEntries(e, rules);
        ASSERT_EQ(log.entries.size(), all.size()) << "after record " << i;
        for (const auto& [key, value] : all) {
          auto it = log.entries.find(key);
          ASSERT_TRUE(it != log.entries.end())
              << "entry " << static_cast<int>(key.first) << "/" << key.second
              << " never written, after record " << i;
          ASSERT_EQ(it->second, value) << "entry " << static_cast<int>(key.first) << "/"
                                       << key.second << " is stale after record " << i;
        }
      }
    }
  }
  EXPECT_GT(checked, 50u);
  log.Commit(e);
  // Expiry made deletions, and the changelog holds only what is live.
  EXPECT_GT(e.stats().fingerprints_expired, 500u);
  EXPECT_GT(log.erases, 300u);
  EXPECT_EQ(log.View().fingerprints.size(), e.state_sizes().fingerprints);
}

TEST(StateEntries, RestoredEngineContinuesExactlyAsUninterrupted) {
  auto rules = Rules(EntriesRules());
  std::vector<Record> stream = EntriesStream();
  const EventTime end{stream.back().time.ms + 3 * 3600 * kS};
  CaptureSink whole_sink;
  Engine whole(rules, &whole_sink);
  for (const Record& r : stream) whole.Process(r);
  whole.AdvanceWatermark(end);
  const std::vector<std::string> expected = Lines(whole_sink);
  ASSERT_GT(whole_sink.sent.size(), 20u);

  for (size_t cut : {size_t{1}, size_t{500}, size_t{2345}, stream.size() / 2, stream.size() - 1}) {
    CaptureSink sink;
    Changelog log;
    {
      Engine first(rules, &sink);
      first.TrackChanges(/*all=*/false);
      for (size_t i = 0; i < cut; ++i) {
        first.Process(stream[i]);
        if (i % 13 == 0) log.Commit(first);
      }
      log.Commit(first);
    }
    Engine second(rules, &sink);
    Status st = second.LoadEntries(log.View());
    ASSERT_TRUE(st) << st.error().detail;
    for (size_t i = cut; i < stream.size(); ++i) {
      second.Process(stream[i]);
      if (i % 29 == 0) log.Commit(second);
    }
    second.AdvanceWatermark(end);
    std::vector<std::string> got = Lines(sink);
    ASSERT_EQ(got.size(), expected.size()) << "cut at " << cut;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], expected[i]) << "cut at " << cut << ", line " << i;
    }
  }
}

TEST(StateEntries, ACommitWritesWhatChangedNotWhatTheEngineHolds) {
  auto rules = Rules(kVariedRules);
  CaptureSink sink;
  Engine e(rules, &sink);
  e.TrackChanges(/*all=*/false);
  // 20,000 fingerprints that stay (the default retention keeps them for an hour).
  for (int i = 0; i < 20000; ++i) {
    e.Process(Alert(
        i,
        {{"alertname", "Probe"}, {"severity", "warning"}, {"instance", "i" + std::to_string(i)}}));
  }
  Changelog log;
  log.Commit(e);
  ASSERT_GE(log.puts, 20000u);
  const size_t globals_bytes = log.globals.size();

  log.puts = 0;
  e.Process(Alert(20001, {{"alertname", "Probe"}, {"severity", "warning"}, {"instance", "i7"}}));
  e.Process(Alert(20002, {{"alertname", "Other"}, {"severity", "warning"}, {"instance", "x"}}));
  log.Commit(e);
  // Two fingerprints and the incidents they are in; not the 20,000.
  EXPECT_LE(log.puts, 4u);
  EXPECT_GE(log.puts, 2u);
  // The globals do not grow with fingerprints either.
  EXPECT_LT(log.globals.size(), globals_bytes + 64);
  EXPECT_LT(log.globals.size(), 2048u);

  log.puts = 0;
  log.Commit(e);  // nothing happened
  EXPECT_EQ(log.puts, 0u);
}

TEST(StateEntries, AChangelogMissingEntriesIsRefused) {
  auto rules = Rules(kVariedRules);
  std::vector<Record> stream = VariedStream();
  CaptureSink sink;
  Engine e(rules, &sink);
  e.TrackChanges(/*all=*/false);
  for (size_t i = 0; i < 1500; ++i) e.Process(stream[i]);
  Changelog log;
  log.Commit(e);
  ASSERT_GT(log.entries.size(), 10u);

  for (Engine::EntryKind kind : {Engine::EntryKind::kFingerprint, Engine::EntryKind::kIncident}) {
    Changelog lost = log;
    auto it = std::find_if(lost.entries.begin(), lost.entries.end(),
                           [&](const auto& kv) { return kv.first.first == kind; });
    ASSERT_NE(it, lost.entries.end());
    lost.entries.erase(it);
    Engine b(rules, &sink);
    Status st = b.LoadEntries(lost.View());
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().detail.find("expected"), std::string::npos) << st.error().detail;
  }
  Changelog corrupt = log;
  corrupt.entries.begin()->second.pop_back();
  Engine b(rules, &sink);
  EXPECT_FALSE(b.LoadEntries(corrupt.View()));
  Changelog foreign = log;
  foreign.globals[0] ^= 1;
  Engine c(rules, &sink);
  EXPECT_FALSE(c.LoadEntries(foreign.View()));
}

TEST(StateEntries, LoadedUnderReorderedRulesRewritesEveryEntryOnce) {
  auto rules = Rules(kVariedRules);
  std::vector<Record> stream = VariedStream();
  CaptureSink sink;
  Engine e(rules, &sink);
  e.TrackChanges(/*all=*/false);
  for (size_t i = 0; i < 2000; ++i) e.Process(stream[i]);
  Changelog log;
  log.Commit(e);
  const size_t all = log.entries.size();

  // The same rules: nothing to rewrite.
  {
    Engine same(rules, &sink);
    ASSERT_TRUE(same.LoadEntries(log.View()));
    Changelog after = log;
    after.puts = 0;
    after.Commit(same);
    EXPECT_EQ(after.puts, 0u);
  }
  // Topology nodes in another order: indexes in the entries change, so all are written.
  std::string reordered(kVariedRules);
  const std::string web = "    web: {user_facing: true, depends_on: [api]}\n";
  const std::string api = "    api: {user_facing: true, depends_on: [db]}\n";
  size_t at = reordered.find(web + api);
  ASSERT_NE(at, std::string::npos) << "kVariedRules changed: adapt this test";
  reordered.replace(at, web.size() + api.size(), api + web);
  auto rules2 = Rules(reordered);
  Engine moved(rules2, &sink);
  Status st = moved.LoadEntries(log.View());
  ASSERT_TRUE(st) << st.error().detail;
  Changelog after = log;
  after.puts = 0;
  after.Commit(moved);
  EXPECT_EQ(after.puts, all);
}

// Under another page.when the loaded members' clause bits mean nothing: the first commit
// rewrites their incidents without them, so a later restore under the new rules (whose digest
// the globals now carry) does not read the old bits as new ones.
TEST(StateEntries, AChangedPageWhenRewritesIncidentsWithoutTheirClauseBits) {
  auto before = Rules(ConditionRules(kSymptomAndCause));
  auto after = Rules(ConditionRules("\n    - ['alertname=\"Unrelated\"']" + kSymptomAndCause));
  CaptureSink sink;
  Engine a(before, &sink);
  a.TrackChanges(/*all=*/false);
  a.Process(DbDown(0));
  a.AdvanceWatermark(EventTime{kT0 + kM});
  Changelog log;
  log.Commit(a);

  Engine b(after, &sink);
  ASSERT_TRUE(b.LoadEntries(log.View()));
  log.Commit(b);

  CaptureSink last;
  Engine c(after, &last);
  ASSERT_TRUE(c.LoadEntries(log.View()));
  c.Process(Alert(2 * kM,
                  {{"alertname", "ErrorBudgetBurn"}, {"service", "web"}, {"severity", "warning"}}));
  c.AdvanceWatermark(EventTime{kT0 + 3 * kM});
  for (const Sent& x : last.sent) EXPECT_NE(x.route, rules::Action::kPage);
}

}  // namespace
}  // namespace noisegate::dedup::testing
