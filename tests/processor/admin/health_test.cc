// Liveness and readiness: a loop that stops turning is not alive; a part that failed for good
// (the HTTP intake's producer) makes both fail with its reason, whatever the loop says after.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "processor/admin/admin_server.h"

namespace noisegate::processor {
namespace {

TEST(Health, ALoopThatStopsTurningIsNotAlive) {
  Health h;
  std::string why;
  EXPECT_TRUE(h.Alive(std::chrono::milliseconds(50), &why));  // (not started yet)
  h.Beat();
  EXPECT_TRUE(h.Alive(std::chrono::milliseconds(500), &why));
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_FALSE(h.Alive(std::chrono::milliseconds(50), &why));
  EXPECT_EQ(why, "the processing loop has not turned for 0 s");
}

TEST(Health, AFailureForGoodFailsLivenessAndReadinessWithItsReason) {
  Health h;
  h.Beat();
  h.SetReady(true, "");
  std::string why;
  EXPECT_FALSE(h.Failed());
  h.Fail("the HTTP intake's Kafka producer failed for good: sequence lost");
  h.Fail("a second failure is not the reason");
  h.Beat();
  h.SetReady(true, "");  // the loop's next commit does not make it ready again
  EXPECT_TRUE(h.Failed());
  EXPECT_FALSE(h.Alive(std::chrono::seconds(60), &why));
  EXPECT_EQ(why, "the HTTP intake's Kafka producer failed for good: sequence lost");
  EXPECT_FALSE(h.Ready(&why));
  EXPECT_EQ(why, "the HTTP intake's Kafka producer failed for good: sequence lost");
}

}  // namespace
}  // namespace noisegate::processor
