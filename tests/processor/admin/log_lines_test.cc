// The run log: whole lines from several writers, each line kept or dropped by the level it
// states.
#include "processor/admin/log_lines.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace noisegate::processor {
namespace {

TEST(LogLines, LinesBelowTheLevelAreDroppedAndLinesWithoutALevelKept) {
  std::ostringstream out;
  LogSink sink(out, LogLevel::kWarn);
  {
    LogStream log(sink);
    log << "noisegate: level=info event=assigned partitions=0,1\n";
    log << "noisegate: level=warn event=dead_letter reason="
        << "empty"
        << " detail=\"\"\n";
    log << "noisegate: level=debug event=x\nnoisegate: level=error event=fatal\n";
    log << "noisegate: embedded Kafka at 127.0.0.1:" << 9092 << "\n";
    // A quoted "level=" further on is not the line's level.
    log << "noisegate: level=info event=note detail=\"level=error\"\n";
    log << "noisegate: level=error event=cut_short";  // no newline: written when it goes
  }
  EXPECT_EQ(out.str(),
            "noisegate: level=warn event=dead_letter reason=empty detail=\"\"\n"
            "noisegate: level=error event=fatal\n"
            "noisegate: embedded Kafka at 127.0.0.1:9092\n"
            "noisegate: level=error event=cut_short\n");
}

TEST(LogLines, LinesOfWritersOnSeveralThreadsNeverInterleave) {
  std::ostringstream out;
  LogSink sink(out, LogLevel::kDebug);
  constexpr int kThreads = 4, kLines = 2000;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&sink, t] {
      LogStream log(sink);
      // Each line goes out in several pieces, as `<<` writes it.
      for (int i = 0; i < kLines; ++i) {
        log << "noisegate: level=info event=w" << t << " i=" << i << " end=" << t << "\n";
      }
    });
  }
  for (std::thread& w : writers) w.join();
  std::istringstream in(out.str());
  std::string line;
  std::vector<int> next(kThreads, 0);
  int lines = 0;
  while (std::getline(in, line)) {
    int t = -1, i = -1, end = -1;
    ASSERT_EQ(
        std::sscanf(line.c_str(), "noisegate: level=info event=w%d i=%d end=%d", &t, &i, &end), 3)
        << line;
    ASSERT_EQ(t, end) << line;
    ASSERT_EQ(i, next[t]++) << line;  // and each writer's lines in its order
    ++lines;
  }
  EXPECT_EQ(lines, kThreads * kLines);
}

TEST(LogLines, LevelNames) {
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("WARN").has_value());
  EXPECT_FALSE(ParseLogLevel("").has_value());
  EXPECT_EQ(LineLevel("noisegate: level=debug\n"), LogLevel::kDebug);
  EXPECT_FALSE(LineLevel("level=error\n").has_value());
}

}  // namespace
}  // namespace noisegate::processor
