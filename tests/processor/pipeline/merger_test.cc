// InputMerger: records of several input partitions come back in event-time order once every
// busy input has passed their time; idle inputs hold nobody back; unheard ones hold all.
#include "processor/pipeline/merger.h"

#include <gtest/gtest.h>

#include <map>
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

// What a checkpoint of the merger holds: its globals (channels and marks) and one entry per
// buffered record, by slot, as the changelog would after each SaveChanges.
struct Saved {
  std::string globals;
  std::map<uint32_t, std::string> entries;
  uint64_t count = 0, bound = 0;  // what the checkpoint header says of the entries
  int puts = 0, erases = 0;

  template <typename DurableMark>
  void Save(InputMerger& m, DurableMark&& durable_mark) {
    count = m.persisted();
    bound = m.slot_bound();
    globals.clear();
    dedup::Writer w(&globals);
    m.SaveGlobals(w, durable_mark);
    std::string scratch;
    m.SaveChanges(
        [this](uint32_t slot, std::string_view v) {
          entries[slot] = std::string(v);
          ++puts;
        },
        [this](uint32_t slot) {
          EXPECT_EQ(entries.erase(slot), 1u) << "a tombstone for a slot the changelog lacks";
          ++erases;
        },
        &scratch);
  }
  void Save(InputMerger& m) {
    Save(m, [](const InputMerger::ChannelKey&, int64_t*) { return false; });
  }
  template <typename InputOf>
  bool Load(InputMerger& m, InputOf input_of) const {
    dedup::Reader rd(globals);
    std::vector<std::pair<uint32_t, std::string_view>> views(entries.begin(), entries.end());
    return m.LoadGlobals(rd, input_of) && rd.done() && m.LoadEntries(views, input_of, count, bound);
  }
};

int SameOrder(std::string_view topic) { return topic == "alerts" ? 0 : 1; }

TEST(InputMerger, CheckpointKeepsBufferAndMarks) {
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  m.Add(Rec("logs", 0, 0, 100), 1);
  m.Add(Rec("logs", 0, 1, 300), 1);
  m.Mark({"logs", 0}, 300, false);
  Saved saved;
  saved.Save(m);
  EXPECT_EQ(saved.entries.size(), 2u);
  InputMerger back;
  ASSERT_TRUE(saved.Load(back, SameOrder));
  EXPECT_EQ(back.buffered(), 2u);
  EXPECT_EQ(back.unheard(), 1u);
  EXPECT_EQ(back.pending_changes(), 0u) << "restored records are what the changelog holds";
  back.Mark({"alerts", 0}, 500, false);
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@0", "logs/0@1"}));
  for (size_t len = 0; len < saved.globals.size(); ++len) {
    dedup::Reader cut(std::string_view(saved.globals).substr(0, len));
    InputMerger x;
    EXPECT_FALSE(x.LoadGlobals(cut, SameOrder) && cut.done()) << len;
  }
  const std::string& entry = saved.entries.begin()->second;
  for (size_t len = 0; len < entry.size(); ++len) {
    InputMerger x;
    std::vector<std::pair<uint32_t, std::string_view>> cut{
        {0, std::string_view(entry).substr(0, len)}};
    EXPECT_FALSE(x.LoadEntries(cut, SameOrder, 1, 1)) << len;
  }
}

TEST(InputMerger, EntriesMissingLeftOverOrOutOfBoundsAreRefused) {
  InputMerger m;
  m.AddChannel({"logs", 0});
  for (int i = 0; i < 3; ++i) m.Add(Rec("logs", 0, i, 100 + i), 1);
  Saved saved;
  saved.Save(m);
  ASSERT_EQ(saved.count, 3u);
  ASSERT_EQ(saved.bound, 3u);
  InputMerger ok;
  ASSERT_TRUE(saved.Load(ok, SameOrder));
  Saved missing = saved;
  missing.entries.erase(1);
  InputMerger a;
  EXPECT_FALSE(missing.Load(a, SameOrder)) << "a record the changelog lost";
  Saved extra = saved;
  extra.entries[2'000] = saved.entries[0];
  extra.count = 4;
  InputMerger b;
  EXPECT_FALSE(extra.Load(b, SameOrder)) << "a slot past every slot ever used";
  Saved last = saved;
  last.entries[4294967295u] = saved.entries[0];
  last.entries.erase(0);
  InputMerger c;
  EXPECT_FALSE(last.Load(c, SameOrder));
}

TEST(InputMerger, RecordsAfterARestoreTakeFreeSlotsOnly) {
  InputMerger m;
  m.AddChannel({"logs", 0});
  for (int i = 0; i < 5; ++i) m.Add(Rec("logs", 0, i, 100 + i), 1);
  m.Mark({"logs", 0}, 101, false);
  EXPECT_EQ(Drain(m).size(), 2u);  // slots 0 and 1 free, 2..4 held
  Saved saved;
  saved.Save(m);
  InputMerger back;
  ASSERT_TRUE(saved.Load(back, SameOrder));
  for (int i = 5; i < 9; ++i) back.Add(Rec("logs", 0, i, 100 + i), 1);
  saved.Save(back);
  EXPECT_EQ(saved.entries.size(), 7u) << "no buffered record was overwritten";
  back.Mark({"logs", 0}, 1000, false);
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@2", "logs/0@3", "logs/0@4", "logs/0@5",
                                                   "logs/0@6", "logs/0@7", "logs/0@8"}));
}

