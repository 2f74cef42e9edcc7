// ng-gen-estate: writes a synthetic but realistic estate as replay dumps (kcat -J JSON Lines,
// one file per topic): a service graph with steady benign errors, flapping and staging noise,
// heartbeat alerts, three cascading outages, and malformed messages. Deterministic for a seed,
// so the golden replay test and the benchmarks read the same bytes every time. It also writes
// incidents.yaml, the incidents it made as `noisegate backtest` reads them (which records
// belong to each, and whether it should page).
//
//   ng-gen-estate --out DIR [--seed N] [--scale N] [--hours H]
//
// --scale multiplies the background traffic (for benchmarks); the incidents stay the same.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "dedup/types.h"
#include "processor/output/json_writer.h"

namespace {

using noisegate::EventTime;
using noisegate::FormatRfc3339;
using noisegate::processor::JsonWriter;

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
};

std::vector<Service> Estate() {
  return {
      {"web-frontend", "node-1", "eu-west-1a", "3.2.0", "TimeoutError",
       "render timeout after {ms}ms for session {id}"},
      {"checkout-api", "node-2", "eu-west-1b", "5.1.4", "CartValidationException",
       "cart {id} validation failed: item {n} out of stock"},
      {"search-api", "node-3", "eu-west-1c", "2.4.0", "QueryParseException",
       "could not parse query for user {n}"},
      {"profile-api", "node-1", "eu-west-1a", "1.9.2", "AvatarNotFound",
       "avatar not found for user {n}"},
      {"payments-api", "node-4", "eu-west-1b", "7.0.3", "CardDeclinedException",
       "card declined for order {id} after {ms}ms"},
      {"inventory-api", "node-4", "eu-west-1b", "4.4.1", "StaleReadWarning",
       "stale read on sku {n}, retrying"},
  };
}

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

struct Alert {
  std::map<std::string, std::string> labels;
  std::string summary;
  std::string description;
  int64_t starts;
  bool resolved = false;
  int64_t ends = 0;
};

std::string AlertmanagerPayload(const std::vector<Alert>& alerts, int64_t now) {
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
  (void)now;
  return out;
}

struct LogLine {
  const Service* svc;
  std::string level = "error";
  std::string message;
  std::string error_type;
  std::string stack;
  std::string version;
  std::string trace;
};

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
  std::snprintf(trace, sizeof(trace), "%016llx%016llx", static_cast<unsigned long long>(rng.Next()),
                static_cast<unsigned long long>(rng.Next()));
  w.String(l.trace.empty() ? trace : l.trace);
  w.Key("host.name");
  w.String(l.svc->node);
  w.Key("kubernetes.node.name");
  w.String(l.svc->node);
  w.Key("kubernetes.pod.name");
  w.String(l.svc->name + "-7d9f8b-" + l.svc->node.substr(5));
  w.Key("cloud.availability_zone");
  w.String(l.svc->zone);
  w.EndObject();
  return out;
}

class Estate_ {
 public:
  Estate_(uint64_t seed, int scale, int hours) : rng_(seed), scale_(scale), hours_(hours) {}

