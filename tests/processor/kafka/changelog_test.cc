// Changelog checkpoints: per-entry checkpoints read back as the newest value of each key, whole
// checkpoints of older noisegate versions reassembled from their chunks, and anything
// incomplete or inconsistent refused rather than restored.
#include "processor/kafka/changelog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/processor/kafka/whole_checkpoint.h"

namespace noisegate::processor {
namespace {

using dedup::Engine;

void PutGlobals(std::vector<ChangelogMessage>* log, int32_t p, uint64_t generation,
                std::string_view payload) {
  EncodeGlobals(p, generation, payload, 0, log);
}

using Values = std::vector<std::pair<uint32_t, std::string>>;
Values Sorted(const std::vector<std::pair<uint32_t, std::string_view>>& v) {
  Values out;
  for (const auto& [slot, value] : v) out.emplace_back(slot, std::string(value));
  std::sort(out.begin(), out.end());
  return out;
}

void Feed(ChangelogReader& a, const std::vector<ChangelogMessage>& msgs) {
  for (const ChangelogMessage& m : msgs) {
    if (m.value) {
      std::string_view v = *m.value;
      a.Add(m.key, &v);
    } else {
      a.Add(m.key, nullptr);
    }
  }
}

std::string State(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31);
  return s;
}

TEST(Changelog, ChunksAndReassemblesTheNewestCheckpoint) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(3, 1, State(2500, 'a'), 0, &log, 1000);
  ASSERT_EQ(log.size(), 4u);  // 3 chunks + manifest
  EXPECT_EQ(log[0].key, "3/0");
  EXPECT_EQ(log.back().key, "3");
  EncodeCheckpoint(3, 2, State(900, 'b'), 3, &log, 1000);  // smaller: tombstones for 3/1, 3/2
  EXPECT_FALSE(log[log.size() - 2].value.has_value());
  ChangelogReader a(3);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_TRUE(cp) << cp.error().detail;
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->generation, 2u);
  EXPECT_FALSE((*cp)->per_entry);
  EXPECT_EQ((*cp)->payload, State(900, 'b'));
}

TEST(Changelog, EmptyChangelogMeansNoCheckpoint) {
  ChangelogReader a(0);
  auto cp = a.Finish();
  ASSERT_TRUE(cp);
  EXPECT_FALSE(cp->has_value());
}

TEST(Changelog, OtherPartitionsKeysAreIgnored) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(1, 5, State(10, 'x'), 0, &log);
  EncodeCheckpoint(11, 7, State(20, 'y'), 0, &log);
  ChangelogReader a(1);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_TRUE(cp && cp->has_value());
  EXPECT_EQ((*cp)->payload, State(10, 'x'));
  EXPECT_EQ(a.foreign_keys(), 2u);
}

TEST(Changelog, PerEntryCheckpointIsTheNewestValueOfEachKey) {
  std::vector<ChangelogMessage> log;
  auto put = [&](int32_t p, Engine::EntryKind k, uint32_t slot, std::string_view v) {
    EXPECT_EQ(EncodeEntry(EntryKey(p, k, slot), v, 0, &log), 0u);
  };
  put(2, Engine::EntryKind::kFingerprint, 0, "fp0-a");
  put(2, Engine::EntryKind::kFingerprint, 1, "fp1-a");
  put(2, Engine::EntryKind::kIncident, 0, "inc0-a");
  put(12, Engine::EntryKind::kFingerprint, 0, "other partition");
  PutGlobals(&log, 2, 1, "globals-1");
  put(2, Engine::EntryKind::kFingerprint, 1, "fp1-b");
  log.push_back({EntryKey(2, Engine::EntryKind::kFingerprint, 0), std::nullopt});  // expired
  put(2, Engine::EntryKind::kFingerprint, 4294967295u, "last slot");
  EncodeEntry(MergerEntryKey(2, 7), "held back", 0, &log);
  EncodeEntry(MergerEntryKey(2, 8), "released", 0, &log);
  EraseEntry(MergerEntryKey(2, 8), 0, &log);
  PutGlobals(&log, 2, 2, "globals-2");
  EXPECT_EQ(log[0].key, "2/f/0");
  EXPECT_EQ(log[2].key, "2/i/0");
  EXPECT_EQ(log[4].key, "2/g");

  ChangelogReader a(2);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_TRUE(cp) << cp.error().detail;
  ASSERT_TRUE(cp->has_value());
  const ChangelogReader::Checkpoint& c = **cp;
  EXPECT_TRUE(c.per_entry);
  EXPECT_EQ(c.generation, 2u);
  EXPECT_EQ(c.payload, "globals-2");
  EXPECT_EQ(Sorted(c.fingerprints), (Values{{1, "fp1-b"}, {4294967295u, "last slot"}}));
  EXPECT_EQ(Sorted(c.incidents), (Values{{0, "inc0-a"}}));
  EXPECT_EQ(Sorted(c.buffered), (Values{{7, "held back"}}));
  EXPECT_EQ(a.foreign_keys(), 1u);
  std::vector<std::string> held = a.HeldKeys();
  std::sort(held.begin(), held.end());
  EXPECT_EQ(held, (std::vector<std::string>{"2/f/1", "2/f/4294967295", "2/g", "2/i/0", "2/m/7"}));
}

