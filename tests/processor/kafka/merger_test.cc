// InputMerger: records of several input partitions come back in event-time order once every
// busy input has passed their time; idle inputs hold nobody back; unheard ones hold all.
#include "processor/kafka/merger.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace noisegate::processor {
namespace {

Record Rec(const std::string& topic, int32_t partition, int64_t offset, int64_t ts) {
  Record r;
  r.addr.topic = topic;
  r.addr.partition = partition;
  r.addr.offset = offset;
  r.time = EventTime{ts};
  r.summary = topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
  return r;
}

std::vector<std::string> Drain(InputMerger& m) {
  std::vector<std::string> out;
  m.Release([&out](const Record& r) { out.push_back(r.summary); });
  return out;
}

TEST(InputMerger, ReleasesInEventTimeOrderOnceEveryInputHasPassed) {
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  // logs races ahead (another replica ingests it); alerts is behind.
  m.Add(Rec("logs", 0, 0, 100), 1);
  m.Add(Rec("logs", 0, 1, 300), 1);
  m.Mark({"logs", 0}, 300, false);
  EXPECT_TRUE(Drain(m).empty()) << "alerts has not been heard from";
  m.Add(Rec("alerts", 0, 0, 200), 0);
  m.Mark({"alerts", 0}, 200, false);
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"logs/0@0", "alerts/0@0"}));
  EXPECT_EQ(m.buffered(), 1u);
  m.Add(Rec("alerts", 0, 1, 250), 0);
  m.Mark({"alerts", 0}, 400, false);
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"alerts/0@1", "logs/0@1"}));
}

TEST(InputMerger, IdleInputsHoldNobodyBack) {
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"datadog", 0});
  m.Mark({"datadog", 0}, INT64_MIN, true);  // caught up, nothing in it
  m.Add(Rec("alerts", 0, 0, 100), 0);
  m.Mark({"alerts", 0}, 100, false);
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"alerts/0@0"}));
  // An input that is busy again holds records back until it passes them.
  m.Mark({"datadog", 0}, 150, false);
  m.Add(Rec("alerts", 0, 1, 200), 0);
  m.Mark({"alerts", 0}, 200, false);
  EXPECT_TRUE(Drain(m).empty());
  m.Mark({"datadog", 0}, 150, true);
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"alerts/0@1"}));
}

TEST(InputMerger, TiesGoToTheEarlierInputThenPartitionThenOffset) {
  InputMerger m;
  m.Add(Rec("logs", 1, 7, 100), 1);
  m.Add(Rec("logs", 0, 9, 100), 1);
  m.Add(Rec("alerts", 2, 3, 100), 0);
  m.Add(Rec("logs", 0, 8, 100), 1);
  for (auto ch : {std::pair<std::string, int32_t>{"logs", 0}, {"logs", 1}, {"alerts", 2}}) {
    m.Mark(ch, 100, true);
  }
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"alerts/2@3", "logs/0@8", "logs/0@9", "logs/1@7"}));
}

TEST(InputMerger, CheckpointKeepsBufferAndMarks) {
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  m.Add(Rec("logs", 0, 0, 100), 1);
  m.Mark({"logs", 0}, 100, false);
  std::string bytes;
  dedup::Writer w(&bytes);
  m.Save(w);
  InputMerger back;
  dedup::Reader rd(bytes);
  auto same = [](std::string_view topic) { return topic == "alerts" ? 0 : 1; };
  ASSERT_TRUE(back.Load(rd, same));
  EXPECT_TRUE(rd.done());
  EXPECT_EQ(back.buffered(), 1u);
  EXPECT_EQ(back.unheard(), 1u);
  back.Mark({"alerts", 0}, 500, false);
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@0"}));
  for (size_t len = 0; len < bytes.size(); ++len) {
    dedup::Reader cut(std::string_view(bytes).substr(0, len));
    InputMerger x;
    EXPECT_FALSE(x.Load(cut, same) && cut.done()) << len;
  }
}

TEST(InputMerger, RestoredRecordsTakeTheInputOrderOfTheRulesLoadedNow) {
  // Equal times break ties by input order; the rules loaded at restore decide it (inputs are
  // kept by topic, so a reordered rules file reorders the ties, as replay would).
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  m.Add(Rec("alerts", 0, 0, 100), 0);
  m.Add(Rec("logs", 0, 0, 100), 1);
  std::string bytes;
  dedup::Writer w(&bytes);
  m.Save(w);
  InputMerger back;
  dedup::Reader rd(bytes);
  ASSERT_TRUE(back.Load(rd, [](std::string_view topic) { return topic == "logs" ? 0 : 1; }));
  back.Mark({"alerts", 0}, 500, false);
  back.Mark({"logs", 0}, 500, false);
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@0", "alerts/0@0"}));
}

}  // namespace
}  // namespace noisegate::processor
