// Changelog checkpoints: chunked and reassembled whole, newest generation wins, and anything
// incomplete or inconsistent is refused rather than restored.
#include "processor/kafka/changelog.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace noisegate::processor {
namespace {

void Feed(CheckpointAssembler& a, const std::vector<ChangelogMessage>& msgs) {
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
  CheckpointAssembler a(3);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_TRUE(cp) << cp.error().detail;
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->generation, 2u);
  EXPECT_EQ((*cp)->chunks, 1u);
  EXPECT_EQ((*cp)->state, State(900, 'b'));
}

TEST(Changelog, EmptyChangelogMeansNoCheckpoint) {
  CheckpointAssembler a(0);
  auto cp = a.Finish();
  ASSERT_TRUE(cp);
  EXPECT_FALSE(cp->has_value());
}

TEST(Changelog, OtherPartitionsKeysAreIgnored) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(1, 5, State(10, 'x'), 0, &log);
  EncodeCheckpoint(11, 7, State(20, 'y'), 0, &log);
  CheckpointAssembler a(1);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_TRUE(cp && cp->has_value());
  EXPECT_EQ((*cp)->state, State(10, 'x'));
  EXPECT_EQ(a.foreign_keys(), 2u);
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
  CheckpointAssembler a(0);
  Feed(a, torn);
  auto cp = a.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("chunk 1 is not of generation 2"), std::string::npos)
      << cp.error().detail;
  // A chunk deleted outright.
  std::vector<ChangelogMessage> gone = newer;
  gone.erase(gone.begin() + 1);
  CheckpointAssembler b(0);
  Feed(b, gone);
  auto cp2 = b.Finish();
  ASSERT_FALSE(cp2);
  EXPECT_NE(cp2.error().detail.find("missing"), std::string::npos);
}

TEST(Changelog, RefusesBytesThatDoNotMatchTheManifest) {
  std::vector<ChangelogMessage> log;
  EncodeCheckpoint(0, 1, State(100, 'a'), 0, &log);
  (*log[0].value)[20] ^= 1;
  CheckpointAssembler a(0);
  Feed(a, log);
  auto cp = a.Finish();
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().detail.find("hash"), std::string::npos);
}

}  // namespace
}  // namespace noisegate::processor
