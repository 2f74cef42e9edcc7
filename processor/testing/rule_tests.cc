// The rule test file format (documented in rules/README.md, "Testing rules"):
//
//   rules: rules.yaml              # relative to this file
//   tests:
//     - name: node outage pages once and mutes its pods
//       input:
//         - at: 0s
//           alert: {labels: {alertname: NodeNotReady, node: n1, severity: critical}}
//           expect: {decision: new, rule: node-health}
//         - at: 40s
//           alert: {labels: {...}, status: resolved, summary: "..."}
//         - at: 1m
//           log: {service: checkout-api, message: "boom", level: error}
//           repeat: 30
//           every: 1s
//         - at: 2m
//           topic: alerts.prometheus
//           payload: '{"alerts":[...]}'      # a raw message through its input's decoder
//       run_until: 30m
//       expect:
//         pages:   [{action: trigger, at: 30s, reason: open, severity: critical,
//                    summary: "...", impacted_services: [...], incident_of: 0}]
//         tickets: []
#include "processor/testing/rule_tests.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "dedup/engine.h"
#include "processor/output/render.h"
#include "processor/pipeline/pipeline.h"
#include "rules/loader.h"
#include "rules/yaml_reader.h"

namespace noisegate::processor {
namespace {

using rules::YamlReader;

// Rule tests start at a fixed, documented instant; `at` offsets are relative to it.
constexpr int64_t kTestEpoch = 1795392000000;  // 2026-11-23T00:00:00Z (a Monday)

struct InputSpec {
  int64_t at = 0;
  int repeat = 1;
  int64_t every = 0;
  Record record;                     // alert or log
  std::optional<std::string> topic;  // raw payload through a decoder
  std::string payload;
  std::optional<std::string> expect_decision, expect_rule;
  int line = 0;
};

struct EventSpec {
  std::optional<std::string> action, reason, severity, summary;
  std::optional<int64_t> at;
  std::optional<std::vector<std::string>> impacted;
  std::optional<size_t> incident_of;
  int line = 0;
};

struct TestSpec {
  std::string name;
  std::vector<InputSpec> inputs;
  int64_t run_until = -1;
  std::optional<std::vector<EventSpec>> pages, tickets;
};

struct Seen {
  std::string action, reason, severity, summary, incident;
  int64_t at;
  std::vector<std::string> impacted;
};

class Collector : public dedup::Sink {
 public:
  explicit Collector(const rules::CompiledRules& r) : rules_(r) {}
  void OnDecision(const dedup::DecisionEvent& e) override {
    last_decision = std::string(dedup::DecisionName(e.decision));
    last_rule = std::string(e.rule);
    last_incident = std::string(e.incident);
  }
  void OnNotification(const dedup::Notification& n) override {
    Seen s;
    s.action = n.action == dedup::NotifyAction::kTrigger ? "trigger" : "resolve";
    s.reason = std::string(n.reason);
    s.severity = std::string(dedup::SeverityName(n.incident->severity));
    s.summary = IncidentSummary(n, rules_);
    s.incident = n.incident->id;
    s.at = n.at.ms - kTestEpoch;
    for (int i : n.incident->impacted) s.impacted.push_back(rules_.topology.node(i).name);
    std::sort(s.impacted.begin(), s.impacted.end());  // (as pages list them)
    (n.route == rules::Action::kPage ? pages : tickets).push_back(std::move(s));
  }
  std::string last_decision, last_rule, last_incident;
  std::vector<Seen> pages, tickets;

 private:
  const rules::CompiledRules& rules_;
};

// A scripted message's dead letters decide its input's outcome; its records go to the merger.
class ScriptIngestSink : public IngestSink {
 public:
  ScriptIngestSink(Collector& out, Correlate& correlate) : out_(out), correlate_(correlate) {}
  int input = -1;
  void OnRecord(Record& r) override { correlate_.Push(r, input); }
  void OnDeadLetter(const DeadLetter&, const RawMessage&, int64_t) override {
    out_.last_decision = "dead_letter";
  }