  void Generate() {
    const auto services = Estate();
    const int64_t end = kStart + hours_ * kHour;
    // Steady benign errors: every service, all the time (these must never page).
    for (const Service& s : services) {
      int64_t period = std::max<int64_t>(50, 2000 / scale_);
      for (int64_t t = kStart + rng_.Uniform(0, period); t < end;
           t += period + rng_.Uniform(-20, 20)) {
        Log(t, LogLine{&s, "error", Fill(s.benign, rng_), s.error_type});
      }
      // Info and warn lines that min_level drops.
      for (int64_t t = kStart + rng_.Uniform(0, 5000); t < end;
           t += std::max<int64_t>(100, 10000 / scale_)) {
        Log(t, LogLine{&s, "warn", Fill("slow call took {ms}ms", rng_), ""});
      }
    }
    // Heartbeat (dropped), staging noise (silenced), a flapping disk alert (held back).
    for (int64_t t = kStart; t < end; t += kMin) {
      AlertMsg(t, {Firing({{"alertname", "Watchdog"}, {"severity", "none"}},
                          "Alerting pipeline heartbeat", kStart)});
      AlertMsg(t + 7 * kSec, {Firing({{"alertname", "KubePodCrashLooping"},
                                      {"namespace", "staging"},
                                      {"pod", "search-api-canary-0"},
                                      {"severity", "warning"}},
                                     "Pod staging/search-api-canary-0 is crash looping", t)});
    }
    for (int64_t t = kStart + 10 * kMin, i = 0; t < end;
         t += 2 * kMin + rng_.Uniform(0, 30) * kSec, ++i) {
      Alert a = Firing({{"alertname", "NodeDiskSpaceLow"},
                        {"node", "node-5"},
                        {"severity", "warning"},
                        {"mountpoint", "/var/lib/docker"}},
                       "Disk /var/lib/docker on node-5 is 91% full", t);
      if (i % 2 == 1) Resolve(a, t);
      AlertMsg(t, {a});
    }
    // Extra background alerts for larger scales: many distinct low-priority warnings.
    for (int k = 0; k < scale_ * 4; ++k) {
      std::string inst =
          "10.1." + std::to_string(k / 250) + "." + std::to_string(k % 250) + ":9100";
      int64_t first = kStart + rng_.Uniform(0, kHour);
      for (int64_t t = first; t < end; t += 5 * kMin) {
        AlertMsg(t, {Firing({{"alertname", "HostHighCpuLoad"},
                             {"instance", inst},
                             {"severity", "info"},
                             {"job", "node-exporter"}},
                            "CPU load is high on " + inst, first)});
      }
    }
    PaymentsDbOutage(kStart + 90 * kMin, services);
    NodeOutage(kStart + 135 * kMin, services);
    BadDeploy(kStart + 180 * kMin, services);
    UsersDbFailover(kStart + 210 * kMin, services);
    NodePartition(kStart + 62 * kMin,
                  services);  // after the others: their random draws stay as they were
    ZoneOutage(kStart + 118 * kMin, services);  // (and after this one)
    RedisWarning(kStart + 20 * kMin);
    Malformed(end);
  }

  std::vector<Message>& messages() { return msgs_; }
  const std::vector<Truth>& truth() const { return truth_; }

 private:
  Alert Firing(std::map<std::string, std::string> labels, std::string summary, int64_t starts) {
    Alert a;
    a.labels = std::move(labels);
    a.summary = std::move(summary);
    a.description = a.summary + ".";
    a.starts = starts;
    return a;
  }
  static void Resolve(Alert& a, int64_t t) {
    a.resolved = true;
    a.ends = t;
  }
  void AlertMsg(int64_t t, const std::vector<Alert>& alerts) {
    msgs_.push_back(Message{"alerts.prometheus", t, alerts.front().labels.at("alertname"),
                            AlertmanagerPayload(alerts, t)});
  }
  void Log(int64_t t, const LogLine& l) {
    msgs_.push_back(Message{"logs.app", t, l.svc->name, LogPayload(l, t, rng_)});
  }
  const Service& Svc(const std::vector<Service>& all, const std::string& name) {
    for (const Service& s : all) {
      if (s.name == name) return s;
    }
    std::abort();
  }

