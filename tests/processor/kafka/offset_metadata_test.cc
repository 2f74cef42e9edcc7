// What an input offset is committed with: written and read back, and what another writer's
// metadata (or an older noisegate's) reads as.
#include "processor/kafka/offset_metadata.h"

#include <gtest/gtest.h>

namespace noisegate::processor::live_internal {
namespace {

TEST(OffsetMetadata, AnInputResumeIsReadBackAsWritten) {
  InputResume r{1'796'444'033'717, 1'796'444'033'716, 4711};
  const std::string text = FormatInputResume(r);
  EXPECT_EQ(text, "noisegate channel_time=1796444033717 last_ts=1796444033716 ingested=4711");
  InputResume back = ParseInputResume(text);
  EXPECT_EQ(back.channel_time, r.channel_time);
  EXPECT_EQ(back.last_ts, r.last_ts);
  EXPECT_EQ(back.ingested, r.ingested);
  // Fields it does not have are not written, and read as unknown.
  back = ParseInputResume(FormatInputResume(InputResume{std::nullopt, std::nullopt, 0}));
  EXPECT_FALSE(back.channel_time);
  EXPECT_FALSE(back.last_ts);
  EXPECT_EQ(back.ingested, 0);
}

TEST(OffsetMetadata, OtherWritersMetadataIsNoResume) {
  // The first version wrote the channel time alone.
  EXPECT_EQ(ParseInputResume("noisegate channel_time=5").channel_time, 5);
  // A field of a newer noisegate is skipped.
  EXPECT_EQ(ParseInputResume("noisegate future=1 ingested=3").ingested, 3);
  for (const char* other : {"", "kafka-streams", "noisegate channel_time=x",
                            "noisegate  ingested=1", "noisegateingested=1", "noisegate ingested"}) {
    InputResume r = ParseInputResume(other);
    EXPECT_FALSE(r.channel_time || r.last_ts || r.ingested) << other;
  }
}

}  // namespace
}  // namespace noisegate::processor::live_internal
