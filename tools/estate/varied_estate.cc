// The varied estate (varied_estate.h). The catalog: 5 user-facing services, 12 internal ones
// and 8 backends (databases, caches, queues) on 9 nodes in 3 zones; user-facing services may
// call each other, and some services use a database the catalog does not list. The noise:
// steady benign errors (some services at 1/s), staging copies with bursts of their own, a
// critical probe that flaps, heartbeats, info alerts and a warning that never ends. The
// incidents, one after another with some starting together: backend outages (some whose
// errors build up slowly), database failovers named only in `Caused by:` lines, node outages,
// node partitions and zone outages whose victims blame healthy dependencies, bad deploys (a new
// version, then a new exception), and long warnings that should only ticket. About one deploy
// an hour breaks nothing.
#include "tools/estate/varied_estate.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace noisegate::estate {
namespace {

struct BackendKind {
  const char* suffix;
  const char* alertname;
  const char* port;
  const char* exporter_port;
  const char* error_type;
  const char* refused;  // the callers' message; {b} is the backend, {port} its port
};

constexpr BackendKind kKinds[] = {
    {"db", "PostgresPrimaryDown", "5432", "9187", "org.postgresql.util.PSQLException",
     "Connection to {b}:{port} refused. Check that the hostname and port are correct"},
    {"cache", "RedisDown", "6379", "9121",
     "redis.clients.jedis.exceptions.JedisConnectionException",
     "Could not get a resource from the pool ({b}:{port})"},
    {"queue", "RabbitmqNodeDown", "5672", "15692", "AmqpConnectException",
     "connection to {b}:{port} refused while publishing"},
};

struct Backend {
  std::string name;
  const BackendKind* kind;
};

struct Benign {
  const char* type;
  const char* pattern;
};

constexpr Benign kBenign[] = {
    {"TimeoutError", "render timeout after {ms}ms for session {id}"},
    {"ValidationException", "request {id} rejected: field {n} is invalid"},
    {"NotFoundException", "entity {n} not found"},
    {"RateLimitedException", "client {id} rate limited after {n} requests"},
    {"StaleReadWarning", "stale read on key {n}, retrying"},
    {"ClientAbortException", "client closed connection after {ms}ms"},
};

std::string Replace(std::string s, const std::string& what, const std::string& with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
  return s;
}

// A matcher value that is any of `names` (sorted, so the file is the same for a seed).
std::string AnyOf(std::set<std::string> names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : "|") + n;
  return out;
}

class Varied : public Builder {
 public:
  Varied(uint64_t seed, int scale, int hours) : Builder(seed), scale_(scale), hours_(hours) {}

  void Generate() {
    DrawCatalog();
    const int64_t end = kStart + hours_ * kHour;
    Noise(end);
    // Incidents after the first hour (the log baselines' warm-up), 20-35 minutes apart; after
    // one that did not, an incident starts 1-4 minutes after the one before in a quarter of
    // cases (two problems at once; a third may overlap only a long warning, which tickets).
    int64_t t = kStart + 70 * kMin;
    std::set<std::string> busy;  // what the incident before touched
    bool together = false;       // this one started with the one before
    while (t + 25 * kMin < end) {
      busy = Incident(t, busy);
      together = !together && rng_.Chance(0.25);
      t += together ? rng_.Uniform(1, 4) * kMin : rng_.Uniform(20, 35) * kMin;
    }
    // Deploys that break nothing, about one an hour: a new version is no proof of a culprit.
    for (int64_t n = rng_.Uniform(hours_ / 2 + 1, hours_ + 1); n > 0; --n) {
      const int a = static_cast<int>(rng_.Uniform(0, apps_.size() - 1));
      Release(a, kStart + rng_.Uniform(10, hours_ * 60 - 10) * kMin);
    }
    // The lines, now that every release is known: each carries its service's version then
    // (the next minor version per release, in time order).
    for (auto& releases : releases_) std::sort(releases.begin(), releases.end());
    const std::less<const Service*> before;
    for (auto& [at, line] : lines_) {
      const Service* s = line.svc;
      if (!before(s, apps_.data()) && before(s, apps_.data() + apps_.size())) {
        const auto& mine = releases_[static_cast<size_t>(s - apps_.data())];
        const auto shipped = std::upper_bound(mine.begin(), mine.end(), at) - mine.begin();
        if (shipped > 0) line.version = NextMinor(s->version, static_cast<int>(shipped));
      }
      Builder::Log(at, line);
    }
    lines_.clear();
  }

