// Engine checkpoints: an engine restored from SaveState at any point of a stream goes on to
// emit exactly what the uninterrupted engine emits; corrupt or foreign state is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dedup/codec.h"
#include "tests/dedup/varied_stream.h"

namespace noisegate::dedup::testing {
namespace {

void RestoredContinuesExactlyAsUninterrupted(const std::string& yaml, size_t min_incidents) {
  auto rules = Rules(yaml);
  std::vector<Record> stream = VariedStream();
  CaptureSink whole_sink;
  Engine whole(rules, &whole_sink);
  for (const Record& r : stream) whole.Process(r);
  whole.AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
  std::vector<std::string> expected = Lines(whole_sink);
  // The stream must exercise what the checkpoint has to carry.
  ASSERT_GT(whole.stats().incidents_opened, min_incidents);
  size_t notifications = whole_sink.sent.size();
  ASSERT_GT(notifications, 20u);

  for (size_t cut :
       {size_t{1}, size_t{17}, size_t{400}, size_t{1234}, size_t{2500}, stream.size() - 1}) {
    CaptureSink sink;
    std::string state;
    {
      Engine first(rules, &sink);
      for (size_t i = 0; i < cut; ++i) first.Process(stream[i]);
      first.SaveState(&state);
    }
    Engine second(rules, &sink);
    Status st = second.LoadState(state);
    ASSERT_TRUE(st) << st.error().detail;
    // A second round trip gives the same bytes' worth of state.
    std::string again;
    second.SaveState(&again);
    EXPECT_EQ(again.size(), state.size()) << "cut at " << cut;
    for (size_t i = cut; i < stream.size(); ++i) second.Process(stream[i]);
    second.AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
    std::vector<std::string> got = Lines(sink);
    // Decisions and notifications are kept apart in Lines(); compare them as wholes.
    // The first line that differs says more than a count.
    for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
      ASSERT_EQ(got[i], expected[i]) << "cut at " << cut << ", line " << i;
    }
    ASSERT_EQ(got.size(), expected.size()) << "cut at " << cut;
  }
}

TEST(EngineSnapshot, RestoredEngineContinuesExactlyAsUninterrupted) {
  RestoredContinuesExactlyAsUninterrupted(kVariedRules, 20);
}

// The evidence ties (caller_hops, join_named) choose among open incidents by their members,
// the inhibited pod alerts of a node's incident included: a restored engine chooses the same.
// (The ties take many signals into the node incidents: fewer incidents open.)
TEST(EngineSnapshot, RestoredEngineTiesSignalsAsUninterrupted) {
  std::string tied = kVariedRules;
  const std::string at = "    max_members: 40\n";
  tied.insert(tied.find(at) + at.size(), "    caller_hops: 1\n    join_named: true\n");
  RestoredContinuesExactlyAsUninterrupted(tied, 6);
}

TEST(EngineSnapshot, EmptyEngineRoundTrips) {
  auto rules = Rules(kVariedRules);
  CaptureSink sink;
  Engine a(rules, &sink);
  std::string state;
  a.SaveState(&state);
  Engine b(rules, &sink);
  EXPECT_TRUE(b.LoadState(state));
  b.Process(Alert(0, {{"alertname", "NodeDown"}, {"node", "n1"}}));
  b.AdvanceWatermark(EventTime{kT0 + 31 * kS});
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].route, rules::Action::kPage);
}

TEST(EngineSnapshot, RefusesStateCutShortOrCorrupt) {
  auto rules = Rules(kVariedRules);
  std::vector<Record> stream = VariedStream();
  CaptureSink sink;
  Engine a(rules, &sink);
  for (size_t i = 0; i < 600; ++i) a.Process(stream[i]);
  std::string state;
  a.SaveState(&state);
  // Every prefix is refused with an error (and none crashes: run under ASan in the suite).
  for (size_t len = 0; len < state.size(); len += 1 + len / 64) {
    CaptureSink s;
    Engine b(rules, &s);
    EXPECT_FALSE(b.LoadState(std::string_view(state).substr(0, len))) << "prefix " << len;
  }
  CaptureSink s;
  Engine b(rules, &s);
  Status st = b.LoadState(state + "x");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("trailing"), std::string::npos);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(EngineSnapshot, FormatOneOfAnOlderNoisegateStillLoads) {
  // Written by the noisegate of fc8f1be (engine state format 1, keys seeded by rule position)
  // after the first 1500 records of the varied stream. Until the surge hysteresis (state
  // format 4), what this engine emits for the rest of the stream equalled what that engine
  // emitted going on uninterrupted; rest.txt was rewritten then, when log signals began to
  // end once under the threshold and to keep their baseline while they surge, and when the
  // template scheme changed (its log signals are new: warm-up starts again at the restore,
  // and incidents that log surges open have other dedup_keys). Decisions, incidents,
  // dedup_keys and notifications are compared line by line.
  const std::string dir = std::string(NG_SOURCE_DIR) + "/tests/dedup/testdata/";
  std::string state = ReadFile(dir + "engine_state_v1.bin");
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  std::vector<std::string> open_before = lines(ReadFile(dir + "engine_state_v1.open_incidents"));
  std::vector<std::string> rest = lines(ReadFile(dir + "engine_state_v1.rest.txt"));
  ASSERT_GE(open_before.size(), 3u);
  ASSERT_GT(rest.size(), 1000u);
  auto rules = Rules(kVariedRules);
  CaptureSink sink;
  Engine e(rules, &sink);
  Status st = e.LoadState(state);
  ASSERT_TRUE(st) << st.error().detail;
  std::vector<std::string> open;
  for (const Incident* inc : e.OpenIncidents()) open.push_back(inc->id);
  EXPECT_EQ(open, open_before);
  std::vector<Record> stream = VariedStream();
  for (size_t i = 1500; i < stream.size(); ++i) e.Process(stream[i]);
  e.AdvanceWatermark(EventTime{stream.back().time.ms + 3 * 3600 * kS});
  std::vector<std::string> got = Lines(sink);
  ASSERT_EQ(got.size(), rest.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], rest[i]) << "line " << i;

  // Format 1 does not say what its indexes stand for: under other rules it is refused.
  std::string other = kVariedRules;
  other.replace(other.find("name: impact"), 12, "name: impacts");
  CaptureSink other_sink;
  Engine refused(Rules(other), &other_sink);
  st = refused.LoadState(state);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("older noisegate"), std::string::npos) << st.error().detail;
}