  // Incident 1: the payments database goes down; payments-api and checkout-api error out,
  // checkout's error-rate and SLO alerts fire, and web-frontend (user-facing, calling
  // checkout-api) fails its checkout pages. One page: checkout-api's outage, web-frontend's
  // errors with it.
  void PaymentsDbOutage(int64_t t0, const std::vector<Service>& all) {
    const int64_t t1 = t0 + 20 * kMin;
    Alert db = Firing({{"alertname", "PostgresPrimaryDown"},
                       {"cluster", "pg-payments"},
                       {"instance", "pg-payments-0:9187"},
                       {"severity", "critical"}},
                      "PostgreSQL primary pg-payments-0 is down", t0);
    Alert rate = Firing({{"alertname", "HighErrorRate"},
                         {"service", "checkout-api"},
                         {"namespace", "checkout"},
                         {"severity", "critical"}},
                        "checkout-api 5xx ratio above 5%", t0 + 90 * kSec);
    Alert slo = Firing({{"alertname", "SLOBurnRateHigh"},
                        {"service", "checkout-api"},
                        {"slo", "checkout-availability"},
                        {"severity", "warning"}},
                       "checkout-availability burning error budget 14x", t0 + 3 * kMin);
    for (int64_t t = t0; t < t1; t += kMin) AlertMsg(t, {db});
    for (int64_t t = t0 + 90 * kSec; t < t1 + kMin; t += kMin) AlertMsg(t, {rate});
    for (int64_t t = t0 + 3 * kMin; t < t1 + kMin; t += 2 * kMin) AlertMsg(t, {slo});
    Resolve(db, t1);
    AlertMsg(t1, {db});
    Resolve(rate, t1 + 2 * kMin);
    AlertMsg(t1 + 2 * kMin, {rate});
    Resolve(slo, t1 + 3 * kMin);
    AlertMsg(t1 + 3 * kMin, {slo});
    truth_.push_back(Truth{
        "payments database outage",
        t0,
        t1 + 3 * kMin,
        true,
        {R"(['cluster="pg-payments"'])",
         R"(['service="checkout-api"', 'alertname=~"HighErrorRate|SLOBurnRateHigh"'])",
         R"(['signal="log"', 'service="payments-api"', 'error_type="org.postgresql.util.PSQLException"'])",
         R"(['signal="log"', 'service="checkout-api"', 'error_type="UpstreamUnavailable"'])",
         R"(['signal="log"', 'service="web-frontend"', 'error_type="UpstreamUnavailable"'])"}});
    const Service& pay = Svc(all, "payments-api");
    const Service& co = Svc(all, "checkout-api");
    for (int64_t t = t0 + 5 * kSec; t < t1; t += 40 + rng_.Uniform(0, 40)) {
      LogLine l{&pay, "error",
                "org.postgresql.util.PSQLException: Connection to payments-db:5432 refused. "
                "Check that the hostname and port are correct",
                "org.postgresql.util.PSQLException"};
      l.stack =
          "org.postgresql.util.PSQLException: Connection refused\n\tat org.postgresql.core."
          "v3.ConnectionFactoryImpl.openConnectionImpl\nCaused by: java.net.ConnectException: "
          "Connection refused (payments-db)";
      Log(t, l);
    }
    for (int64_t t = t0 + 20 * kSec; t < t1; t += 60 + rng_.Uniform(0, 60)) {
      Log(t, LogLine{&co, "error",
                     Fill("upstream payments-api returned 503 for order {id} after {ms}ms", rng_),
                     "UpstreamUnavailable"});
    }
    const Service& web = Svc(all, "web-frontend");
    for (int64_t t = t0 + 30 * kSec; t < t1; t += 80 + rng_.Uniform(0, 80)) {
      Log(t,
          LogLine{&web, "error",
                  Fill("POST /checkout failed: checkout-api answered 503 for session {id}", rng_),
                  "UpstreamUnavailable"});
    }
  }

  // `node` is NotReady from `down` to `up`, and the pods of `services` on it from `pods_down`
  // to a minute after: each alert sent every minute while it fires, then resolved.
  void NodeNotReady(const std::string& node, const std::vector<std::string>& services, int64_t down,
                    int64_t pods_down, int64_t up) {
    Alert alert = Firing({{"alertname", "NodeNotReady"}, {"node", node}, {"severity", "critical"}},
                         "Node " + node + " is NotReady", down);
    const std::string suffix = "-7d9f8b-" + node.substr(5);
    std::vector<Alert> pods;
    for (const std::string& svc : services) {
      pods.push_back(Firing({{"alertname", "KubePodNotReady"},
                             {"node", node},
                             {"namespace", "prod"},
                             {"pod", svc + suffix},
                             {"service", svc},
                             {"severity", "warning"}},
                            "Pod prod/" + svc + suffix + " is not ready", pods_down));
    }
    for (int64_t t = down; t < up; t += kMin) AlertMsg(t, {alert});
    Resolve(alert, up);
    AlertMsg(up, {alert});
    if (pods.empty()) return;  // (a node that runs none of the estate's services)
    for (int64_t t = pods_down; t < up; t += kMin) AlertMsg(t, pods);
    for (Alert& p : pods) Resolve(p, up + kMin);
    AlertMsg(up + kMin, pods);
  }

  // Incident 2: node-4 goes NotReady. Its pods' alerts are inhibited by the node alert and
  // attached to the node's incident.
  void NodeOutage(int64_t t0, const std::vector<Service>& all) {
    const int64_t t1 = t0 + 12 * kMin;
    NodeNotReady("node-4", {"payments-api", "inventory-api"}, t0, t0 + 40 * kSec, t1);
    truth_.push_back(Truth{"node-4 outage",
                           t0,
                           t1 + kMin,
                           true,
                           {R"(['alertname=~"NodeNotReady|KubePodNotReady"', 'node="node-4"'])"}});
    (void)all;
  }