TEST(Changelog, LargeGlobalsGoInChunksAndShrinkBack) {
  std::vector<ChangelogMessage> log;
  EXPECT_EQ(EncodeGlobals(1, 1, State(2500, 'a'), 0, &log, 1000), 3u);
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].key, "1/g/0");
  EXPECT_EQ(log.back().key, "1/g");
  ChangelogReader a(1);
  Feed(a, log);
  auto big = a.Finish();
  ASSERT_TRUE(big && big->has_value()) << (big ? "" : big.error().detail);
  EXPECT_EQ((*big)->payload, State(2500, 'a'));
  EXPECT_EQ(a.globals_chunks(), 3u);
  // Back to inline: the chunks are deleted.
  EXPECT_EQ(EncodeGlobals(1, 2, "small", 3, &log, 1000), 0u);
  ChangelogReader b(1);
  Feed(b, log);
  auto small = b.Finish();
  ASSERT_TRUE(small && small->has_value());
  EXPECT_EQ((*small)->payload, "small");
  EXPECT_EQ((*small)->generation, 2u);
  EXPECT_EQ(b.globals_chunks(), 0u);
  EXPECT_EQ(b.HeldKeys(), std::vector<std::string>{"1/g"});
  // A chunk of the globals lost: refused.
  std::vector<ChangelogMessage> torn;
  EncodeGlobals(1, 3, State(2500, 'b'), 0, &torn, 1000);
  torn.erase(torn.begin() + 1);
  ChangelogReader c(1);
  Feed(c, torn);
  auto cp = c.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("missing"), std::string::npos) << cp.error().detail;
}

// An entry larger than a message goes in parts; they are deleted as it shrinks or goes, and a
// lost part is refused.
TEST(Changelog, LargeEntriesGoInParts) {
  const std::string key = EntryKey(3, Engine::EntryKind::kIncident, 9);
  std::vector<ChangelogMessage> log;
  EXPECT_EQ(EncodeEntry(key, State(2500, 'a'), 0, &log, 1000), 3u);
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].key, "3/i/9/0");
  EXPECT_EQ(log.back().key, "3/i/9");
  PutGlobals(&log, 3, 1, "g");
  ChangelogReader a(3);
  Feed(a, log);
  auto big = a.Finish();
  ASSERT_TRUE(big && big->has_value()) << (big ? "" : big.error().detail);
  EXPECT_EQ(Sorted((*big)->incidents), (Values{{9, State(2500, 'a')}}));
  EXPECT_EQ(a.EntryParts(), (std::map<std::string, uint32_t>{{key, 3}}));
  // Smaller, in two parts: the third is deleted.
  std::vector<ChangelogMessage> smaller;
  EXPECT_EQ(EncodeEntry(key, State(1500, 'b'), 3, &smaller, 1000), 2u);
  EXPECT_EQ(smaller[2].key, "3/i/9/2");
  EXPECT_FALSE(smaller[2].value.has_value());
  log.insert(log.end(), smaller.begin(), smaller.end());
  ChangelogReader b(3);
  Feed(b, log);
  auto mid = b.Finish();
  ASSERT_TRUE(mid && mid->has_value());
  EXPECT_EQ(Sorted((*mid)->incidents), (Values{{9, State(1500, 'b')}}));
  EXPECT_EQ(b.EntryParts(), (std::map<std::string, uint32_t>{{key, 2}}));
  // Whole again, then gone: no part is left behind.
  EXPECT_EQ(EncodeEntry(key, "small", 2, &log, 1000), 0u);
  ChangelogReader c(3);
  Feed(c, log);
  EXPECT_TRUE(c.EntryParts().empty());
  EraseEntry(key, 0, &log);
  ChangelogReader d(3);
  Feed(d, log);
  EXPECT_EQ(d.HeldKeys(), std::vector<std::string>{"3/g"});
  // A part that never arrived.
  std::vector<ChangelogMessage> torn;
  EncodeEntry(key, State(2500, 'c'), 0, &torn, 1000);
  torn.erase(torn.begin() + 1);
  PutGlobals(&torn, 3, 1, "g");
  ChangelogReader e(3);
  Feed(e, torn);
  auto cp = e.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("incident entry 9: part 1 is missing"), std::string::npos)
      << cp.error().detail;
}