 private:
  Collector& out_;
  Correlate& correlate_;
};

// Offsets as the test file writes them: 1h30m5s, 250ms.
std::string Ms(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out = ms < 0 ? "-" : "";
  ms = ms < 0 ? -ms : ms;
  const std::pair<int64_t, const char*> units[] = {
      {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

std::optional<EventSpec> ReadEvent(YamlReader& rd, const YAML::Node& n, const std::string& path) {
  if (!rd.CheckMap(
          n, path,
          {"action", "at", "reason", "severity", "summary", "impacted_services", "incident_of"},
          "an expected event")) {
    return std::nullopt;
  }
  EventSpec e;
  e.line = YamlReader::Pos(n).line;
  auto get = [&](std::string_view k) { return YamlReader::Get(n, k); };
  if (YamlReader::Has(get("action"))) {
    e.action = rd.Choice(get("action"), rules::JoinPath(path, "action"), "trigger or resolve",
                         {"trigger", "resolve"});
  }
  if (YamlReader::Has(get("at"))) {
    if (auto d = rd.Duration(get("at"), rules::JoinPath(path, "at"), true)) e.at = d->count();
  }
  if (YamlReader::Has(get("reason"))) {
    e.reason = rd.Choice(get("reason"), rules::JoinPath(path, "reason"), "a reason",
                         {"open", "escalation", "repeat", "resolve"});
  }
  if (YamlReader::Has(get("severity"))) {
    e.severity = rd.Choice(get("severity"), rules::JoinPath(path, "severity"), "a severity",
                           {"critical", "error", "warning", "info"});
  }
  if (YamlReader::Has(get("summary")))
    e.summary = rd.String(get("summary"), rules::JoinPath(path, "summary"));
  if (YamlReader::Has(get("impacted_services"))) {
    e.impacted =
        rd.LabelNames(get("impacted_services"), rules::JoinPath(path, "impacted_services"));
  }
  if (YamlReader::Has(get("incident_of"))) {
    if (auto v = rd.Int(get("incident_of"), rules::JoinPath(path, "incident_of"), 0, 1 << 20)) {
      e.incident_of = static_cast<size_t>(*v);
    }
  }
  return e;
}

void ReadLabels(YamlReader& rd, const YAML::Node& n, const std::string& path, LabelSet* out) {
  if (!n.IsMap()) {
    rd.Report(n, path, "expected a map of labels");
    return;
  }
  for (const auto& kv : n) {
    out->Add(kv.first.as<std::string>(""), kv.second.IsScalar() ? kv.second.Scalar() : "");
  }
  out->Canonicalize();
}

std::optional<InputSpec> ReadInput(YamlReader& rd, const YAML::Node& n, const std::string& path) {
  if (!rd.CheckMap(n, path, {"at", "alert", "log", "topic", "payload", "repeat", "every", "expect"},
                   "an input record")) {
    return std::nullopt;
  }
  InputSpec in;
  in.line = YamlReader::Pos(n).line;
  auto get = [&](std::string_view k) { return YamlReader::Get(n, k); };
  if (rd.Require(n, path, "at")) {
    if (auto d = rd.Duration(get("at"), rules::JoinPath(path, "at"), true)) in.at = d->count();
  }
  if (YamlReader::Has(get("repeat"))) {
    in.repeat = static_cast<int>(
        rd.Int(get("repeat"), rules::JoinPath(path, "repeat"), 1, 1000000).value_or(1));
  }
  if (YamlReader::Has(get("every"))) {
    if (auto d = rd.Duration(get("every"), rules::JoinPath(path, "every"), false))
      in.every = d->count();
  }
  int kinds =
      YamlReader::Has(get("alert")) + YamlReader::Has(get("log")) + YamlReader::Has(get("payload"));
  if (kinds != 1) {
    rd.Report(n, path, "an input needs exactly one of alert, log or payload (with topic)");
    return std::nullopt;
  }
  Record& r = in.record;
  r.addr.topic = "test";
  if (YamlReader::Has(get("alert"))) {
    YAML::Node a = get("alert");
    std::string ap = rules::JoinPath(path, "alert");
    if (rd.CheckMap(a, ap, {"labels", "status", "summary"}, "an alert")) {
      r.kind = SignalKind::kAlert;
      if (rd.Require(a, ap, "labels"))
        ReadLabels(rd, YamlReader::Get(a, "labels"), rules::JoinPath(ap, "labels"), &r.labels);
      if (YamlReader::Has(YamlReader::Get(a, "status"))) {
        auto st = rd.Choice(YamlReader::Get(a, "status"), rules::JoinPath(ap, "status"),
                            "firing or resolved", {"firing", "resolved"});
        if (st && *st == "resolved") r.state = AlertState::kResolved;
      }
      r.summary = std::string(r.labels.Get("alertname"));
      if (YamlReader::Has(YamlReader::Get(a, "summary"))) {
        r.summary =
            rd.String(YamlReader::Get(a, "summary"), rules::JoinPath(ap, "summary")).value_or("");
      }
    }
  } else if (YamlReader::Has(get("log"))) {
    YAML::Node l = get("log");
    std::string lp = rules::JoinPath(path, "log");
    if (rd.CheckMap(l, lp, {"service", "message", "level", "labels", "stack_trace"},
                    "a log line")) {
      r.kind = SignalKind::kLog;
      if (rd.Require(l, lp, "service")) {
        r.labels.Add(
            "service",
            rd.String(YamlReader::Get(l, "service"), rules::JoinPath(lp, "service")).value_or(""));
      }
      if (rd.Require(l, lp, "message")) {
        r.summary =
            rd.String(YamlReader::Get(l, "message"), rules::JoinPath(lp, "message")).value_or("");
      }
      std::string level = "error";
      if (YamlReader::Has(YamlReader::Get(l, "level"))) {
        level =
            rd.String(YamlReader::Get(l, "level"), rules::JoinPath(lp, "level")).value_or("error");
      }
      r.labels.Add("level", level);
      if (YamlReader::Has(YamlReader::Get(l, "stack_trace"))) {
        r.description =
            rd.String(YamlReader::Get(l, "stack_trace"), rules::JoinPath(lp, "stack_trace"))
                .value_or("");
      }
      if (YamlReader::Has(YamlReader::Get(l, "labels"))) {
        LabelSet extra;
        ReadLabels(rd, YamlReader::Get(l, "labels"), rules::JoinPath(lp, "labels"), &extra);
        for (const Label& x : extra) r.labels.Add(x.name, x.value);
      }
      r.labels.Canonicalize();
    }
  } else {
    if (rd.Require(n, path, "topic"))
      in.topic = rd.String(get("topic"), rules::JoinPath(path, "topic"));
    in.payload = rd.String(get("payload"), rules::JoinPath(path, "payload")).value_or("");
  }
  if (YamlReader::Has(get("expect"))) {
    YAML::Node e = get("expect");
    std::string ep = rules::JoinPath(path, "expect");
    if (rd.CheckMap(e, ep, {"decision", "rule"}, "an expected decision")) {
      if (YamlReader::Has(YamlReader::Get(e, "decision"))) {
        in.expect_decision =
            rd.Choice(YamlReader::Get(e, "decision"), rules::JoinPath(ep, "decision"), "a decision",
                      {"new", "grouped", "deduplicated", "resolved", "inhibited", "silenced",
                       "flapping", "below_threshold", "dropped", "dead_letter"});
      }
      if (YamlReader::Has(YamlReader::Get(e, "rule"))) {
        in.expect_rule = rd.String(YamlReader::Get(e, "rule"), rules::JoinPath(ep, "rule"));
      }
    }
  }
  return in;
}

bool CompareEvents(const std::string& what, const std::optional<std::vector<EventSpec>>& want,
                   const std::vector<Seen>& got, const std::vector<std::string>& input_incidents,
                   std::vector<std::string>* problems) {
  if (!want) return true;
  size_t before = problems->size();
  if (want->size() != got.size()) {
    problems->push_back(what + ": expected " + std::to_string(want->size()) + " events, got " +
                        std::to_string(got.size()));
  }
  for (size_t i = 0; i < std::min(want->size(), got.size()); ++i) {
    const EventSpec& w = (*want)[i];
    const Seen& g = got[i];
    std::string at = what + "[" + std::to_string(i) + "] (line " + std::to_string(w.line) + ")";
    auto check = [&](const char* field, const std::optional<std::string>& exp,
                     const std::string& val) {
      if (exp && *exp != val)
        problems->push_back(at + ": " + field + " expected \"" + *exp + "\", got \"" + val + "\"");
    };
    check("action", w.action, g.action);
    check("reason", w.reason, g.reason);
    check("severity", w.severity, g.severity);
    check("summary", w.summary, g.summary);
    if (w.at && *w.at != g.at)
      problems->push_back(at + ": at expected " + Ms(*w.at) + ", got " + Ms(g.at));
    if (w.impacted && *w.impacted != g.impacted) {
      std::string list;
      for (const auto& s : g.impacted) list += (list.empty() ? "" : ", ") + s;
      problems->push_back(at + ": impacted_services differ, got [" + list + "]");
    }
    if (w.incident_of) {
      if (*w.incident_of >= input_incidents.size()) {
        problems->push_back(at + ": incident_of names input " + std::to_string(*w.incident_of) +
                            ", which does not exist");
      } else if (input_incidents[*w.incident_of] != g.incident) {
        problems->push_back(
            at + ": dedup_key " + g.incident + " is not the incident of input " +
            std::to_string(*w.incident_of) + " (" +
            (input_incidents[*w.incident_of].empty() ? "none" : input_incidents[*w.incident_of]) +
            ")");
      }
    }
  }
  for (size_t i = want->size(); i < got.size(); ++i) {
    problems->push_back(what + ": unexpected " + got[i].action + " at " + Ms(got[i].at) + ": " +
                        got[i].summary);
  }
  return problems->size() == before;
}

void ReadTests(YamlReader& rd, const YAML::Node& root, const std::string& path, std::ostream& out,
               std::shared_ptr<const rules::CompiledRules>* compiled_out,
               std::vector<TestSpec>* tests_out, RuleTestResult* result_out);
RuleTestResult RunTests(const std::shared_ptr<const rules::CompiledRules>& compiled,
                        std::vector<TestSpec>& tests, std::ostream& out, RuleTestResult result);

}  // namespace

RuleTestResult RunRuleTests(const std::string& path, std::ostream& out) {
  RuleTestResult result;
  std::error_code size_error;
  YamlReader rd(path, std::filesystem::file_size(path, size_error));
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    out << path << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": " << e.msg << "\n";
    result.file_error = true;
    return result;
  }
  std::shared_ptr<const rules::CompiledRules> compiled;
  std::vector<TestSpec> tests;
  try {
    ReadTests(rd, root, path, out, &compiled, &tests, &result);
  } catch (const rules::WalkBudgetExceeded&) {
    result.file_error = true;
  }
  if (rd.has_errors()) {
    for (const auto& d : rd.TakeDiagnostics()) out << d.ToString() << "\n";
    result.file_error = true;
  }
  if (result.file_error) return result;
  return RunTests(compiled, tests, out, result);
}

namespace {

void ReadTests(YamlReader& rd, const YAML::Node& root, const std::string& path, std::ostream& out,
               std::shared_ptr<const rules::CompiledRules>* compiled_out,
               std::vector<TestSpec>* tests_out, RuleTestResult* result_out) {
  std::shared_ptr<const rules::CompiledRules>& compiled = *compiled_out;
  std::vector<TestSpec>& tests = *tests_out;
  RuleTestResult& result = *result_out;
  if (rd.CheckMap(root, "", {"rules", "tests"}, "a rule test file")) {
    if (rd.Require(root, "", "rules")) {
      if (auto rp = rd.String(YamlReader::Get(root, "rules"), "rules")) {
        std::filesystem::path p(*rp);
        if (p.is_relative()) p = std::filesystem::path(path).parent_path() / p;
        rules::LoadResult lr = rules::LoadRulesFile(p.string());
        for (const auto& d : lr.diagnostics) out << d.ToString() << "\n";
        compiled = lr.rules;
        if (!compiled) result.file_error = true;
      }
    }
    YAML::Node tn = YamlReader::Get(root, "tests");
    if (rd.Require(root, "", "tests") && rd.CheckList(tn, "tests", "a list of tests")) {
      for (size_t i = 0; i < tn.size(); ++i) {
        std::string tp = rules::IndexPath("tests", i);
        if (!rd.CheckMap(tn[i], tp, {"name", "input", "run_until", "expect"}, "a test")) continue;
        TestSpec t;
        t.name =
            rd.String(YamlReader::Get(tn[i], "name"), rules::JoinPath(tp, "name")).value_or(tp);
        YAML::Node in = YamlReader::Get(tn[i], "input");
        std::string ip = rules::JoinPath(tp, "input");
        if (rd.Require(tn[i], tp, "input") && rd.CheckList(in, ip, "a list of input records")) {
          for (size_t k = 0; k < in.size(); ++k) {
            if (auto spec = ReadInput(rd, in[k], rules::IndexPath(ip, k)))
              t.inputs.push_back(std::move(*spec));
          }
        }
        if (YamlReader::Has(YamlReader::Get(tn[i], "run_until"))) {
          if (auto d = rd.Duration(YamlReader::Get(tn[i], "run_until"),
                                   rules::JoinPath(tp, "run_until"), true)) {
            t.run_until = d->count();
          }
        }
        YAML::Node ex = YamlReader::Get(tn[i], "expect");
        std::string xp = rules::JoinPath(tp, "expect");
        if (YamlReader::Has(ex) && rd.CheckMap(ex, xp, {"pages", "tickets"}, "expected outputs")) {
          for (const char* which : {"pages", "tickets"}) {
            YAML::Node list = YamlReader::Get(ex, which);
            if (!YamlReader::Has(list)) continue;
            std::string lp = rules::JoinPath(xp, which);
            std::vector<EventSpec> events;
            if (list.IsNull() || (list.IsSequence() && list.size() == 0)) {
            } else if (rd.CheckList(list, lp, "a list of expected events")) {
              for (size_t k = 0; k < list.size(); ++k) {
                if (auto e = ReadEvent(rd, list[k], rules::IndexPath(lp, k))) events.push_back(*e);
              }
            }
            (std::string(which) == "pages" ? t.pages : t.tickets) = std::move(events);
          }
        }
        tests.push_back(std::move(t));
      }
    }
  }
}

RuleTestResult RunTests(const std::shared_ptr<const rules::CompiledRules>& compiled,
                        std::vector<TestSpec>& tests, std::ostream& out, RuleTestResult result) {
  for (TestSpec& t : tests) {
    Collector sink(*compiled);
    // The path replay and live take: the inputs' own decoders with their settings, then the
    // merger and the engine. The script is in time order and every message is the latest of
    // its input, so each input is caught up after each message and its records go at once.
    Correlate correlate(compiled, &sink);
    std::string decoder_error;
    Ingest ingest(*compiled, kDefaultMaxMessageBytes, &decoder_error);
    ScriptIngestSink to_correlate(sink, correlate);
    std::vector<std::string> problems;
    std::vector<std::string> input_incidents(t.inputs.size());
    // Inputs in event-time order (stable for equal times), as the drivers feed them.
    std::vector<std::pair<int64_t, std::pair<size_t, int>>> order;
    for (size_t i = 0; i < t.inputs.size(); ++i) {
      for (int k = 0; k < t.inputs[i].repeat; ++k)
        order.push_back({t.inputs[i].at + k * t.inputs[i].every, {i, k}});
    }
    std::stable_sort(order.begin(), order.end(),
                     [](auto& a, auto& b) { return a.first < b.first; });
    int64_t offset = 0;
    std::map<std::string, int64_t> channel_times;  // per topic (each is one channel here)
    for (auto& [at, ik] : order) {
      InputSpec& in = t.inputs[ik.first];
      bool last_of_entry = ik.second == in.repeat - 1;
      sink.last_decision.clear();
      sink.last_rule.clear();
      sink.last_incident.clear();
      if (in.topic) {
        const int input = compiled->FindInput(*in.topic);
        if (input < 0 || !ingest.ok()) {
          problems.push_back("input line " + std::to_string(in.line) + ": " +
                             (input < 0 ? "no input reads topic " + *in.topic : decoder_error));
          continue;
        }
        RawMessage raw;
        raw.topic = *in.topic;
        raw.offset = offset++;
        raw.ts = kTestEpoch + at;
        raw.payload = in.payload;
        to_correlate.input = input;
        auto channel = channel_times.try_emplace(*in.topic, INT64_MIN).first;
        ingest.Message(raw, kTestEpoch + at, to_correlate, &channel->second);
        correlate.merger.Mark({*in.topic, 0}, kTestEpoch + at, /*idle=*/true);
      } else {
        in.record.time = EventTime{kTestEpoch + at};
        in.record.addr.offset = offset++;
        Record r = in.record;
        correlate.Push(r, -1);  // (of no channel: it goes at once)
      }
      correlate.Release();
      if (!last_of_entry) continue;
      input_incidents[ik.first] = sink.last_incident;
      std::string where =
          "input[" + std::to_string(ik.first) + "] (line " + std::to_string(in.line) + ")";
      if (in.expect_decision && *in.expect_decision != sink.last_decision) {
        problems.push_back(where + ": decision expected " + *in.expect_decision + ", got " +
                           sink.last_decision +
                           (sink.last_rule.empty() ? "" : " (rule " + sink.last_rule + ")"));
      }
      if (in.expect_rule && *in.expect_rule != sink.last_rule) {
        problems.push_back(where + ": rule expected " + *in.expect_rule + ", got " +
                           (sink.last_rule.empty() ? "none" : sink.last_rule));
      }
    }
    // As replay ends its input: what is due at the last record's time fires; with run_until,
    // event time runs on to it and what group_wait holds back stays held (the test looks at
    // that moment); without, it is sent as if its time had come.
    correlate.End(t.run_until >= 0 ? RunOn{kTestEpoch + t.run_until, std::nullopt} : RunOn{},
                  /*finish=*/t.run_until < 0);
    CompareEvents("pages", t.pages, sink.pages, input_incidents, &problems);
    CompareEvents("tickets", t.tickets, sink.tickets, input_incidents, &problems);
    if (problems.empty()) {
      ++result.passed;
      out << "PASS " << t.name << "\n";
    } else {
      ++result.failed;
      out << "FAIL " << t.name << "\n";
      for (const auto& p : problems) out << "  " << p << "\n";
    }
  }
  out << result.passed << " passed, " << result.failed << " failed\n";
  return result;
}

}  // namespace
}  // namespace noisegate::processor
