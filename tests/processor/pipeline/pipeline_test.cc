// The path every driver takes: Ingest hands a message's records and dead letters on in the
// message's order; Correlate feeds the engine in event-time order once every channel has
// passed, and at the end of the input runs event time on as asked.
#include "processor/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules/loader.h"

namespace noisegate::processor {
namespace {

constexpr char kRules[] = R"(
inputs:
  - {topic: am, format: alertmanager}
  - {topic: am2, format: alertmanager}
topology:
  services:
    web: {user_facing: true}
correlate:
  - name: all
    group_by: [alertname]
    group_wait: 30s
page:
  when:
    - ['severity="critical"']
)";

constexpr int64_t kT0 = 1'790'000'000'000;

std::shared_ptr<const rules::CompiledRules> Rules() {
  auto loaded = rules::LoadRulesString(kRules, "r.yaml");
  EXPECT_NE(loaded.rules, nullptr);
  return loaded.rules;
}

// What Ingest handed over, in order: "record <index> <alertname>" or "dead <index> <reason>".
class Recorder : public IngestSink {
 public:
  std::vector<std::string> seen;
  void OnRecord(Record& r) override {
    seen.push_back("record " + std::to_string(r.addr.index) + " " +
                   std::string(r.labels.Get("alertname")));
  }
  void OnDeadLetter(const DeadLetter& d, const RawMessage& m, int64_t ts) override {
    seen.push_back("dead " + std::to_string(d.index) + " " + d.reason + " @" +
                   std::to_string(m.offset) + " ts " + std::to_string(ts - kT0));
  }
};

RawMessage Message(std::string_view topic, int64_t offset, std::optional<int64_t> ts,
                   std::string_view payload) {
  RawMessage m;
  m.topic = topic;
  m.offset = offset;
  m.ts = ts;
  m.payload = payload;
  return m;
}

TEST(IngestTest, HandsOverRecordsAndDeadLettersInTheMessagesOrder) {
  auto rules = Rules();
  std::string error;
  Ingest ingest(*rules, 1 << 20, &error);
  ASSERT_TRUE(ingest.ok()) << error;
  const std::string body = R"({"alerts": [
    {"status": "firing", "labels": {"alertname": "A"}},
    5,
    {"status": "firing", "labels": {"alertname": "C"}}]})";
  Recorder sink;
  EXPECT_EQ(ingest.Message(Message("am", 7, kT0 + 5, body), 0, sink, nullptr), kT0 + 5);
  EXPECT_EQ(sink.seen,
            (std::vector<std::string>{"record 0 A", "dead 1 wrong_type @7 ts 5", "record 2 C"}));
  // A message of no input is one dead letter, at the time it falls back to.
  sink.seen.clear();
  EXPECT_EQ(ingest.Message(Message("other", 8, std::nullopt, body), kT0 + 9, sink, nullptr),
            kT0 + 9);
  EXPECT_EQ(sink.seen, (std::vector<std::string>{"dead 0 unknown_topic @8 ts 9"}));
}

// A channel's time moves with its records and its messages (a message of dead letters only
// moves the channel's progress marks too); a record earlier than it merges at it.
TEST(IngestTest, ARecordEarlierThanItsChannelMergesAtTheChannelsTime) {
  auto rules = Rules();
  std::string error;
  Ingest ingest(*rules, 1 << 20, &error);
  ASSERT_TRUE(ingest.ok()) << error;
  struct Times : IngestSink {
    std::vector<std::pair<int64_t, int64_t>> seen;  // (time, merge_time), ms after kT0
    void OnRecord(Record& r) override {
      seen.push_back({r.time.ms - kT0, r.merge_time == kMinTime ? -1 : r.merge_time.ms - kT0});
    }
    void OnDeadLetter(const DeadLetter&, const RawMessage&, int64_t) override {}
  } sink;
  const std::string alert = R"({"alerts": [{"status": "firing", "labels": {"alertname": "A"}}]})";
  int64_t channel = INT64_MIN;
  ingest.Message(Message("am", 0, kT0 + 100, alert), 0, sink, &channel);
  ingest.Message(Message("am", 1, kT0 + 105, "not json"), 0, sink, &channel);
  EXPECT_EQ(channel, kT0 + 105);
  ingest.Message(Message("am", 2, kT0 + 103, alert), 0, sink, &channel);
  ingest.Message(Message("am", 3, kT0 + 110, alert), 0, sink, &channel);
  EXPECT_EQ(sink.seen,
            (std::vector<std::pair<int64_t, int64_t>>{{100, -1}, {103, 105}, {110, -1}}));
  EXPECT_EQ(channel, kT0 + 110);
}

// The engine's decisions and notifications, as "<alertname>@<s>" and "<reason> <s>".
class Seen : public dedup::Sink {
 public:
  std::vector<std::string> decisions, notifications;
  void OnDecision(const dedup::DecisionEvent& e) override {
    decisions.push_back(std::string(e.record->labels.Get("alertname")) + "@" +
                        std::to_string((e.record->time.ms - kT0) / 1000));
  }
  void OnNotification(const dedup::Notification& n) override {
    notifications.push_back(std::string(n.reason) + " " + std::to_string((n.at.ms - kT0) / 1000));
  }
};

