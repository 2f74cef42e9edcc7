// The sample estate (the README's demo, the golden replay test and the benchmarks): six
// services with steady benign errors, flapping and staging noise, heartbeat alerts, six
// incidents on a fixed schedule, and malformed messages. The rules in examples/rules.yaml were
// written for it.
#include "tools/estate/sample_estate.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "dedup/types.h"
#include "processor/output/json_writer.h"

namespace noisegate::estate {
namespace {

using processor::JsonWriter;

std::vector<Service> SampleServices() {
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

class Sample : public Builder {
 public:
  Sample(uint64_t seed, int scale, int hours) : Builder(seed), scale_(scale), hours_(hours) {}

  void Generate() {
    const auto services = SampleServices();
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
    HostInfoAlerts("10.1.", scale_ * 4, end);
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

 private:
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
    std::string good =
        AlertmanagerPayload({Firing({{"alertname", "Probe"}, {"severity", "info"}}, "probe", t)});
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

  int scale_;
  int hours_;
};

}  // namespace

void SampleEstate(uint64_t seed, int scale, int hours, std::vector<Message>* msgs,
                  std::vector<Truth>* truth) {
  Sample estate(seed, scale, hours);
  estate.Generate();
  *msgs = std::move(estate.messages());
  *truth = std::move(estate.truth());
}

}  // namespace noisegate::estate
