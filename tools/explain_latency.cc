// ng-explain-latency: the live end-to-end benchmark's stopwatch. Consumes noisegate's explain
// topic (read_committed) until it has seen N lines, and matches the sampled input messages
// that ng-load acknowledged (ng-load --sample) to the moment their decision became visible:
// input append -> output committed, the latency an SRE sees (no group_wait in it: the
// decision of a record is written when the record is processed). Prints sustained records/s,
// latency percentiles, and the count of explain lines per input record (must be 1).
#include <librdkafka/rdkafkacpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The value of "key":<number> or "key":"<string>" in a flat JSON line (explain lines are
// written by noisegate in a fixed shape; this is not a general parser).
std::string Field(const std::string& line, const std::string& key) {
  std::string k = "\"" + key + "\":";
  size_t p = line.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  if (line[p] == '"') {
    size_t e = line.find('"', p + 1);
    return line.substr(p + 1, e - p - 1);
  }
  size_t e = line.find_first_of(",}", p);
  return line.substr(p, e - p);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ng-explain-latency: input-to-decision latency from noisegate's explain topic"};
  std::string bootstrap, topic = "noisegate.explain", sends_path, timeline_path;
  int64_t expect = 0;
  int timeout_s = 600;
  app.add_option("-b,--bootstrap", bootstrap)->required();
  app.add_option("-t,--topic", topic);
  app.add_option("--sends", sends_path, "ng-load --sample output")->required();
  app.add_option("--expect", expect, "stop after this many explain lines")->required();
  app.add_option("--timeout", timeout_s, "give up after this many seconds");
  app.add_option("--timeline", timeline_path,
                 "write each sample as a line: acked ms, latency ms, topic, partition, offset");
  CLI11_PARSE(app, argc, argv);

  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", "ng-explain-latency", err);
  conf->set("isolation.level", "read_committed", err);
  conf->set("auto.offset.reset", "earliest", err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("fetch.wait.max.ms", "10", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c || c->subscribe({topic}) != RdKafka::ERR_NO_ERROR) {
    std::cerr << "ng-explain-latency: " << err << "\n";
    return 1;
  }
  using Key = std::tuple<std::string, int32_t, int64_t>;
  std::map<Key, int64_t> seen_at;  // sampled input -> when its decision became visible
  int64_t lines = 0, first_ms = 0, last_ms = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (lines < expect && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    int64_t now = WallMs();
    if (lines == 0) first_ms = now;
    last_ms = now;
    ++lines;
    std::string line(static_cast<const char*>(m->payload()), m->len());
    if (Field(line, "index") != "0") continue;
    Key k{Field(line, "topic"), std::stoi(Field(line, "partition")),
          std::stoll(Field(line, "offset"))};
    seen_at.emplace(k, now);
  }
  c->close();
  std::ifstream sends(sends_path);
  std::string t;
  int32_t p;
  int64_t o, acked;
  std::vector<int64_t> lat;
  std::ofstream timeline;
  if (!timeline_path.empty()) {
    timeline.open(timeline_path);
    if (!timeline) std::cerr << "ng-explain-latency: cannot write " << timeline_path << "\n";
  }
  while (sends >> t >> p >> o >> acked) {
    auto it = seen_at.find(Key{t, p, o});
    if (it == seen_at.end()) continue;
    lat.push_back(std::max<int64_t>(0, it->second - acked));
    if (timeline.is_open()) {
      timeline << acked << ' ' << lat.back() << ' ' << t << ' ' << p << ' ' << o << '\n';
    }
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty() ? -1 : lat[std::min(lat.size() - 1, static_cast<size_t>(q * lat.size()))];
  };
  double secs = std::max<int64_t>(1, last_ms - first_ms) / 1000.0;
  std::printf(
      "explain_lines=%lld seconds=%.1f records_per_second=%.0f latency_samples=%zu "
      "latency_ms_p50=%lld p90=%lld p99=%lld max=%lld\n",
      static_cast<long long>(lines), secs, lines / secs, lat.size(),
      static_cast<long long>(pct(0.5)), static_cast<long long>(pct(0.9)),
      static_cast<long long>(pct(0.99)), static_cast<long long>(lat.empty() ? -1 : lat.back()));
  return lines >= expect ? 0 : 1;
}