  // Incident 5: node-1 is cut off from the network. web-frontend and profile-api run there;
  // each logs time-outs about the healthy service it calls, a minute before the node's own
  // alert arrives (the kubelet stops reporting, then the alert's `for`). Their impacted
  // services do not overlap and neither calls what failed: only the place ties them. One page.
  void NodePartition(int64_t t0, const std::vector<Service>& all) {
    const int64_t t1 = t0 + 6 * kMin;
    truth_.push_back(Truth{
        "node-1 network partition",
        t0,
        t1 + kMin,
        true,
        {R"(['signal="log"', 'node="node-1"', 'error_type=~"UpstreamTimeout|ConnectTimeout"'])",
         R"(['alertname=~"NodeNotReady|KubePodNotReady"', 'node="node-1"'])"}});
    auto timeouts = [&](const char* svc, int64_t start, const char* message, const char* type) {
      for (int64_t t = start; t < t1; t += kSec + rng_.Uniform(0, kSec)) {
        Log(t, LogLine{&Svc(all, svc), "error", Fill(message, rng_), type});
      }
    };
    timeouts("web-frontend", t0 + 5 * kSec,
             "GET /search failed: search-api timed out after 5000ms for session {id}",
             "UpstreamTimeout");
    timeouts("profile-api", t0 + 15 * kSec, "connection to users-db:5432 timed out after {ms}ms",
             "ConnectTimeout");
    NodeNotReady("node-1", {"web-frontend", "profile-api"}, t0 + 80 * kSec, t0 + 2 * kMin, t1);
  }

  // Incident 6: zone eu-west-1c is cut off. search-api (on node-3) times out on the search
  // index it calls, which is healthy in another zone; a minute later node-3 and node-6 (which
  // runs nothing of the estate's) go NotReady. The node alerts carry no zone: only an
  // inventory that says where node-6 lies ties its alert to the outage. One page.
  void ZoneOutage(int64_t t0, const std::vector<Service>& all) {
    const int64_t t1 = t0 + 6 * kMin;
    truth_.push_back(
        Truth{"zone eu-west-1c outage",
              t0,
              t1 + kMin,
              true,
              {R"(['signal="log"', 'service="search-api"', 'error_type="UpstreamTimeout"'])",
               R"(['alertname=~"NodeNotReady|KubePodNotReady"', 'node=~"node-3|node-6"'])"}});
    for (int64_t t = t0 + 5 * kSec; t < t1; t += kSec + rng_.Uniform(0, kSec)) {
      Log(t, LogLine{&Svc(all, "search-api"), "error",
                     Fill("query {id} failed: search-index:9200 timed out after 3000ms", rng_),
                     "UpstreamTimeout"});
    }
    NodeNotReady("node-3", {"search-api"}, t0 + 80 * kSec, t0 + 2 * kMin, t1);
    NodeNotReady("node-6", {}, t0 + 85 * kSec, t0 + 2 * kMin, t1);
  }

  // Incident 4: users-db fails over. profile-api (which the topology says uses it) and
  // checkout-api (which reads accounts from it, though the topology does not say so) error
  // out; only their stack traces' `Caused by:` names users-db, and no alert fires. One page.
  void UsersDbFailover(int64_t t0, const std::vector<Service>& all) {
    const int64_t t1 = t0 + 6 * kMin;
    truth_.push_back(Truth{
        "users-db failover",
        t0,
        t1 + kMin,
        true,
        {R"(['signal="log"', 'service="profile-api"', 'error_type="DataAccessResourceFailureException"'])",
         R"(['signal="log"', 'service="checkout-api"', 'error_type="AccountLookupFailed"'])"}});
    const std::string caused_by =
        "\nCaused by: org.postgresql.util.PSQLException: FATAL: terminating connection due to "
        "administrator command\n\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse"
        "(users-db:5432)";
    // Error lines of `svc` from `start` until t1, `step` to twice that apart.
    auto errors = [&](const char* svc, int64_t start, int64_t step, const char* message,
                      const char* type, const std::string& head) {
      for (int64_t t = start; t < t1; t += step + rng_.Uniform(0, step)) {
        LogLine l{&Svc(all, svc), "error", Fill(message, rng_), type};
        l.stack = head + caused_by;
        Log(t, l);
      }
    };
    errors("profile-api", t0 + 10 * kSec, 100, "ProfileRepository.load failed for user {id}",
           "DataAccessResourceFailureException",
           "org.springframework.dao.DataAccessResourceFailureException: could not load "
           "profile\n\tat com.example.profile.ProfileRepository.load");
    errors("checkout-api", t0 + 20 * kSec, 120, "account lookup failed for order {id}",
           "AccountLookupFailed",
           "com.example.checkout.AccountLookupFailed: account lookup failed\n\tat "
           "com.example.checkout.AccountClient.get");
  }

