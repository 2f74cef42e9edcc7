// Reloads: a requester of POST /-/reload waits for the processing loop to serve its request,
// and hears how it went; requests that pile up are served by one reload.
#include "processor/admin/reloads.h"

#include <gtest/gtest.h>

#include <thread>

namespace noisegate::processor {
namespace {

TEST(Reloads, RequestIsPendingUntilServed) {
  Reloads r;
  EXPECT_EQ(r.Pending(), 0u);
  uint64_t a = r.Request();
  uint64_t b = r.Request();
  EXPECT_LT(a, b);
  EXPECT_EQ(r.Pending(), b);  // the newest: one reload serves both
  r.Done(b, Reloads::Outcome{true, "reloaded"});
  EXPECT_EQ(r.Pending(), 0u);
  Reloads::Outcome out;
  ASSERT_TRUE(r.Wait(a, std::chrono::milliseconds(0), &out));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.message, "reloaded");
}

TEST(Reloads, WaiterHearsTheOutcomeFromTheLoop) {
  Reloads r;
  uint64_t id = r.Request();
  Reloads::Outcome out;
  EXPECT_FALSE(r.Wait(id, std::chrono::milliseconds(10), &out)) << "nobody served it yet";
  std::thread loop([&] {
    while (r.Pending() == 0) std::this_thread::yield();
    r.Done(r.Pending(), Reloads::Outcome{false, "r.yaml:3:17: bad"});
  });
  ASSERT_TRUE(r.Wait(id, std::chrono::seconds(10), &out));
  loop.join();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.message, "r.yaml:3:17: bad");
  // A later request is not served by an earlier reload.
  uint64_t next = r.Request();
  EXPECT_FALSE(r.Wait(next, std::chrono::milliseconds(10), &out));
}

}  // namespace
}  // namespace noisegate::processor