  std::string Topology() const {
    std::string out = "topology:\n  services:\n";
    for (size_t i = 0; i < apps_.size(); ++i) {
      std::string deps;
      for (int c : calls_[i]) deps += (deps.empty() ? "" : ", ") + apps_[c].name;
      for (int b : uses_[i]) deps += (deps.empty() ? "" : ", ") + backends_[b].name;
      out += "    " + apps_[i].name + ": {" + (UserFacing(i) ? "user_facing: true, " : "") +
             "depends_on: [" + deps + "]}\n";
    }
    out += "  components:\n";
    for (const Backend& b : backends_) {
      out += "    - match: ['instance=~\"" + b.name + "-.*\"']\n      component: " + b.name + "\n";
    }
    out += "  places:\n    node:\n";
    for (const auto& [node, zone] : nodes_) out += "      " + node + ": {zone: " + zone + "}\n";
    return out;
  }

 private:
  static constexpr int kUserFacing = 5, kInternal = 12, kBackends = 8, kNodes = 9;

  bool UserFacing(size_t app) const { return app < kUserFacing; }

  // A log line, written once Generate knows every release (it hides Builder::Log).
  void Log(int64_t t, const LogLine& l) { lines_.emplace_back(t, l); }

  // App `a` ships its next version at `t`: its lines from then on carry it.
  void Release(int a, int64_t t) { releases_[static_cast<size_t>(a)].push_back(t); }

  // major.minor.patch `steps` minor versions on.
  static std::string NextMinor(const std::string& version, int steps) {
    const size_t dot = version.find('.');
    const size_t dot2 = version.find('.', dot + 1);
    const int minor = std::stoi(version.substr(dot + 1, dot2 - dot - 1));
    return version.substr(0, dot + 1) + std::to_string(minor + steps) + ".0";
  }

  template <typename T>
  std::vector<T> Pick(std::vector<T> pool, size_t n) {
    for (size_t i = 0; i < pool.size(); ++i)
      std::swap(pool[i], pool[rng_.Uniform(static_cast<int64_t>(i), pool.size() - 1)]);
    pool.resize(std::min(n, pool.size()));
    return pool;
  }

