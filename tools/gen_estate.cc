// ng-gen-estate: writes a synthetic but realistic estate as replay dumps (kcat -J JSON Lines,
// one file per topic) and incidents.yaml, the incidents it made as `noisegate backtest` reads
// them (which records belong to each, and whether it should page). Deterministic for a seed.
//
//   ng-gen-estate --out DIR [--varied [--rules FILE]] [--seed N] [--scale N] [--hours H]
//
// Without --varied it writes the sample estate (sample_estate.cc), for which
// examples/rules.yaml was written: the golden replay test and the benchmarks read it. With
// --varied the seed draws the estate itself, its service catalog (written as topology.yaml)
// and which failures happen where and when (varied_estate.cc): the yardstick for rules that
// were not tuned on it; --rules FILE also writes DIR/rules.yaml, FILE with its `topology:`
// section replaced by that catalog. --scale multiplies the background traffic; the incidents
// stay.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/estate/estate.h"
#include "tools/estate/sample_estate.h"
#include "tools/estate/varied_estate.h"

using noisegate::estate::Message;
using noisegate::estate::SampleEstate;
using noisegate::estate::Truth;
using noisegate::estate::VariedEstate;
using noisegate::estate::WriteEstate;

namespace {

constexpr const char* kUsage =
    "usage: ng-gen-estate --out DIR [--varied [--rules FILE]] [--seed N] [--scale N] "
    "[--hours H>=4]\n";

bool WriteFile(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (!ok) std::fprintf(stderr, "ng-gen-estate: cannot write %s\n", path.c_str());
  return ok;
}

// `rules` without its top-level `topology:` section (from that line to the next line that
// starts a top-level key), and `catalog` after it.
std::string WithTopology(const std::string& rules, const std::string& catalog) {
  std::string out;
  bool skip = false;
  std::istringstream in(rules);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("topology:", 0) == 0) {
      skip = true;
      continue;
    }
    if (skip && !line.empty() && line[0] != ' ' && line[0] != '#') skip = false;
    if (!skip) out += line + "\n";
  }
  return out + catalog;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  uint64_t seed = 42;
  int scale = 1, hours = 4;
  bool varied = false;
  std::string rules_in;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ng-gen-estate: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--out") {
      out_dir = next();
    } else if (a == "--seed") {
      seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--scale") {
      scale = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--varied") {
      varied = true;
    } else if (a == "--rules") {
      rules_in = next();
    } else if (a == "--hours") {
      hours = std::max(4, std::atoi(next().c_str()));
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (out_dir.empty() || (!rules_in.empty() && !varied)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "ng-gen-estate: cannot create %s: %s\n", out_dir.c_str(),
                 ec.message().c_str());
    return 3;
  }
  std::vector<Message> msgs;
  std::vector<Truth> truth;
  if (varied) {
    std::string catalog;
    VariedEstate(seed, scale, hours, &msgs, &truth, &catalog);
    if (!WriteFile(out_dir + "/topology.yaml", catalog)) return 3;
    if (!rules_in.empty()) {
      std::ifstream in(rules_in);
      std::stringstream rules;
      rules << in.rdbuf();
      if (!in) {
        std::fprintf(stderr, "ng-gen-estate: cannot read %s\n", rules_in.c_str());
        return 3;
      }
      if (!WriteFile(out_dir + "/rules.yaml", WithTopology(rules.str(), catalog))) return 3;
    }
  } else {
    SampleEstate(seed, scale, hours, &msgs, &truth);
  }
  return WriteEstate(out_dir, seed, &msgs, truth) ? 0 : 3;
}
