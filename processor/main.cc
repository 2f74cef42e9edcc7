// noisegate: the command line. Two drivers of one engine live behind it: `replay` (dump files,
// event-time merge) and `run` (Kafka, processor/kafka/live.cc). `check` validates rules; `test`
// runs rule unit tests. Follow a record from here into processor/replay/replay.cc and on into
// dedup/engine.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "processor/decode/message.h"
#include "processor/kafka/live.h"
#include "processor/kafka/run_config.h"
#include "processor/kafka/topics.h"
#include "processor/replay/backtest.h"
#include "processor/replay/replay.h"
#include "processor/replay/show_decoded.h"
#include "processor/testing/rule_tests.h"
#include "rules/duration.h"
#include "rules/loader.h"

namespace {

using noisegate::processor::DumpSpec;
using noisegate::processor::ReplayOptions;
using noisegate::processor::ReplaySummary;

// Exit codes (documented in README.md).
constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // rules invalid, rule tests failed, --diff found differences
constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;
constexpr int kExitFatal = 4;  // run: fatal Kafka error, or shutdown past its time limit

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }
std::atomic<bool> g_reload{false};
extern "C" void OnReloadSignal(int) { g_reload.store(true); }

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::shared_ptr<const noisegate::rules::CompiledRules> LoadOrReport(const std::string& path) {
  noisegate::rules::LoadResult r = noisegate::rules::LoadRulesFile(path);
  for (const auto& d : r.diagnostics) std::cerr << d.ToString() << "\n";
  if (!r.rules) {
    std::cerr << "noisegate: " << path << ": " << r.diagnostics.size() << " error(s)\n";
  }
  return r.rules;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "noisegate: cuts alert noise. Deduplicates and correlates alerts and error logs into "
      "user-impact incidents and decides what pages."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "noisegate " NG_VERSION);

  std::string check_rules;
  CLI::App* check = app.add_subcommand("check", "Validate a rules file (exit 0, or 1 with errors)");
  check->add_option("RULES", check_rules, "rules YAML file")->required();
  std::string check_config;
  check->add_option("--config", check_config, "also validate a run config (as for run)");

  ReplayOptions ro;
  std::string rules_path, diff_rules;
  std::vector<std::string> dump_args;
  std::vector<std::string> topic_dumps;
  bool quiet = false;
  CLI::App* replay = app.add_subcommand(
      "replay",
      "Replay captured dumps (kcat -J JSON Lines) through the rules and report what "
      "would have paged");
  replay->add_option("--rules", rules_path, "rules YAML file")->required();
  replay->add_option("--pages", ro.pages_path, "write paging events (JSON Lines) to FILE");
  replay->add_option("--tickets", ro.tickets_path, "write ticket events to FILE");
  replay->add_option("--dlq", ro.dlq_path, "write dead letters to FILE");
  replay->add_option("--explain", ro.explain_path,
                     "write one decision per input record (silences aside) to FILE");
  replay->add_flag("--envelope", ro.envelope, "wrap page/ticket lines in kcat -J envelopes");
  replay->add_flag("--explain-readable", ro.explain_readable,
                   "explain lines also carry \"name\" (alertname or log template) and "
                   "\"summary\"");
  replay->add_option("--report", ro.report_path,
                     "write a self-contained HTML report to FILE: timeline, one card per "
                     "incident with why it paged or not, search by label or fingerprint");
  replay->add_option("--topic", topic_dumps,
                     "TOPIC=FILE: a dump of bare message values of TOPIC (repeatable)");
  replay
      ->add_option("--max-message-bytes", ro.max_message_bytes,
                   "messages larger than this go to the dead-letter output")
      ->capture_default_str();
  replay->add_option("--diff", diff_rules,
                     "also replay through OTHER_RULES and show, per incident, what changed: route, "
                     "first trigger or page time, members, incidents under one rules file only "
                     "(in the report too; exit 1 when anything changed)");
  std::string until;
  replay->add_option("--until", until,
                     "TIME (RFC 3339) or +DURATION: run event time on after the last record to "
                     "here, sending what comes due (without it, what is due at the last "
                     "record's time is still sent)");
  replay->add_flag("-q,--quiet", quiet, "no summary");
  bool stats = false;
  replay->add_flag("--stats", stats,
                   "print CPU seconds, records per CPU second and peak RSS (for benchmarks; "
                   "with --diff the peak covers both replays)");
  replay->add_option("DUMP", dump_args, "dump files (kcat -J envelopes)");

  std::string incidents_path;
  CLI::App* backtest = app.add_subcommand(
      "backtest",
      "Replay captured dumps and score the rules against labelled past incidents: paged or "
      "missed, duplicate and false pages, time to page, grouping, and the records that went "
      "astray");
  backtest->add_option("--rules", rules_path, "rules YAML file")->required();
  backtest
      ->add_option("--incidents", incidents_path,
                   "labelled incidents YAML (format in rules/README.md, \"Backtesting rules\")")
      ->required();
  backtest->add_option("--topic", topic_dumps,
                       "TOPIC=FILE: a dump of bare message values of TOPIC (repeatable)");
  backtest->add_option("--until", until, "as for replay");
  backtest->add_option("--max-message-bytes", ro.max_message_bytes, "as for replay");
  backtest->add_option("DUMP", dump_args, "dump files (kcat -J envelopes)");

  std::string decode_rules, decode_topic;
  std::vector<std::string> decode_files;
  noisegate::processor::DecodeShowOptions decode_opt;
  decode_opt.max_message_bytes = noisegate::processor::kDefaultMaxMessageBytes;
  CLI::App* decode = app.add_subcommand(
      "decode",
      "Show what messages decode to under the rules: each record's labels (its own and the "
      "computed ones matchers see), severity, times, summary and link, and each dead letter "
      "with its reason");
  decode->add_option("--rules", decode_rules, "rules YAML file")->required();
  decode->add_option("--topic", decode_topic,
                     "each FILE is one message body (a webhook payload) of this input topic; "
                     "without it each FILE is a dump of kcat -J envelopes");
  decode->add_flag("--json", decode_opt.json, "one JSON object per record or dead letter");
  std::string decode_ts;
  decode->add_option("--ts", decode_ts,
                     "with --topic: the Kafka timestamp each body gets (a time like "
                     "2026-11-24T03:00:00Z; default now, as the broker would stamp it)");
  decode->add_option("--max-message-bytes", decode_opt.max_message_bytes, "as for replay");
  decode->add_option("FILE", decode_files, "files to decode (- is standard input)")->required();

  std::string tests_path;
  CLI::App* test = app.add_subcommand(
      "test",
      "Run rule unit tests: records at event times in, expected pages, tickets and "
      "decisions out (exit 0 when all pass, 1 otherwise)");
  test->add_option("TESTS", tests_path, "rule test YAML file")->required();

  std::string run_rules, run_config;
  CLI::App* run = app.add_subcommand(
      "run",
      "Run live on Kafka: input topics in, pages/tickets/dead letters out, exactly once. "
      "Without bootstrap.servers it starts an embedded in-process Kafka and prints its "
      "address.");
  run->add_option("--rules", run_rules, "rules YAML file")->required();
  run->add_option("--config", run_config,
                  "run config YAML (kafka properties, topics, timing); "
                  "NOISEGATE_KAFKA_<property> environment variables override it");

  std::string topics_config, topics_rules;
  int replication = -1;
  CLI::App* topics = app.add_subcommand(
      "topics",
      "Create the topics noisegate writes and its internal repartition and changelog topics "
      "(existing topics are left alone; exit 0 when all are in place)");
  topics->add_option("--config", topics_config, "run config YAML (as for run)");
  topics->add_option("--rules", topics_rules,
                     "rules YAML: also create the topics of its `silences` inputs (compacted)");
  topics->add_option("--replication", replication,
                     "replication factor of new topics (default: the broker's)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (check->parsed()) {
    auto rules = LoadOrReport(check_rules);
    if (!check_config.empty()) {
      auto cfg = noisegate::processor::LoadRunConfig(check_config, nullptr);
      for (const auto& d : cfg.diagnostics) std::cerr << d.ToString() << "\n";
      if (!cfg.diagnostics.empty()) return kExitInvalid;
      std::cout << check_config << ": OK (run config)\n";
    }
    if (!rules) return kExitInvalid;
    std::cout << check_rules << ": OK (" << rules->inputs.size() << " inputs, "
              << rules->correlate.size() << " correlate rules, " << rules->silences.size()
              << " silences, " << rules->inhibit.size() << " inhibit rules)\n";
    return kExitOk;
  }

  if (decode->parsed()) {
    auto rules = LoadOrReport(decode_rules);
    if (!rules) return kExitInvalid;
    if (!decode_topic.empty() && rules->FindInput(decode_topic) < 0) {
      std::cerr << "noisegate: --topic " << decode_topic << " is no input of " << decode_rules
                << "\n";
      return kExitUsage;
    }
    decode_opt.body_ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    if (!decode_ts.empty()) {
      noisegate::EventTime at;
      if (!noisegate::ParseRfc3339(decode_ts, &at)) {
        std::cerr << "noisegate: --ts takes a time like 2026-11-24T03:00:00Z, got \"" << decode_ts
                  << "\"\n";
        return kExitUsage;
      }
      decode_opt.body_ts = at.ms;
    }
    std::vector<noisegate::processor::DecodeSource> sources;
    for (const std::string& f : decode_files) {
      sources.push_back(
          {f, decode_topic.empty() ? std::nullopt : std::optional<std::string>(decode_topic)});
    }
    return noisegate::processor::ShowDecoded(*rules, sources, decode_opt, std::cout, std::cerr)
               ? kExitOk
               : kExitIo;
  }

  if (test->parsed()) {
    auto r = noisegate::processor::RunRuleTests(tests_path, std::cout);
    return r.file_error || r.failed > 0 ? kExitInvalid : kExitOk;
  }

  if (topics->parsed()) {
    auto cfg = noisegate::processor::LoadRunConfig(topics_config, environ);
    for (const auto& d : cfg.diagnostics) std::cerr << d.ToString() << "\n";
    if (!cfg.diagnostics.empty()) return kExitInvalid;
    if (cfg.config.embedded()) {
      std::cerr << "noisegate: topics needs bootstrap.servers (config or "
                   "NOISEGATE_KAFKA_BOOTSTRAP_SERVERS)\n";
      return kExitUsage;
    }
    std::vector<std::string> silences;
    if (!topics_rules.empty()) {
      auto rules = LoadOrReport(topics_rules);
      if (!rules) return kExitInvalid;
      for (const auto& in : rules->inputs) {
        if (in.format == "silences") silences.push_back(in.topic);
      }
    }
    return noisegate::processor::CreateTopics(cfg.config, replication, std::cerr, silences)
               ? kExitOk
               : kExitIo;
  }

  if (run->parsed()) {
    auto rules = LoadOrReport(run_rules);
    if (!rules) return kExitInvalid;
    auto cfg = noisegate::processor::LoadRunConfig(run_config, environ);
    for (const auto& d : cfg.diagnostics) std::cerr << d.ToString() << "\n";
    if (!cfg.diagnostics.empty()) return kExitInvalid;
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    struct sigaction hup {};
    hup.sa_handler = OnReloadSignal;
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, nullptr);  // reload the rules, as Prometheus does
    // Shutdown is bounded: past shutdown_timeout after the signal, exit anyway. Nothing is
    // lost by that: what was not committed is processed again by the next owner.
    auto limit = cfg.config.shutdown_timeout;
    std::thread([limit] {
      while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::this_thread::sleep_for(limit);
      std::cerr << "noisegate: level=error event=shutdown_timeout\n";
      std::_Exit(kExitFatal);
    }).detach();
    auto exit = noisegate::processor::RunLive(rules, cfg.config, g_stop, std::cerr, &g_reload);
    return exit == noisegate::processor::RunExit::kStopped ? kExitOk : kExitFatal;
  }

  if (replay->parsed() || backtest->parsed()) {
    auto rules = LoadOrReport(rules_path);
    if (!rules) return kExitInvalid;
    for (const std::string& td : topic_dumps) {
      size_t eq = td.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == td.size()) {
        std::cerr << "noisegate: --topic takes TOPIC=FILE, got \"" << td << "\"\n";
        return kExitUsage;
      }
      ro.dumps.push_back(DumpSpec{td.substr(eq + 1), td.substr(0, eq)});
    }
    for (const std::string& d : dump_args) ro.dumps.push_back(DumpSpec{d, std::nullopt});
    if (ro.dumps.empty()) {
      std::cerr << "noisegate: " << (replay->parsed() ? "replay" : "backtest")
                << " needs at least one dump file\n";
      return kExitUsage;
    }
    if (!until.empty()) {
      noisegate::EventTime at;
      if (until[0] == '+') {
        auto d = noisegate::rules::ParseDuration(std::string_view(until).substr(1));
        if (!d) {
          std::cerr << "noisegate: --until " << until << ": " << d.error().detail << "\n";
          return kExitUsage;
        }
        ro.until_after_ms = d->count();
      } else if (noisegate::ParseRfc3339(until, &at)) {
        ro.until_ms = at.ms;
      } else {
        std::cerr << "noisegate: --until takes a time like 2026-11-24T03:00:00Z or a duration "
                     "after the last record like +30m, got \""
                  << until << "\"\n";
        return kExitUsage;
      }
    }
    if (backtest->parsed()) {
      std::vector<noisegate::processor::LabelledIncident> labelled;
      std::vector<noisegate::rules::Diagnostic> problems;
      if (!noisegate::processor::LoadLabelledIncidents(incidents_path, &labelled, &problems)) {
        for (const auto& d : problems) std::cerr << d.ToString() << "\n";
        return kExitInvalid;
      }
      noisegate::processor::Backtest bt(std::move(labelled));
      ro.observer = &bt;
      auto result = noisegate::processor::RunReplay(rules, ro, std::cerr);
      if (!result) {
        std::cerr << "noisegate: " << result.error().detail << "\n";
        return kExitIo;
      }
      noisegate::processor::PrintBacktest(bt.Score(), std::cout);
      return kExitOk;
    }
    // --diff: the other rules' replay first, so this one's summary and report carry the
    // comparison.
    ReplaySummary other_summary;
    if (!diff_rules.empty()) {
      auto other = LoadOrReport(diff_rules);
      if (!other) return kExitInvalid;
      ReplayOptions ro2 = ro;
      ro2.pages_path = ro2.tickets_path = ro2.dlq_path = ro2.explain_path = ro2.report_path = "";
      ro2.keep_members = true;
      auto result2 = noisegate::processor::RunReplay(other, ro2, std::cerr);
      if (!result2) {
        std::cerr << "noisegate: " << result2.error().detail << "\n";
        return kExitIo;
      }
      other_summary = std::move(*result2);
      ro.keep_members = true;
      ro.compare_with = &other_summary;
      ro.name = rules_path;
      ro.compare_name = diff_rules;
    }
    ro.progress = !quiet;
    const double cpu_before = CpuSeconds();
    auto result = noisegate::processor::RunReplay(rules, ro, std::cerr);
    if (!result) {
      std::cerr << "noisegate: " << result.error().detail << "\n";
      return kExitIo;
    }
    if (!quiet) noisegate::processor::PrintSummary(*result, std::cout);
    if (stats) {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      double cpu = std::max(CpuSeconds() - cpu_before, 1e-6);
      std::cout << "stats: records=" << result->records << " cpu_seconds=" << cpu
                << " records_per_cpu_second=" << static_cast<uint64_t>(result->records / cpu)
                << " messages=" << result->messages << " messages_per_cpu_second="
                << static_cast<uint64_t>(static_cast<double>(result->messages) / cpu)
                << " peak_rss_mib=" << ru.ru_maxrss / 1024 << " peak_rss_kib=" << ru.ru_maxrss
                << "\n";
    }
    if (result->diff) {
      noisegate::processor::PrintDiff(*result->diff, std::cout);
      return result->diff->any() ? kExitInvalid : kExitOk;
    }
    return kExitOk;
  }
  return kExitUsage;
}