  // Incident 3: search-api 2.4.1 ships; a new exception surges. A New Relic latency issue
  // on the same service arrives too.
  void BadDeploy(int64_t t0, const std::vector<Service>& all) {
    const Service& s = Svc(all, "search-api");
    truth_.push_back(Truth{
        "search-api 2.4.1 bad deploy",
        t0,
        t0 + 15 * kMin,
        true,
        {R"(['signal="log"', 'service="search-api"', 'error_type="java.lang.NullPointerException"'])",
         R"(['alertname="search-api latency p95"'])"}});
    // The rollout: pods of the new version start at t0 and log the usual benign errors too.
    for (int64_t t = t0; t < t0 + 60 * kMin; t += 4 * kSec + rng_.Uniform(0, 500)) {
      LogLine l{&s, "error", Fill(s.benign, rng_), s.error_type};
      l.version = "2.4.1";
      Log(t, l);
    }
    for (int64_t t = t0 + 30 * kSec; t < t0 + 15 * kMin; t += 100 + rng_.Uniform(0, 100)) {
      LogLine l{&s, "error",
                Fill("NullPointerException in SearchController.rank for query {id}", rng_),
                "java.lang.NullPointerException"};
      l.version = "2.4.1";
      Log(t, l);
    }
    for (int k = 0; k < 3; ++k) {
      int64_t t = t0 + 2 * kMin + k * 5 * kMin;
      std::string state = k == 2 ? "CLOSED" : (k == 0 ? "ACTIVATED" : "ACKNOWLEDGED");
      std::string out;
      JsonWriter w(&out);
      w.BeginObject();
      w.Key("issueId");
      w.String("3f2b9c1e-6a0d-4c4e-9d1b-8e7f6a5b4c3d");
      w.Key("issuePageUrl");
      w.String("https://one.newrelic.com/alerts-ai/issues/3f2b9c1e");
      w.Key("title");
      w.String("search-api p95 latency above 2s");
      w.Key("priority");
      w.String("HIGH");
      w.Key("state");
      w.String(state);
      w.Key("impactedEntities");
      w.BeginArray();
      w.String("search-api");
      w.EndArray();
      w.Key("totalIncidents");
      w.Int(1);
      w.Key("alertPolicyNames");
      w.BeginArray();
      w.String("Search SLOs");
      w.EndArray();
      w.Key("alertConditionNames");
      w.BeginArray();
      w.String("search-api latency p95");
      w.EndArray();
      w.Key("createdAt");
      w.Int(t0 + 2 * kMin);
      w.Key("updatedAt");
      w.Int(t);
      w.Key("accountId");
      w.Int(1234567);
      w.EndObject();
      msgs_.push_back(Message{"alerts.newrelic", t, "3f2b9c1e", out});
    }
  }

  // A Datadog monitor warns on redis-cart memory: a ticket, not a page.
  void RedisWarning(int64_t t0) {
    truth_.push_back(Truth{
        "redis-cart memory warning", t0, t0 + 25 * kMin, false, {R"(['service="redis-cart"'])"}});
    for (int k = 0; k < 2; ++k) {
      int64_t t = t0 + k * 25 * kMin;
      std::string out;
      JsonWriter w(&out);
      w.BeginObject();
      w.Key("id");
      w.String(std::to_string(7000000000 + k));
      w.Key("alert_id");
      w.String("98765432");
      w.Key("alert_transition");
      w.String(k == 0 ? "Warn" : "Recovered");
      w.Key("alert_type");
      w.String(k == 0 ? "warning" : "success");
      w.Key("alert_title");
      w.String("redis-cart memory usage high");
      w.Key("title");
      w.String(k == 0 ? "[Warn] redis-cart memory usage high"
                      : "[Recovered] redis-cart memory usage high");
      w.Key("body");
      w.String("used_memory 87% of maxmemory on redis-cart-0");
      w.Key("hostname");
      w.String("redis-cart-0");
      w.Key("tags");
      w.String("service:redis-cart,env:prod,team:payments");
      w.Key("priority");
      w.String("normal");
      w.Key("last_updated");
      w.String(std::to_string(t));
      w.Key("link");
      w.String("https://app.datadoghq.eu/monitors/98765432");
      w.EndObject();
      msgs_.push_back(Message{"alerts.datadog", t, "98765432", out});
    }
  }