  void DrawCatalog() {
    const std::vector<std::string> zones = {"eu-central-1a", "eu-central-1b", "eu-central-1c"};
    for (int i = 0; i < kNodes; ++i) {
      char name[16];
      std::snprintf(name, sizeof(name), "node-%02d", i + 1);
      nodes_.emplace_back(name, zones[i % 3]);
    }
    auto front = Pick<std::string>({"web-frontend", "mobile-gateway", "login-api", "partner-api",
                                    "admin-portal", "checkout-web", "help-center"},
                                   kUserFacing);
    auto internal = Pick<std::string>(
        {"cart", "orders", "search", "profile", "payments", "inventory", "pricing", "shipping",
         "reviews", "recommendations", "catalog", "notifications", "accounts", "loyalty", "billing",
         "media", "geo", "fraud"},
        kInternal);
    auto stores = Pick<std::string>({"orders", "users", "payments", "inventory", "catalog",
                                     "sessions", "ledger", "search", "media", "events"},
                                    kBackends);
    for (const std::string& s : stores) {
      const BackendKind* kind = &kKinds[rng_.Chance(0.5) ? 0 : (rng_.Chance(0.6) ? 1 : 2)];
      backends_.push_back(Backend{s + "-" + kind->suffix, kind});
    }
    apps_.reserve(kUserFacing + kInternal);
    for (int i = 0; i < kUserFacing + kInternal; ++i) {
      const auto& [node, zone] = nodes_[rng_.Uniform(0, kNodes - 1)];
      const Benign& benign = kBenign[rng_.Uniform(0, std::size(kBenign) - 1)];
      // One draw per statement: the order in which operands are evaluated is unspecified, and
      // a seed must give the same estate in every build.
      const int64_t major = rng_.Uniform(1, 9);
      const int64_t minor = rng_.Uniform(0, 20);
      Service s{i < kUserFacing ? front[i] : internal[i - kUserFacing] + "-api",
                node,
                zone,
                std::to_string(major) + "." + std::to_string(minor) + ".0",
                benign.type,
                benign.pattern};
      s.ns = "prod";
      s.cluster = "prod-eu";
      apps_.push_back(s);
    }
    // Who calls whom, as a graph without cycles: an app calls only apps after it.
    calls_.resize(apps_.size());
    uses_.resize(apps_.size());
    hidden_.assign(apps_.size(), -1);
    for (int i = 0; i < kUserFacing; ++i) {
      for (int k = rng_.Uniform(2, 3); k > 0; --k) {
        calls_[i].push_back(static_cast<int>(rng_.Uniform(kUserFacing, apps_.size() - 1)));
      }
      if (i + 1 < kUserFacing && rng_.Chance(0.4)) {
        calls_[i].push_back(static_cast<int>(rng_.Uniform(i + 1, kUserFacing - 1)));
      }
    }
    for (int i = kUserFacing; i < static_cast<int>(apps_.size()); ++i) {
      for (int k = rng_.Uniform(1, 2); k > 0; --k) {
        uses_[i].push_back(static_cast<int>(rng_.Uniform(0, kBackends - 1)));
      }
      if (i + 1 < static_cast<int>(apps_.size()) && rng_.Chance(0.35)) {
        calls_[i].push_back(static_cast<int>(rng_.Uniform(i + 1, apps_.size() - 1)));
      }
      if (rng_.Chance(0.3)) hidden_[i] = static_cast<int>(rng_.Uniform(0, kBackends - 1));
    }
    for (auto& c : calls_) {
      std::sort(c.begin(), c.end());
      c.erase(std::unique(c.begin(), c.end()), c.end());
    }
    for (auto& u : uses_) {
      std::sort(u.begin(), u.end());
      u.erase(std::unique(u.begin(), u.end()), u.end());
    }
    callers_.resize(apps_.size());
    releases_.resize(apps_.size());
    for (size_t i = 0; i < apps_.size(); ++i) {
      for (int c : calls_[i]) callers_[c].push_back(static_cast<int>(i));
    }
    // Every internal service serves some user: one nobody calls is called by a front end.
    for (int i = kUserFacing; i < static_cast<int>(apps_.size()); ++i) {
      if (!callers_[i].empty()) continue;
      int f = static_cast<int>(rng_.Uniform(0, kUserFacing - 1));
      calls_[f].push_back(i);
      std::sort(calls_[f].begin(), calls_[f].end());
      callers_[i].push_back(f);
    }
  }

