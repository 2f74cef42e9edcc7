// The shared parts of generated estates (estate.h): payload writers and the estate's files.
#include "tools/estate/estate.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <utility>

#include "dedup/types.h"
#include "processor/output/json_writer.h"

namespace noisegate::estate {

using processor::JsonWriter;

std::string Fill(const std::string& pattern, Rng& rng) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.compare(i, 4, "{ms}") == 0) {
      out += std::to_string(rng.Uniform(100, 9999));
      i += 3;
    } else if (pattern.compare(i, 4, "{id}") == 0) {
      char buf[20];
      std::snprintf(buf, sizeof(buf), "%08llx", static_cast<unsigned long long>(rng.Next() >> 32));
      out += buf;
      i += 3;
    } else if (pattern.compare(i, 3, "{n}") == 0) {
      out += std::to_string(rng.Uniform(1, 999999));
      i += 2;
    } else {
      out.push_back(pattern[i]);
    }
  }
  return out;
}

std::string AlertmanagerPayload(const std::vector<Alert>& alerts) {
  std::string out;
  JsonWriter w(&out);
  bool any_firing = false;
  for (const Alert& a : alerts) any_firing |= !a.resolved;
  w.BeginObject();
  w.Key("receiver");
  w.String("noisegate");
  w.Key("status");
  w.String(any_firing ? "firing" : "resolved");
  w.Key("alerts");
  w.BeginArray();
  for (const Alert& a : alerts) {
    w.BeginObject();
    w.Key("status");
    w.String(a.resolved ? "resolved" : "firing");
    w.Key("labels");
    w.BeginObject();
    for (const auto& [k, v] : a.labels) {
      w.Key(k);
      w.String(v);
    }
    w.EndObject();
    w.Key("annotations");
    w.BeginObject();
    w.Key("summary");
    w.String(a.summary);
    w.Key("description");
    w.String(a.description);
    w.EndObject();
    w.Key("startsAt");
    w.String(FormatRfc3339(EventTime{a.starts}));
    w.Key("endsAt");
    w.String(a.resolved ? FormatRfc3339(EventTime{a.ends}) : "0001-01-01T00:00:00Z");
    w.Key("generatorURL");
    w.String("http://prometheus.monitoring:9090/graph?g0.expr=" + a.labels.at("alertname"));
    w.Key("fingerprint");
    char fp[20];
    std::snprintf(fp, sizeof(fp), "%016zx", std::hash<std::string>{}(a.labels.at("alertname")));
    w.String(fp);
    w.EndObject();
  }
  w.EndArray();
  w.Key("groupLabels");
  w.BeginObject();
  w.Key("alertname");
  w.String(alerts.front().labels.at("alertname"));
  w.EndObject();
  w.Key("commonLabels");
  w.BeginObject();
  w.EndObject();
  w.Key("commonAnnotations");
  w.BeginObject();
  w.EndObject();
  w.Key("externalURL");
  w.String("http://alertmanager.monitoring:9093");
  w.Key("version");
  w.String("4");
  w.Key("groupKey");
  w.String("{}:{alertname=\"" + alerts.front().labels.at("alertname") + "\"}");
  w.Key("truncatedAlerts");
  w.Int(0);
  w.EndObject();
  return out;
}

std::string LogPayload(const LogLine& l, int64_t ts, Rng& rng) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("@timestamp");
  w.String(FormatRfc3339(EventTime{ts}));
  w.Key("log.level");
  w.String(l.level);
  w.Key("service.name");
  w.String(l.svc->name);
  w.Key("service.version");
  w.String(l.version.empty() ? l.svc->version : l.version);
  w.Key("message");
  w.String(l.message);
  w.Key("error.type");
  w.String(l.error_type);
  if (!l.stack.empty()) {
    w.Key("error.stack_trace");
    w.String(l.stack);
  }
  w.Key("trace.id");
  char trace[40];
  // Two draws, one per statement (the order of a call's arguments is unspecified); the second
  // draw is printed first, as the sample estate's bytes have always had it.
  const unsigned long long low = rng.Next();
  const unsigned long long high = rng.Next();
  std::snprintf(trace, sizeof(trace), "%016llx%016llx", high, low);
  w.String(l.trace.empty() ? trace : l.trace);
  w.Key("host.name");
  w.String(l.svc->node);
  w.Key("kubernetes.node.name");
  w.String(l.svc->node);
  w.Key("kubernetes.pod.name");
  w.String(l.svc->name + "-7d9f8b-" + l.svc->node.substr(l.svc->node.rfind('-') + 1));
  w.Key("cloud.availability_zone");
  w.String(l.svc->zone);
  if (!l.svc->ns.empty()) {
    w.Key("kubernetes.namespace");
    w.String(l.svc->ns);
  }
  if (!l.svc->cluster.empty()) {
    w.Key("orchestrator.cluster.name");
    w.String(l.svc->cluster);
  }
  w.EndObject();
  return out;
}