  // Malformed input of every kind: each must reach the dead-letter output (or, for a line
  // that is not an envelope at all, be reported), and the replay must go on.
  void Malformed(int64_t end) {
    int64_t t = kStart + 30 * kMin;
    std::string good = AlertmanagerPayload(
        {Firing({{"alertname", "Probe"}, {"severity", "info"}}, "probe", t)}, t);
    msgs_.push_back(Message{"alerts.prometheus", t, "bad", good.substr(0, good.size() / 2)});
    msgs_.push_back(Message{"alerts.prometheus", t + 1, "bad", ""});
    msgs_.push_back(Message{"alerts.prometheus", t + 2, "bad",
                            R"({"version":"4","alerts":[{"status":"firing","labels":"oops"}]})"});
    msgs_.push_back(Message{"logs.app", t + 3, "bad",
                            "{\"@timestamp\":\"2026-11-23T00:30:00Z\",\"service.name\":\"web\","
                            "\"message\":\"bad \xff\xfe bytes\",\"log.level\":\"error\"}"});
    msgs_.push_back(
        Message{"logs.app", t + 4, "bad", R"({"log.level":"error","message":"no service"})"});
    msgs_.push_back(Message{"logs.app", t + 5, "", "this line is not an envelope", true});
    msgs_.push_back(Message{"alerts.unknown", t + 6, "bad", R"({"hello":"world"})"});
    (void)end;
  }

  Rng rng_;
  int scale_;
  int hours_;
  std::vector<Message> msgs_;
  std::vector<Truth> truth_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  uint64_t seed = 42;
  int scale = 1, hours = 4;
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
    } else if (a == "--hours") {
      hours = std::max(4, std::atoi(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: ng-gen-estate --out DIR [--seed N] [--scale N] [--hours H>=4]\n");
      return 2;
    }
  }
  if (out_dir.empty()) {
    std::fprintf(stderr, "usage: ng-gen-estate --out DIR [--seed N] [--scale N] [--hours H>=4]\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "ng-gen-estate: cannot create %s: %s\n", out_dir.c_str(),
                 ec.message().c_str());
    return 3;
  }
  Estate_ estate(seed, scale, hours);
  estate.Generate();
  auto& msgs = estate.messages();
  std::stable_sort(msgs.begin(), msgs.end(),
                   [](const Message& a, const Message& b) { return a.ts < b.ts; });
  std::map<std::string, FILE*> files;
  std::map<std::pair<std::string, int>, int64_t> offsets;
  std::map<std::string, size_t> counts;
  std::string line;
  for (const Message& m : msgs) {
    std::string file_topic = m.topic == "alerts.unknown" ? "alerts.prometheus" : m.topic;
    FILE*& f = files[file_topic];
    if (f == nullptr) {
      std::string path = out_dir + "/" + file_topic + ".jsonl";
      f = std::fopen(path.c_str(), "wb");
      if (f == nullptr) {
        std::fprintf(stderr, "ng-gen-estate: cannot write %s\n", path.c_str());
        return 3;
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
    std::printf("%s/%s.jsonl: %zu lines\n", out_dir.c_str(), topic.c_str(), counts[topic]);
  }
  std::string truth_path = out_dir + "/incidents.yaml";
  FILE* tf = std::fopen(truth_path.c_str(), "wb");
  if (tf == nullptr) {
    std::fprintf(stderr, "ng-gen-estate: cannot write %s\n", truth_path.c_str());
    return 3;
  }
  std::fprintf(tf, "# The incidents ng-gen-estate made (seed %llu), for noisegate backtest.\n",
               static_cast<unsigned long long>(seed));
  std::fprintf(tf, "incidents:\n");
  for (const Truth& t : estate.truth()) {
    std::fprintf(tf, "  - name: %s\n    start: %s\n    end: %s\n    route: %s\n    match:\n",
                 t.name.c_str(), FormatRfc3339(EventTime{t.start}).c_str(),
                 FormatRfc3339(EventTime{t.end}).c_str(), t.page ? "page" : "ticket");
    for (const std::string& m : t.match) std::fprintf(tf, "      - %s\n", m.c_str());
  }
  std::fclose(tf);
  std::printf("%s: %zu incidents\n", truth_path.c_str(), estate.truth().size());
  return 0;
}