  // Steady traffic that must never page.
  void Noise(int64_t end) {
    const int64_t period = std::max<int64_t>(50, 4000 / scale_);
    for (size_t i = 0; i < apps_.size(); ++i) {
      const Service& s = apps_[i];
      for (int64_t t = kStart + rng_.Uniform(0, period); t < end;
           t += period + rng_.Uniform(-period / 5, period / 5)) {
        Log(t, LogLine{&s, "error", Fill(s.benign, rng_), s.error_type});
      }
    }
    // Three chatty services log a benign error every second, all day.
    for (int i : Pick(Indexes(apps_.size()), 3)) {
      for (int64_t t = kStart + rng_.Uniform(0, kSec); t < end; t += kSec + rng_.Uniform(-50, 50)) {
        Log(t, LogLine{&apps_[i], "error", Fill("retrying request {id}: connection reset", rng_),
                       "ConnectionResetException"});
      }
    }
    // Staging copies of three services: the same benign errors, and a burst of their own.
    staging_.reserve(3);
    for (int i : Pick(Indexes(apps_.size()), 3)) {
      Service s = apps_[i];
      s.ns = "staging";
      s.cluster = "staging-eu";
      s.node = "stg-node-1";
      staging_.push_back(s);
    }
    for (const Service& s : staging_) {
      for (int64_t t = kStart + rng_.Uniform(0, period); t < end; t += 2 * period) {
        Log(t, LogLine{&s, "error", Fill(s.benign, rng_), s.error_type});
      }
      const int64_t burst = kStart + rng_.Uniform(70, hours_ * 60 - 20) * kMin;
      for (int64_t t = burst; t < burst + 5 * kMin; t += 100 + rng_.Uniform(0, 100)) {
        Log(t, LogLine{&s, "error", Fill("fixture {n} missing: IllegalStateException", rng_),
                       "java.lang.IllegalStateException"});
      }
    }
    for (int64_t t = kStart; t < end; t += kMin) {
      AlertMsg(t, {Firing({{"alertname", "Watchdog"}, {"severity", "none"}},
                          "Alerting pipeline heartbeat", kStart)});
      AlertMsg(t + 7 * kSec,
               {Firing({{"alertname", "KubePodCrashLooping"},
                        {"namespace", "staging"},
                        {"pod", staging_[0].name + "-canary-0"},
                        {"severity", "warning"}},
                       "Pod staging/" + staging_[0].name + "-canary-0 is crash looping", t)});
    }
    // A warning that never ends (a ticket at most) and info alerts (dropped).
    Alert overcommit = Firing(
        {{"alertname", "KubeCPUOvercommit"}, {"cluster", "prod-eu"}, {"severity", "warning"}},
        "Cluster prod-eu has overcommitted CPU requests", kStart);
    for (int64_t t = kStart + 3 * kMin; t < end; t += 5 * kMin) AlertMsg(t, {overcommit});
    HostInfoAlerts("10.2.", scale_ * 4, end);
    // A critical probe of a user-facing service that flaps for 90 minutes: up 2-4 minutes,
    // down 1-2. Nobody's incident: the service answers users between its misses.
    const Service& probed = apps_[rng_.Uniform(0, kUserFacing - 1)];
    const int64_t from = kStart + rng_.Uniform(70, hours_ * 60 - 100) * kMin;
    for (int64_t t = from; t < from + 90 * kMin;) {
      Alert a = Firing({{"alertname", "BlackboxProbeFailed"},
                        {"instance", "https://" + probed.name + ".example.com/healthz"},
                        {"service", probed.name},
                        {"severity", "critical"}},
                       "Probe of " + probed.name + " failed", t);
      AlertMsg(t, {a});
      t += rng_.Uniform(60, 120) * kSec;
      Resolve(a, t);
      AlertMsg(t, {a});
      t += rng_.Uniform(120, 240) * kSec;
    }
  }

  static std::vector<int> Indexes(size_t n) {
    std::vector<int> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int>(i);
    return out;
  }

  // Error lines of app `a` from `from` to `to`, `step` to twice that apart; `slow` makes them
  // build up over four minutes from an eighth of that rate.
  void Errors(int a, int64_t from, int64_t to, int64_t step, const std::string& pattern,
              const std::string& type, const std::string& stack = "", bool slow = false) {
    for (int64_t t = from; t < to;) {
      LogLine l{&apps_[a], "error", Fill(pattern, rng_), type};
      l.stack = stack;
      Log(t, l);
      int64_t gap = step + rng_.Uniform(0, step);
      if (slow && t - from < 4 * kMin) gap = gap * (8 - 7 * (t - from) / (4 * kMin));
      t += gap;
    }
  }

