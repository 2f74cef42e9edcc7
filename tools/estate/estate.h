// The parts every generated estate is made of: a seeded random source, the messages (kcat -J
// envelopes to be), the labelled incidents (what `noisegate backtest` reads), alerts in
// Alertmanager's webhook shape and log lines in ECS shape, and the writer of the estate's files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace noisegate::estate {

constexpr int64_t kSec = 1000, kMin = 60 * kSec, kHour = 60 * kMin;
constexpr int64_t kStart = 1795392000000;  // 2026-11-23T00:00:00Z

class Rng {  // splitmix64: tiny, fast, the same everywhere
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int64_t Uniform(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return (Next() >> 11) * (1.0 / 9007199254740992.0) < p; }

 private:
  uint64_t s_;
};

struct Message {
  std::string topic;
  int64_t ts;
  std::string key;
  std::string payload;
  bool raw = false;  // write the line as is (a line that is not an envelope)
};

// One incident the estate holds, as a postmortem would list it (backtest.h).
struct Truth {
  std::string name;
  int64_t start, end;
  bool page;
  std::vector<std::string> match;  // matcher lists, as YAML flow sequences
};

struct Service {
  std::string name;
  std::string node;
  std::string zone;
  std::string version;
  std::string error_type;  // its benign steady error
  std::string benign;      // its benign message pattern
  std::string ns;          // kubernetes.namespace, written when set
  std::string cluster;     // orchestrator.cluster.name, written when set
};

struct Alert {
  std::map<std::string, std::string> labels;
  std::string summary;
  std::string description;
  int64_t starts;
  bool resolved = false;
  int64_t ends = 0;
};

struct LogLine {
  const Service* svc;
  std::string level = "error";
  std::string message;
  std::string error_type;
  std::string stack;
  std::string version;
  std::string trace;
};

// `pattern` with each {ms}, {id} and {n} replaced by a random number of that kind.
std::string Fill(const std::string& pattern, Rng& rng);

// An Alertmanager webhook (version 4) carrying `alerts`.
std::string AlertmanagerPayload(const std::vector<Alert>& alerts);

// An ECS log line of `l.svc` at `ts` (a random trace id unless `l.trace` is set).
std::string LogPayload(const LogLine& l, int64_t ts, Rng& rng);

// What every estate's generator builds on: its random source, and the messages and labelled
// incidents made so far.
class Builder {
 public:
  explicit Builder(uint64_t seed) : rng_(seed) {}
  std::vector<Message>& messages() { return msgs_; }
  std::vector<Truth>& truth() { return truth_; }

 protected:
  static Alert Firing(std::map<std::string, std::string> labels, std::string summary,
                      int64_t starts);
  static void Resolve(Alert& a, int64_t t) {
    a.resolved = true;
    a.ends = t;
  }
  // One webhook of `alerts` on alerts.prometheus, keyed by the first one's alertname.
  void AlertMsg(int64_t t, const std::vector<Alert>& alerts);
  // `count` hosts of `subnet` ("10.1.") whose info alert repeats every 5 minutes from a
  // random time in the first hour until `end` (background alerts that drop rules discard).
  void HostInfoAlerts(const std::string& subnet, int count, int64_t end);
  // One line on logs.app, keyed by its service.
  void Log(int64_t t, const LogLine& l);

  Rng rng_;
  std::vector<Message> msgs_;
  std::vector<Truth> truth_;
};

// Writes the messages, sorted by time (stably), as one kcat -J dump per topic into `dir`, and
// `truth` as dir/incidents.yaml. Prints what it wrote; false (with the reason on stderr) when
// a file cannot be written.
bool WriteEstate(const std::string& dir, uint64_t seed, std::vector<Message>* msgs,
                 const std::vector<Truth>& truth);

}  // namespace noisegate::estate
