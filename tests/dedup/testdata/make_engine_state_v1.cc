// Writes a checkpoint with the noisegate of fc8f1be (engine state format 1), for the upgrade
// test: the first 1500 records of the varied stream under the varied rules; and what that
// engine, uninterrupted, emits for the rest of the stream.
#include <fstream>
#include <iostream>

#include "varied_stream.h"

using namespace noisegate::dedup;
using namespace noisegate::dedup::testing;

int main(int argc, char** argv) {
  auto rules = Rules(kVariedRules);
  std::vector<noisegate::Record> stream = VariedStream();
  CaptureSink sink;
  Engine e(rules, &sink);
  for (size_t i = 0; i < 1500; ++i) e.Process(stream[i]);
  std::string state;
  e.SaveState(&state);
  std::ofstream(argv[1], std::ios::binary) << state;
  std::ofstream ids(argv[2]);
  for (const Incident* inc : e.OpenIncidents()) ids << inc->id << "\n";
  sink.decisions.clear();
  sink.sent.clear();
  for (size_t i = 1500; i < stream.size(); ++i) e.Process(stream[i]);
  e.AdvanceWatermark(noisegate::EventTime{stream.back().time.ms + 3 * 3600 * kS});
  std::ofstream rest(argv[3]);
  for (const std::string& l : Lines(sink)) rest << l << "\n";
  std::cerr << state.size() << " bytes, " << Lines(sink).size() << " lines after\n";
}