TEST(InputMerger, ABacklogGoesBackToTheAllocatorAndItsSlotsAreDeleted) {
  InputMerger m;
  m.AddChannel({"logs", 0});
  for (int i = 0; i < 10'000; ++i) m.Add(Rec("logs", 0, i, 100 + i), 1);
  Saved saved;
  saved.Save(m);
  EXPECT_EQ(saved.bound, 10'000u);
  m.Mark({"logs", 0}, 100'000, false);
  EXPECT_EQ(Drain(m).size(), 10'000u);
  // A new record after the backlog: the lowest slot, and the old ones get their tombstones.
  m.Add(Rec("logs", 0, 10'000, 200'000), 1);
  saved.Save(m);
  EXPECT_EQ(saved.erases, 9'999);
  ASSERT_EQ(saved.entries.size(), 1u);
  EXPECT_EQ(saved.entries.begin()->first, 0u);
}

TEST(InputMerger, ACheckpointWritesOnlyTheRecordsThatCameOrWent) {
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  for (int i = 0; i < 1000; ++i) m.Add(Rec("logs", 0, i, 100 + i), 1);
  m.Mark({"logs", 0}, 2000, false);
  Saved saved;
  saved.Save(m);
  EXPECT_EQ(saved.puts, 1000);
  // Nothing came or went: nothing is written.
  saved.Save(m);
  EXPECT_EQ(saved.puts, 1000);
  EXPECT_EQ(saved.erases, 0);
  // Two released, three more: their slots are written, the rest of the buffer is not.
  m.Mark({"alerts", 0}, 101, false);
  EXPECT_EQ(Drain(m).size(), 2u);
  for (int i = 0; i < 3; ++i) m.Add(Rec("alerts", 0, i, 1500 + i), 0);
  saved.Save(m);
  EXPECT_EQ(saved.puts, 1003);
  EXPECT_EQ(saved.erases, 0) << "the released slots were reused";
  EXPECT_EQ(saved.entries.size(), 1001u);
  // A record buffered and released between two checkpoints costs nothing.
  m.Mark({"late", 0}, 50, /*idle=*/true);
  m.Add(Rec("late", 0, 0, 50), 0);
  EXPECT_EQ(Drain(m).size(), 1u);
  saved.Save(m);
  EXPECT_EQ(saved.puts, 1003);
  // Everything goes: a tombstone each, and the changelog holds no record.
  m.Mark({"alerts", 0}, 5000, true);
  m.Mark({"logs", 0}, 5000, true);
  EXPECT_EQ(Drain(m).size(), 1001u);
  saved.Save(m);
  EXPECT_EQ(saved.erases, 1001);
  EXPECT_TRUE(saved.entries.empty());
  // The lowest free slot is taken again.
  m.Add(Rec("alerts", 0, 9, 6000), 0);
  m.Mark({"alerts", 0}, 6000, false);
  saved.Save(m);
  EXPECT_EQ(saved.entries.size(), 1u);
  InputMerger back;
  ASSERT_TRUE(saved.Load(back, SameOrder));
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"alerts/0@9"}));
}

// With the repartition hop skipped, a driver commits an input's offset only past what was
// released, and reads the rest again after a restart: those records are not checkpointed, the
// channel's mark is saved as of the offset, and what the channel released of a message read
// again is not delivered twice.
TEST(InputMerger, RecordsReadAgainAfterARestartAreNotCheckpointedNorDeliveredTwice) {
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  m.Mark({"alerts", 0}, 1000, /*idle=*/true);
  auto push = [](InputMerger& into, int64_t offset, int32_t index) {
    Record& r = into.Next();
    r = Rec("logs", 0, offset, 100 + offset);
    r.addr.index = index;
    r.summary += "#" + std::to_string(index);
    return into.Push(1, true, /*reread=*/true, /*drop_released=*/true);
  };
  // Messages 0..3, two records each; one record comes from the repartition topic (persisted).
  for (int64_t o = 0; o < 4; ++o) {
    EXPECT_TRUE(push(m, o, 0));
    EXPECT_TRUE(push(m, o, 1));
  }
  m.Add(Rec("alerts", 0, 7, 90), 0);
  m.Mark({"logs", 0}, 101, false);  // releases the alert, and message 0 and 1
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"alerts/0@7", "logs/0@0#0", "logs/0@0#1",
                                                "logs/0@1#0", "logs/0@1#1"}));
  m.Add(Rec("alerts", 0, 8, 500), 0);
  EXPECT_EQ(m.buffered(), 5u);
  EXPECT_EQ(m.persisted(), 1u);
  Saved saved;
  // The input's offset stays at message 2: its mark is saved as of before it.
  saved.Save(m, [](const InputMerger::ChannelKey& k, int64_t* time) {
    if (k.first != "logs") return false;
    *time = 101;
    return true;
  });
  EXPECT_EQ(saved.entries.size(), 1u) << "only the record of the repartition topic";
  InputMerger back;
  ASSERT_TRUE(saved.Load(back, SameOrder));
  EXPECT_TRUE(Drain(back).empty()) << "logs is not past 101";
  // Read again from message 1 (say an older offset was committed): what was released is
  // dropped, the rest is delivered once.
  EXPECT_FALSE(push(back, 1, 0));
  EXPECT_FALSE(push(back, 1, 1));
  for (int64_t o = 2; o < 4; ++o) {
    EXPECT_TRUE(push(back, o, 0));
    EXPECT_TRUE(push(back, o, 1));
  }
  back.Mark({"logs", 0}, 1000, /*idle=*/true);
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@2#0", "logs/0@2#1", "logs/0@3#0",
                                                   "logs/0@3#1", "alerts/0@8"}));
  // Only when asked: replay may read one channel's offsets twice (files of bare values).
  back.Next() = Rec("logs", 0, 0, 2000);
  EXPECT_TRUE(back.Push(1));
  // Records to be read again become checkpointed ones when their channel will not be.
  EXPECT_TRUE(push(back, 4, 0));
  EXPECT_EQ(back.persisted(), 1u);
  EXPECT_TRUE(back.Persist({"logs", 0}));
  EXPECT_EQ(back.persisted(), 2u);
  Saved again;
  again.Save(back);
  EXPECT_EQ(again.entries.size(), 2u);
}