  // Callers of `apps` (and theirs, three hops at most) that log upstream errors from `from`
  // to `to`; the user-facing ones among them may fire their error-rate and SLO alerts too.
  // Returns who logged.
  std::set<int> Upstream(const std::set<int>& apps, int64_t from, int64_t to, double share,
                         std::set<int>* alerted) {
    std::set<int> logged;
    std::vector<std::pair<int, int>> todo;  // (app, hop)
    for (int a : apps) todo.emplace_back(a, 0);
    std::set<int> seen(apps);
    for (size_t k = 0; k < todo.size(); ++k) {
      auto [callee, hop] = todo[k];
      if (hop == 3) continue;
      for (int c : callers_[callee]) {
        if (!seen.insert(c).second) continue;
        todo.emplace_back(c, hop + 1);
        if (!rng_.Chance(share)) continue;
        int64_t start = from + rng_.Uniform(10, 40) * kSec * (hop + 1);
        if (start < to) logged.insert(c);  // (a far caller may start after the end: no lines)
        Errors(c, start, to, 80 * (hop + 1),
               "upstream " + apps_[callee].name + " returned 503 for request {id} after {ms}ms",
               "UpstreamUnavailable");
        if (UserFacing(c) && alerted != nullptr && rng_.Chance(0.7)) {
          alerted->insert(c);
          RepeatAlert({{"alertname", "HighErrorRate"},
                       {"service", apps_[c].name},
                       {"namespace", "prod"},
                       {"severity", "critical"}},
                      apps_[c].name + " 5xx ratio above 5%", start + 90 * kSec, to + kMin, kMin);
          if (rng_.Chance(0.5)) {
            RepeatAlert({{"alertname", "SLOBurnRateHigh"},
                         {"service", apps_[c].name},
                         {"slo", apps_[c].name + "-availability"},
                         {"severity", "warning"}},
                        apps_[c].name + " burning error budget 14x", start + 3 * kMin,
                        to + 2 * kMin, 2 * kMin);
          }
        }
      }
    }
    return logged;
  }

  // An alert sent every `every` from `from` while it fires, then resolved at `to`.
  void RepeatAlert(std::map<std::string, std::string> labels, const std::string& summary,
                   int64_t from, int64_t to, int64_t every) {
    Alert a = Firing(std::move(labels), summary, from);
    for (int64_t t = from; t < to; t += every) AlertMsg(t, {a});
    Resolve(a, to);
    AlertMsg(to, {a});
  }

  // `node` NotReady from `down` to `up`, its pods from `pods_down`: returns the apps there.
  std::set<int> NodeDown(const std::string& node, int64_t down, int64_t pods_down, int64_t up) {
    RepeatAlert({{"alertname", "NodeNotReady"}, {"node", node}, {"severity", "critical"}},
                "Node " + node + " is NotReady", down, up, kMin);
    std::set<int> there;
    for (size_t i = 0; i < apps_.size(); ++i) {
      if (apps_[i].node != node) continue;
      there.insert(static_cast<int>(i));
      const std::string pod = apps_[i].name + "-7d9f8b-" + node.substr(5);
      RepeatAlert({{"alertname", "KubePodNotReady"},
                   {"node", node},
                   {"namespace", "prod"},
                   {"pod", pod},
                   {"service", apps_[i].name},
                   {"severity", "warning"}},
                  "Pod prod/" + pod + " is not ready", pods_down, up + kMin, kMin);
    }
    return there;
  }

  // Apps in `there` time out on what they call or use, which is healthy.
  void Timeouts(const std::set<int>& there, int64_t from, int64_t to) {
    for (int a : there) {
      std::string dep = !calls_[a].empty()  ? apps_[calls_[a].front()].name
                        : !uses_[a].empty() ? backends_[uses_[a].front()].name
                                            : "auth-service";
      Errors(a, from + rng_.Uniform(5, 20) * kSec, to, 500,
             "call to " + dep + " timed out after 5000ms (request {id})", "UpstreamTimeout");
    }
  }

  std::string LogMatcher(const std::set<int>& apps, const std::set<std::string>& types) {
    std::set<std::string> names;
    for (int a : apps) names.insert(apps_[a].name);
    return "['signal=\"log\"', 'service=~\"" + AnyOf(names) + "\"', 'error_type=~\"" +
           AnyOf(types) + "\"']";
  }

  // One incident of a kind drawn at random, starting at t0 and touching nothing in `busy`
  // (a kind that finds no such place in ten draws gives way to another). Returns what it
  // touched.
  std::set<std::string> Incident(int64_t t0, const std::set<std::string>& busy) {
    // The kinds' weights, in percent, in the order of Make's cases.
    static constexpr int kWeights[] = {22, 14, 13, 13, 8, 20, 10};
    for (int kind_draw = 0; kind_draw < 10; ++kind_draw) {
      int64_t roll = rng_.Uniform(0, 99);
      int kind = 0;
      while (roll >= kWeights[kind]) roll -= kWeights[kind++];
      for (int place_draw = 0; place_draw < 10; ++place_draw) {
        std::set<std::string> touched;
        if (Make(kind, t0, busy, &touched)) return touched;
      }
    }
    return {};
  }