TEST(RecordCodec, RoundTripsEveryField) {
  Record r = Log(1234, "api", "boom \"quoted\" \xff bytes");
  r.addr = RecordAddress{"logs.app", 3, 99887766, 2};
  r.trace_id = "abc";
  r.description = "stack";
  r.link = "http://x";
  r.input = 2;
  r.ends_at = EventTime{kT0 + 5};
  std::string bytes;
  Writer w(&bytes);
  EncodeRecord(r, w);
  Reader rd(bytes);
  Record back;
  ASSERT_TRUE(DecodeRecord(rd, &back));
  EXPECT_TRUE(rd.done());
  EXPECT_EQ(back.addr.topic, "logs.app");
  EXPECT_EQ(back.addr.partition, 3);
  EXPECT_EQ(back.addr.offset, 99887766);
  EXPECT_EQ(back.addr.index, 2);
  EXPECT_EQ(back.time, r.time);
  EXPECT_EQ(back.kind, SignalKind::kLog);
  EXPECT_EQ(back.input, 2);
  EXPECT_TRUE(back.labels == r.labels);
  EXPECT_EQ(back.summary, r.summary);
  EXPECT_EQ(back.description, "stack");
  EXPECT_EQ(back.link, "http://x");
  EXPECT_EQ(back.trace_id, "abc");
  EXPECT_EQ(back.ends_at, r.ends_at);
  EXPECT_EQ(back.merge_time, kMinTime) << "none was set";
  for (size_t len = 0; len < bytes.size(); ++len) {
    Reader cut(std::string_view(bytes).substr(0, len));
    Record x;
    EXPECT_FALSE(DecodeRecord(cut, &x)) << len;
  }
  // A record late within its channel keeps the time it merges at; one that merges at its own
  // time costs nothing more.
  const size_t plain = bytes.size();
  r.merge_time = r.time + Millis{250};
  bytes.clear();
  Writer w2(&bytes);
  EncodeRecord(r, w2);
  EXPECT_GT(bytes.size(), plain);
  Reader rd2(bytes);
  ASSERT_TRUE(DecodeRecord(rd2, &back));
  EXPECT_TRUE(rd2.done());
  EXPECT_EQ(back.time, r.time);
  EXPECT_EQ(back.merge_time, r.merge_time);
  EXPECT_EQ(back.kind, SignalKind::kLog);
  EXPECT_EQ(back.source_fingerprint, "");
  for (size_t len = 0; len < bytes.size(); ++len) {
    Reader cut(std::string_view(bytes).substr(0, len));
    Record x;
    EXPECT_FALSE(DecodeRecord(cut, &x)) << len;
  }
  // The sender's fingerprint, with or without a merge time; decoding into a record that had
  // one clears it when the bytes have none.
  r.source_fingerprint = "5e2a1f8c3b7d9e04";
  for (EventTime merge : {r.merge_time, kMinTime}) {
    r.merge_time = merge;
    bytes.clear();
    Writer w3(&bytes);
    EncodeRecord(r, w3);
    Reader rd3(bytes);
    ASSERT_TRUE(DecodeRecord(rd3, &back));
    EXPECT_TRUE(rd3.done());
    EXPECT_EQ(back.source_fingerprint, "5e2a1f8c3b7d9e04");
    EXPECT_EQ(back.merge_time, merge);
    EXPECT_EQ(back.kind, SignalKind::kLog);
  }
  r.source_fingerprint.clear();
  bytes.clear();
  Writer w4(&bytes);
  EncodeRecord(r, w4);
  Reader rd4(bytes);
  ASSERT_TRUE(DecodeRecord(rd4, &back));
  EXPECT_EQ(back.source_fingerprint, "");
}

// Decodes `r`'s encoding into `back`, which may hold another record's fields; the encoding
// must be read whole, and every cut of it refused.
void RoundTrip(const Record& r, Record* back) {
  std::string bytes;
  Writer w(&bytes);
  EncodeRecord(r, w);
  Reader rd(bytes);
  ASSERT_TRUE(DecodeRecord(rd, back));
  EXPECT_TRUE(rd.done());
  for (size_t len = 0; len < bytes.size(); ++len) {
    Reader cut(std::string_view(bytes).substr(0, len));
    Record x;
    EXPECT_FALSE(DecodeRecord(cut, &x)) << len;
  }
}

TEST(RecordCodec, RunbookAndImageCrossKafkaAndAreClearedWhenAbsent) {
  Record r = Alert(0, {{"alertname", "A"}});
  r.runbook = "https://rb/a";
  r.image = "https://g/a.png";
  Record back;
  RoundTrip(r, &back);
  EXPECT_EQ(back.runbook, "https://rb/a");
  EXPECT_EQ(back.image, "https://g/a.png");
  RoundTrip(Alert(0, {{"alertname", "A"}}), &back);
  EXPECT_EQ(back.runbook, "");
  EXPECT_EQ(back.image, "");
}

}  // namespace
}  // namespace noisegate::dedup::testing
