// The log of `noisegate run`: its level setting, and dead letters logged once their
// transaction commits, at most a burst per window with the rest counted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "processor/kafka/live.h"
#include "tests/processor/kafka/mock_estate.h"

namespace noisegate::processor {
namespace {

using testing::LockedLog;
using testing::MockEstate;
using testing::WaitForPage;

// One message with `bad` alerts without labels (a dead letter each) and one good alert.
std::string Alerts(int bad, const std::string& good) {
  std::string v = R"({"version":"4","status":"firing","alerts":[)";
  for (int i = 0; i < bad; ++i) v += R"({"status":"firing","labels":{}},)";
  return v + R"({"status":"firing","labels":{"alertname":")" + good +
         R"(","severity":"critical"},"startsAt":"2026-11-24T00:00:00Z"}]})";
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(LiveOnMockCluster, AtLevelWarnTheLogHasTheDeadLettersButNoInfoLines) {
  MockEstate estate;
  ASSERT_TRUE(estate.rules());
  RunConfig cfg = estate.Config();
  cfg.log_level = LogLevel::kWarn;
  std::atomic<bool> stop{false};
  LockedLog buf;
  std::ostream log(&buf);
  RunExit exit = RunExit::kFatal;
  std::thread live([&] { exit = RunLive(estate.rules(), cfg, stop, log); });

  // 15 dead letters in one message, so in one transaction: 10 are logged, 5 counted.
  estate.ProduceMessage(Alerts(15, "First"));
  EXPECT_FALSE(WaitForPage(estate.bootstrap(), "First", 60).empty()) << buf.Text();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Count(buf.Text(), "event=dead_letter ") < 10 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Past the window, the next dead letter says how many the last one left out.
  std::this_thread::sleep_for(std::chrono::milliseconds(10'500));
  estate.ProduceMessage(Alerts(1, "Second"));
  EXPECT_FALSE(WaitForPage(estate.bootstrap(), "Second", 60).empty()) << buf.Text();
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!buf.Has("event=dead_letters_not_logged") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  live.join();
  EXPECT_EQ(exit, RunExit::kStopped);

  const std::string text = buf.Text();
  EXPECT_EQ(Count(text, "level=info"), 0u) << text;
  EXPECT_EQ(Count(text,
                  "level=warn event=dead_letter topic=alerts.prometheus partition=0 "
                  "offset=0 index="),
            10u)
      << text;
  EXPECT_EQ(Count(text, "level=warn event=dead_letters_not_logged count=5 "), 1u) << text;
  EXPECT_EQ(Count(text,
                  "level=warn event=dead_letter topic=alerts.prometheus partition=0 "
                  "offset=1 index=0 reason=missing_field detail=\""),
            1u)
      << text;
  // Each line whole: the level first, one event per line.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(std::regex_search(line, std::regex("^noisegate: level=(warn|error) event=")))
        << line;
  }
}

}  // namespace
}  // namespace noisegate::processor