TEST(Changelog, EntriesWithoutTheirGlobalsAreRefused) {
  ChangelogReader a(0);
  std::string_view v = "x";
  a.Add("0/f/3", &v);
  auto cp = a.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("without their globals"), std::string::npos);
  // Keys that are neither: counted, not taken.
  ChangelogReader b(0);
  for (std::string_view key : {"0/f/", "0/f/01", "0/x/1", "0/f/99999999999", "0/g/x", "0/-1"}) {
    b.Add(key, &v);
  }
  EXPECT_EQ(b.foreign_keys(), 6u);
  auto none = b.Finish();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

// An upgrade: the first per-entry checkpoint after restoring a whole one deletes the whole
// one's keys in the same transaction; a reader then sees only the entries.
TEST(Changelog, FirstPerEntryCheckpointReplacesAWholeOne) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(5, 7, State(3000, 'a'), 0, &log, 1000);
  ChangelogReader before(5);
  Feed(before, log);
  auto whole = before.Finish();
  ASSERT_TRUE(whole && whole->has_value());
  EXPECT_FALSE((*whole)->per_entry);
  std::vector<std::string> obsolete = before.HeldKeys();
  EXPECT_EQ(obsolete.size(), 4u);  // the manifest and three chunks
  for (const std::string& key : obsolete) log.push_back({key, std::nullopt});
  EncodeEntry(EntryKey(5, Engine::EntryKind::kFingerprint, 0), "fp", 0, &log);
  PutGlobals(&log, 5, 8, "globals");
  ChangelogReader after(5);
  Feed(after, log);
  auto cp = after.Finish();
  ASSERT_TRUE(cp && cp->has_value());
  EXPECT_TRUE((*cp)->per_entry);
  EXPECT_EQ((*cp)->generation, 8u);
  EXPECT_EQ(after.HeldKeys().size(), 2u);
}

TEST(Changelog, RefusesAMissingOrStaleChunk) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(0, 1, State(3000, 'a'), 0, &log, 1000);
  std::vector<ChangelogMessage> newer;
  EncodeCheckpoint(0, 2, State(3000, 'b'), 3, &newer, 1000);
  // Generation 2's second chunk never arrived: the manifest of 2 sees chunk 1 of 1.
  std::vector<ChangelogMessage> torn = log;
  torn.push_back(newer[0]);
  torn.push_back(newer[2]);
  torn.push_back(newer[3]);
  ChangelogReader a(0);
  Feed(a, torn);
  auto cp = a.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("chunk 1 is not of generation 2"), std::string::npos)
      << cp.error().detail;
  // A chunk deleted outright.
  std::vector<ChangelogMessage> gone = newer;
  gone.erase(gone.begin() + 1);
  ChangelogReader b(0);
  Feed(b, gone);
  auto cp2 = b.Finish();
  ASSERT_FALSE(cp2);
  EXPECT_NE(cp2.error().detail.find("missing"), std::string::npos);
}

TEST(Changelog, RefusesBytesThatDoNotMatchTheManifest) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(0, 1, State(100, 'a'), 0, &log);
  (*log[0].value)[20] ^= 1;
  ChangelogReader a(0);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("hash"), std::string::npos);
}

}  // namespace
}  // namespace noisegate::processor