Alert Builder::Firing(std::map<std::string, std::string> labels, std::string summary,
                      int64_t starts) {
  Alert a;
  a.labels = std::move(labels);
  a.summary = std::move(summary);
  a.description = a.summary + ".";
  a.starts = starts;
  return a;
}

void Builder::AlertMsg(int64_t t, const std::vector<Alert>& alerts) {
  msgs_.push_back(Message{"alerts.prometheus", t, alerts.front().labels.at("alertname"),
                          AlertmanagerPayload(alerts)});
}

void Builder::HostInfoAlerts(const std::string& subnet, int count, int64_t end) {
  for (int k = 0; k < count; ++k) {
    std::string inst = subnet + std::to_string(k / 250) + "." + std::to_string(k % 250) + ":9100";
    int64_t first = kStart + rng_.Uniform(0, kHour);
    for (int64_t t = first; t < end; t += 5 * kMin) {
      AlertMsg(t, {Firing({{"alertname", "HostHighCpuLoad"},
                           {"instance", inst},
                           {"severity", "info"},
                           {"job", "node-exporter"}},
                          "CPU load is high on " + inst, first)});
    }
  }
}

void Builder::Log(int64_t t, const LogLine& l) {
  msgs_.push_back(Message{"logs.app", t, l.svc->name, LogPayload(l, t, rng_)});
}

bool WriteEstate(const std::string& dir, uint64_t seed, std::vector<Message>* msgs,
                 const std::vector<Truth>& truth) {
  std::stable_sort(msgs->begin(), msgs->end(),
                   [](const Message& a, const Message& b) { return a.ts < b.ts; });
  std::map<std::string, FILE*> files;
  std::map<std::pair<std::string, int>, int64_t> offsets;
  std::map<std::string, size_t> counts;
  std::string line;
  for (const Message& m : *msgs) {
    std::string file_topic = m.topic == "alerts.unknown" ? "alerts.prometheus" : m.topic;
    FILE*& f = files[file_topic];
    if (f == nullptr) {
      std::string path = dir + "/" + file_topic + ".jsonl";
      f = std::fopen(path.c_str(), "wb");
      if (f == nullptr) {
        std::fprintf(stderr, "ng-gen-estate: cannot write %s\n", path.c_str());
        return false;
      }
    }
    line.clear();
    if (m.raw) {
      line = m.payload;
    } else {
      int partition = static_cast<int>(std::hash<std::string>{}(m.key) % 3);
      int64_t offset = offsets[{m.topic, partition}]++;
      JsonWriter w(&line);
      w.BeginObject();
      w.Key("topic");
      w.String(m.topic);
      w.Key("partition");
      w.Int(partition);
      w.Key("offset");
      w.Int(offset);
      w.Key("tstype");
      w.String("create");
      w.Key("ts");
      w.Int(m.ts);
      w.Key("broker");
      w.Int(1);
      w.Key("key");
      w.StringOrNull(m.key);
      w.Key("payload");
      // kcat copies payload bytes as they are: keep invalid UTF-8 raw in the line.
      bool valid = m.payload.find('\xff') == std::string::npos;
      if (valid) {
        w.String(m.payload);
      } else {
        line.push_back('"');
        for (char c : m.payload) {
          if (c == '"' || c == '\\') line.push_back('\\');
          line.push_back(c);
        }
        line.push_back('"');
      }
      w.EndObject();
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), f);
    counts[file_topic]++;
  }
  for (auto& [topic, f] : files) {
    std::fclose(f);
    std::printf("%s/%s.jsonl: %zu lines\n", dir.c_str(), topic.c_str(), counts[topic]);
  }
  std::string truth_path = dir + "/incidents.yaml";
  FILE* tf = std::fopen(truth_path.c_str(), "wb");
  if (tf == nullptr) {
    std::fprintf(stderr, "ng-gen-estate: cannot write %s\n", truth_path.c_str());
    return false;
  }
  std::fprintf(tf, "# The incidents ng-gen-estate made (seed %llu), for noisegate backtest.\n",
               static_cast<unsigned long long>(seed));
  std::fprintf(tf, "incidents:\n");
  for (const Truth& t : truth) {
    std::fprintf(tf, "  - name: %s\n    start: %s\n    end: %s\n    route: %s\n    match:\n",
                 t.name.c_str(), FormatRfc3339(EventTime{t.start}).c_str(),
                 FormatRfc3339(EventTime{t.end}).c_str(), t.page ? "page" : "ticket");
    for (const std::string& m : t.match) std::fprintf(tf, "      - %s\n", m.c_str());
  }
  std::fclose(tf);
  std::printf("%s: %zu incidents\n", truth_path.c_str(), truth.size());
  return true;
}

}  // namespace noisegate::estate