  bool Make(int kind, int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    switch (kind) {
      case 0:
        return BackendOutage(t0, busy, out);
      case 1:
        return Failover(t0, busy, out);
      case 2:
        return NodeOutage(t0, busy, out);
      case 3:
        return NodePartition(t0, busy, out);
      case 4:
        return ZoneOutage(t0, busy, out);
      case 5:
        return BadDeploy(t0, busy, out);
      default:
        return LongWarning(t0, busy, out);
    }
  }

  // Names of the apps in `apps` and theirs (what an incident touches).
  std::set<std::string> Names(const std::set<int>& apps) const {
    std::set<std::string> out;
    for (int a : apps) out.insert(apps_[a].name);
    return out;
  }

  static bool Free(const std::set<std::string>& busy, const std::set<std::string>& wanted) {
    for (const std::string& w : wanted) {
      if (busy.count(w) != 0) return false;
    }
    return true;
  }

  // A backend goes down: its users get refused, their callers answer 503, the user-facing
  // ones fire their alerts. The backend's own alert may come a minute after the first errors;
  // some outages build up slowly.
  bool BackendOutage(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const Backend& b = backends_[rng_.Uniform(0, kBackends - 1)];
    std::set<int> users;
    for (size_t i = 0; i < apps_.size(); ++i) {
      if (std::count(uses_[i].begin(), uses_[i].end(), &b - backends_.data())) {
        users.insert(static_cast<int>(i));
      }
    }
    *out = Names(users);
    out->insert(b.name);
    if (users.empty() || !Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(8, 20) * kMin;
    const bool slow = rng_.Chance(0.3);
    RepeatAlert({{"alertname", b.kind->alertname},
                 {"instance", b.name + "-0:" + b.kind->exporter_port},
                 {"severity", "critical"}},
                b.name + " is down", t0 + rng_.Uniform(0, 60) * kSec, t1, kMin);
    const std::string refused =
        Replace(Replace(b.kind->refused, "{b}", b.name), "{port}", b.kind->port);
    for (int u : users)
      Errors(u, t0 + rng_.Uniform(3, 15) * kSec, t1, 60, refused, b.kind->error_type, "", slow);
    std::set<int> alerted;
    std::set<int> up = Upstream(users, t0, t1, 0.8, &alerted);
    std::set<int> logged = users;
    logged.insert(up.begin(), up.end());
    std::vector<std::string> match = {
        "['instance=~\"" + b.name + "-.*\"']",
        LogMatcher(logged, {b.kind->error_type, "UpstreamUnavailable"})};
    if (!alerted.empty()) {
      match.push_back("['alertname=~\"HighErrorRate|SLOBurnRateHigh\"', 'service=~\"" +
                      AnyOf(Names(alerted)) + "\"']");
    }
    truth_.push_back(
        Truth{b.name + " outage" + (slow ? " (slow start)" : ""), t0, t1 + 3 * kMin, true, match});
    auto more = Names(up);
    out->insert(more.begin(), more.end());
    return true;
  }

  // A database fails over: its users (some of which the catalog does not list) fail with
  // errors of their own kind, and only the stack traces' `Caused by:` names the database.
  // No alert fires.
  bool Failover(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const Backend& b = backends_[rng_.Uniform(0, kBackends - 1)];
    if (std::string(b.kind->suffix) != "db") return false;
    const int index = static_cast<int>(&b - backends_.data());
    std::set<int> users;
    for (size_t i = 0; i < apps_.size(); ++i) {
      if (hidden_[i] == index || std::count(uses_[i].begin(), uses_[i].end(), index)) {
        users.insert(static_cast<int>(i));
      }
    }
    *out = Names(users);
    out->insert(b.name);
    if (users.size() < 2 || !Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(4, 8) * kMin;
    const std::string caused_by =
        "\nCaused by: org.postgresql.util.PSQLException: FATAL: terminating connection due to "
        "administrator command\n\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse"
        "(" +
        b.name + ":5432)";
    std::set<std::string> types = {"UpstreamUnavailable"};
    for (int u : users) {
      std::string type = "DataAccessResourceFailureException";
      if (rng_.Chance(0.5)) {
        std::string domain = apps_[u].name.substr(0, apps_[u].name.find('-'));
        domain[0] = static_cast<char>(std::toupper(domain[0]));
        type = domain + "LookupFailed";
      }
      types.insert(type);
      Errors(
          u, t0 + rng_.Uniform(5, 20) * kSec, t1, 100, "lookup failed for request {id}", type,
          "com.example." + type + ": lookup failed\n\tat com.example.Repository.load" + caused_by);
    }
    std::set<int> up = Upstream(users, t0, t1, 0.5, nullptr);
    std::set<int> logged = users;
    logged.insert(up.begin(), up.end());
    truth_.push_back(Truth{b.name + " failover", t0, t1 + kMin, true, {LogMatcher(logged, types)}});
    auto more = Names(up);
    out->insert(more.begin(), more.end());
    return true;
  }

  // A node goes NotReady: its pods go with it, and their callers get no answer until the
  // pods are rescheduled elsewhere.
  bool NodeOutage(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const std::string node = nodes_[rng_.Uniform(0, kNodes - 1)].first;
    std::set<int> there = AppsOn({node});
    *out = Names(there);
    out->insert(node);
    if (!Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(8, 15) * kMin;
    NodeDown(node, t0, t0 + 40 * kSec, t1);
    std::set<int> up =
        Upstream(there, t0 + 30 * kSec, t0 + rng_.Uniform(2, 4) * kMin, 0.7, nullptr);
    std::vector<std::string> match = {"['alertname=~\"NodeNotReady|KubePodNotReady\"', 'node=\"" +
                                      node + "\"']"};
    if (!up.empty()) match.push_back(LogMatcher(up, {"UpstreamUnavailable"}));
    truth_.push_back(Truth{node + " outage", t0, t1 + kMin, true, match});
    auto more = Names(up);
    out->insert(more.begin(), more.end());
    return true;
  }

  std::set<int> AppsOn(const std::set<std::string>& nodes) const {
    std::set<int> out;
    for (size_t i = 0; i < apps_.size(); ++i) {
      if (nodes.count(apps_[i].node) != 0) out.insert(static_cast<int>(i));
    }
    return out;
  }

  // A node is cut off from the network: what runs there times out on what it calls, which is
  // healthy, a minute before the node's own alert arrives.
  bool NodePartition(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const std::string node = nodes_[rng_.Uniform(0, kNodes - 1)].first;
    std::set<int> there = AppsOn({node});
    *out = Names(there);
    out->insert(node);
    if (there.empty() || !Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(5, 9) * kMin;
    Timeouts(there, t0, t1);
    NodeDown(node, t0 + 80 * kSec, t0 + 2 * kMin, t1);
    truth_.push_back(
        Truth{node + " network partition",
              t0,
              t1 + kMin,
              true,
              {LogMatcher(there, {"UpstreamTimeout"}),
               "['alertname=~\"NodeNotReady|KubePodNotReady\"', 'node=\"" + node + "\"']"}});
    return true;
  }

  // A zone is cut off: everything there times out on its (healthy) dependencies, its nodes go
  // NotReady a minute and a half later, and callers elsewhere get no answer from it.
  bool ZoneOutage(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const std::string zone = nodes_[rng_.Uniform(0, 2)].second;
    std::set<std::string> nodes;
    for (const auto& [n, z] : nodes_) {
      if (z == zone) nodes.insert(n);
    }
    std::set<int> there = AppsOn(nodes);
    *out = Names(there);
    out->insert(nodes.begin(), nodes.end());
    if (there.empty() || !Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(5, 9) * kMin;
    Timeouts(there, t0, t1);
    for (const std::string& n : nodes) {
      NodeDown(n, t0 + rng_.Uniform(80, 95) * kSec, t0 + 2 * kMin, t1);
    }
    std::map<int, int> outside;  // caller elsewhere -> the first app there it calls
    for (int a : there) {
      for (int c : callers_[a]) {
        if (there.count(c) == 0) outside.emplace(c, a);
      }
    }
    for (const auto& [c, callee] : outside) {
      Errors(c, t0 + rng_.Uniform(10, 30) * kSec, t1, 200,
             "upstream " + apps_[callee].name + " unavailable: no healthy endpoints (request {id})",
             "UpstreamUnavailable");
    }
    std::vector<std::string> match = {
        LogMatcher(there, {"UpstreamTimeout"}),
        "['alertname=~\"NodeNotReady|KubePodNotReady\"', 'node=~\"" + AnyOf(nodes) + "\"']"};
    std::set<int> callers;
    for (const auto& [c, callee] : outside) callers.insert(c);
    if (!callers.empty()) match.push_back(LogMatcher(callers, {"UpstreamUnavailable"}));
    truth_.push_back(Truth{zone + " zone outage", t0, t1 + kMin, true, match});
    auto more = Names(callers);
    out->insert(more.begin(), more.end());
    return true;
  }

  // A new version ships with a bug (every line of the app carries it from t0): a new exception
  // surges (sometimes slowly, as the rollout
  // proceeds), latency alerts warn, and callers may pass the errors on.
  bool BadDeploy(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const int a = static_cast<int>(rng_.Uniform(0, apps_.size() - 1));
    *out = {apps_[a].name};
    if (!Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(10, 20) * kMin;
    const bool slow = rng_.Chance(0.4);
    Release(a, t0);
    Errors(a, t0 + 30 * kSec, t1, 100, "NullPointerException in Handler.apply for request {id}",
           "java.lang.NullPointerException", "", slow);
    RepeatAlert({{"alertname", "HighLatency"},
                 {"service", apps_[a].name},
                 {"namespace", "prod"},
                 {"severity", "warning"}},
                apps_[a].name + " p95 latency above 2s", t0 + 2 * kMin, t1, kMin);
    std::set<int> up = Upstream({a}, t0 + kMin, t1, 0.5, nullptr);
    std::set<int> logged = up;
    logged.insert(a);
    truth_.push_back(
        Truth{apps_[a].name + " bad deploy" + (slow ? " (slow start)" : ""),
              t0,
              t1 + kMin,
              true,
              {LogMatcher(logged, {"java.lang.NullPointerException", "UpstreamUnavailable"}),
               "['alertname=\"HighLatency\"', 'service=\"" + apps_[a].name + "\"']"}});
    auto more = Names(up);
    out->insert(more.begin(), more.end());
    return true;
  }

  // A backend's disk fills slowly: a warning for most of an hour. A ticket, not a page.
  bool LongWarning(int64_t t0, const std::set<std::string>& busy, std::set<std::string>* out) {
    const Backend& b = backends_[rng_.Uniform(0, kBackends - 1)];
    *out = {b.name};
    if (!Free(busy, *out)) return false;
    const int64_t t1 = t0 + rng_.Uniform(40, 70) * kMin;
    RepeatAlert({{"alertname", "DiskSpaceLow"},
                 {"instance", b.name + "-0:9100"},
                 {"mountpoint", "/var/lib/data"},
                 {"severity", "warning"}},
                "Disk /var/lib/data on " + b.name + "-0 is 88% full", t0, t1, 5 * kMin);
    truth_.push_back(Truth{b.name + " disk filling",
                           t0,
                           t1,
                           false,
                           {"['alertname=\"DiskSpaceLow\"', 'instance=~\"" + b.name + "-.*\"']"}});
    return true;
  }

  int scale_;
  int hours_;
  std::vector<std::pair<std::string, std::string>> nodes_;  // (node, zone)
  std::vector<Backend> backends_;
  std::vector<Service> apps_;  // user-facing first; never grows after DrawCatalog
  std::vector<Service> staging_;
  std::vector<std::vector<int>> calls_, uses_, callers_;
  std::vector<int> hidden_;  // a database an app uses that the catalog does not say, or -1
  // Per app, when it shipped a version after its first.
  std::vector<std::vector<int64_t>> releases_;
  std::vector<std::pair<int64_t, LogLine>> lines_;  // (time, line), written at the end
};

}  // namespace

void VariedEstate(uint64_t seed, int scale, int hours, std::vector<Message>* msgs,
                  std::vector<Truth>* truth, std::string* topology) {
  Varied estate(seed, scale, hours);
  estate.Generate();
  *msgs = std::move(estate.messages());
  *truth = std::move(estate.truth());
  *topology = estate.Topology();
}

}  // namespace noisegate::estate