Record Alert(const std::string& topic, int64_t offset, int64_t s, const std::string& name) {
  Record r;
  r.kind = SignalKind::kAlert;
  r.addr.topic = topic;
  r.addr.offset = offset;
  r.time = EventTime{kT0 + s * 1000};
  r.labels.Add("alertname", name);
  r.labels.Add("severity", "critical");
  r.labels.Canonicalize();
  return r;
}

TEST(CorrelateTest, RecordsWaitForEveryChannelThenGoInEventTimeOrder) {
  auto rules = Rules();
  Seen seen;
  Correlate c(rules, &seen);
  c.merger.AddChannel({"am", 0});
  c.merger.AddChannel({"am2", 0});
  Record a = Alert("am", 0, 10, "A"), b = Alert("am", 1, 20, "B");
  c.Push(a, 0);
  c.Push(b, 0);
  c.merger.Mark({"am", 0}, kT0 + 20'000, false);
  EXPECT_EQ(c.Release(), 0u) << "am2 has not been heard from";
  Record x = Alert("am2", 0, 15, "X");
  c.Push(x, 1);
  c.merger.Mark({"am2", 0}, kT0 + 15'000, false);
  EXPECT_EQ(c.Release(), 2u);
  EXPECT_EQ(seen.decisions, (std::vector<std::string>{"A@10", "X@15"}));
  c.merger.Mark({"am2", 0}, kT0 + 15'000, /*idle=*/true);
  EXPECT_EQ(c.Release(), 1u);
  EXPECT_EQ(seen.decisions, (std::vector<std::string>{"A@10", "X@15", "B@20"}));
}

// Two producers' clocks, or an HTTP intake's concurrent requests, put a record after a later
// one in its partition. It merges right after that one, whether a driver read both before it
// released anything (live, with both in one fetch) or released between them (replay): the
// engine sees the same order either way, with the record's own time.
TEST(CorrelateTest, AChannelMergesInItsOwnOrderHoweverItsRecordsAreBatched) {
  auto rules = Rules();
  std::string error;
  auto body = [](const char* name) {
    return std::string(R"({"alerts": [{"status": "firing", "labels": {"alertname": ")") + name +
           R"(", "severity": "critical"}}]})";
  };
  const std::string a = body("A"), b = body("B"), x = body("X");
  auto run = [&](bool batched) {
    Seen seen;
    Correlate c(rules, &seen);
    Ingest ingest(*rules, 1 << 20, &error);
    c.merger.AddChannel({"am", 0});
    c.merger.AddChannel({"am2", 0});
    struct ToCorrelate : IngestSink {
      Correlate* c;
      int input;
      void OnRecord(Record& r) override { c->Push(r, input); }
      void OnDeadLetter(const DeadLetter&, const RawMessage&, int64_t) override {}
    } sink;
    sink.c = &c;
    int64_t am_time = INT64_MIN, am2_time = INT64_MIN;
    auto ingest_am = [&](int64_t offset, int64_t s, const std::string& payload) {
      sink.input = 0;
      ingest.Message(Message("am", offset, kT0 + s * 1000, payload), 0, sink, &am_time);
      c.merger.Mark({"am", 0}, am_time, false);
    };
    sink.input = 1;
    ingest.Message(Message("am2", 0, kT0 + 15'000, x), 0, sink, &am2_time);
    c.merger.Mark({"am2", 0}, am2_time, /*idle=*/true);
    ingest_am(0, 20, a);
    if (!batched) c.Release();
    ingest_am(1, 10, b);  // late within its own partition
    c.merger.Mark({"am", 0}, am_time, /*idle=*/true);
    c.Release();
    EXPECT_EQ(am_time, kT0 + 20'000) << "the channel's time does not go back";
    return seen.decisions;
  };
  const std::vector<std::string> expected{"X@15", "A@20", "B@10"};
  EXPECT_EQ(run(/*batched=*/true), expected);
  EXPECT_EQ(run(/*batched=*/false), expected);
}

TEST(CorrelateTest, TheEndRunsEventTimeOnAsAskedAndFinishesOnlyWhenTold) {
  auto rules = Rules();
  {
    // 10 s on from the last record: group_wait (30 s) has not passed, and nothing finishes.
    Seen seen;
    Correlate c(rules, &seen);
    Record a = Alert("am", 0, 0, "A");
    c.Push(a, -1);
    c.End(RunOn{std::nullopt, 10'000}, /*finish=*/false);
    EXPECT_TRUE(seen.notifications.empty());
    EXPECT_EQ(c.engine->watermark().ms, kT0 + 10'000);
  }
  {
    // On to an absolute time past group_wait: the page goes when it is due.
    Seen seen;
    Correlate c(rules, &seen);
    Record a = Alert("am", 0, 0, "A");
    c.Push(a, -1);
    c.End(RunOn{kT0 + 60'000, std::nullopt}, /*finish=*/false);
    EXPECT_EQ(seen.notifications, (std::vector<std::string>{"open 30"}));
  }
  {
    // Finished at the last record: what group_wait holds back goes as if its time had come.
    Seen seen;
    Correlate c(rules, &seen);
    Record a = Alert("am", 0, 0, "A");
    c.Push(a, -1);
    c.End(RunOn{}, /*finish=*/true);
    EXPECT_EQ(seen.notifications, (std::vector<std::string>{"open 30"}));
    EXPECT_EQ(c.engine->watermark().ms, kT0);
  }
}

}  // namespace
}  // namespace noisegate::processor