// A channel's records go in the order they came even when their times go back and nothing
// set their merge time (what Ingest knew of the channel was lost): what a channel released
// last is always the latest of what it released.
TEST(InputMerger, AChannelsRecordsGoInTheOrderTheyCame) {
  InputMerger m;
  m.AddChannel({"logs", 0});
  m.AddChannel({"alerts", 0});
  m.Add(Rec("logs", 0, 0, 300), 1);
  m.Add(Rec("logs", 0, 1, 100), 1);
  m.Add(Rec("alerts", 0, 0, 200), 0);
  m.Mark({"logs", 0}, 300, true);
  m.Mark({"alerts", 0}, 300, true);
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"alerts/0@0", "logs/0@0", "logs/0@1"}));
}

TEST(InputMerger, RecordsOfAnOlderCheckpointInlineBecomeEntries) {
  // Checkpoint version 3 held the buffered records inline in the globals.
  std::string globals;
  dedup::Writer w(&globals);
  w.Var(1);
  w.Str("logs");
  w.SVar(0);
  w.SVar(100);
  w.Bool(false);
  w.Bool(true);
  w.Var(2);
  for (int i = 0; i < 2; ++i) {
    w.SVar(1);
    dedup::EncodeRecord(Rec("logs", 0, i, 50 + i), w);
  }
  InputMerger m;
  dedup::Reader rd(globals);
  ASSERT_TRUE(m.LoadGlobals(rd, SameOrder, /*released=*/false));
  EXPECT_TRUE(rd.done());
  EXPECT_EQ(m.buffered(), 2u);
  EXPECT_EQ(m.pending_changes(), 2u) << "the next checkpoint writes them as entries";
  Saved saved;
  saved.Save(m);
  EXPECT_EQ(saved.entries.size(), 2u);
  InputMerger back;
  ASSERT_TRUE(saved.Load(back, SameOrder));
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@0", "logs/0@1"}));
}

TEST(InputMerger, RestoredRecordsTakeTheInputOrderOfTheRulesLoadedNow) {
  // Equal times break ties by input order; the rules loaded at restore decide it (inputs are
  // kept by topic, so a reordered rules file reorders the ties, as replay would).
  InputMerger m;
  m.AddChannel({"alerts", 0});
  m.AddChannel({"logs", 0});
  m.Add(Rec("alerts", 0, 0, 100), 0);
  m.Add(Rec("logs", 0, 0, 100), 1);
  Saved saved;
  saved.Save(m);
  auto reordered = [](std::string_view topic) { return topic == "logs" ? 0 : 1; };
  InputMerger back;
  ASSERT_TRUE(saved.Load(back, reordered));
  back.Mark({"alerts", 0}, 500, false);
  back.Mark({"logs", 0}, 500, false);
  EXPECT_EQ(Drain(back), (std::vector<std::string>{"logs/0@0", "alerts/0@0"}));
  // A reload reorders what is buffered in place.
  m.Reorder(reordered);
  m.Mark({"alerts", 0}, 500, false);
  m.Mark({"logs", 0}, 500, false);
  EXPECT_EQ(Drain(m), (std::vector<std::string>{"logs/0@0", "alerts/0@0"}));
}

}  // namespace
}  // namespace noisegate::processor
