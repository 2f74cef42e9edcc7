// Throughput of the record path on one core, measured in one run so the ratios are fair:
//   BM_SimdjsonOnly       simdjson On-Demand alone over the same fields (the floor)
//   BM_ParseOnly          simdjson decode of Alertmanager webhook messages (one alert each)
//   BM_ParseFingerprint   decode + canonical key + XXH3
//   BM_FullEngine         decode + engine (dedup, topology, policy) on the example rules
//   BM_Grouped*           the same alerts, ten to a webhook, as Alertmanager groups them
//                         (BM_GroupedSimdjsonOnly is their floor)
//   BM_MixFullEngine      the same over a realistic mix of alerts and JSON error logs
//   BM_BytesPerFingerprint  heap bytes per active fingerprint (reported as a counter)
//   BM_CheckpointRoundTrip  checkpoint size, write and load time for 1M active fingerprints
// Run: ./build/bench/engine_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "dedup/engine.h"
#include "dedup/fingerprint.h"
#include "processor/decode/decoder.h"
#include "rules/loader.h"

namespace noisegate {
// Counts heap allocations, to show that the steady state allocates nothing per record.
std::atomic<uint64_t> g_allocations{0};
}  // namespace noisegate

void* operator new(std::size_t n) {
  noisegate::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace noisegate {
namespace {

constexpr int kActiveAlerts = 10000;

// One alert as Alertmanager's webhook carries it, shaped like a kube-prometheus alert (~830
// bytes).
std::string AlertObject(int i) {
  std::string n = std::to_string(i);
  std::string svc = i % 3 == 0 ? "checkout-api" : i % 3 == 1 ? "search-api" : "payments-api";
  return R"({"status":"firing","labels":{"alertname":"KubePodCrashLooping","cluster":"prod-eu-1","container":"app","instance":"10.2.)" +
         std::to_string(i / 250) + "." + std::to_string(i % 250) +
         R"(:8080","job":"kube-state-metrics","namespace":"prod","pod":")" + svc + "-7d9f8b-" + n +
         R"(","prometheus":"monitoring/k8s","service":")" + svc +
         R"(","severity":"warning"},"annotations":{"description":"Pod prod/)" + svc + "-7d9f8b-" +
         n +
         R"( (app) is in waiting state (reason: CrashLoopBackOff).","runbook_url":"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping","summary":"Pod is crash looping."},"startsAt":"2026-11-23T00:00:00.000Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.monitoring:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%5B5m%5D%29+%3E%3D+1","fingerprint":"a1b2c3d4e5f60718"})";
}

// An Alertmanager webhook message (version 4) holding alerts [first, first + count).
std::string Webhook(int first, int count) {
  std::string alerts;
  for (int i = first; i < first + count; ++i) {
    if (!alerts.empty()) alerts += ',';
    alerts += AlertObject(i);
  }
  return R"({"receiver":"noisegate","status":"firing","alerts":[)" + alerts +
         R"(],"groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager.monitoring:9093","version":"4","groupKey":"{}:{alertname=\"KubePodCrashLooping\"}","truncatedAlerts":0})";
}

// One alert per webhook (~1015 bytes): the worst case, every alert pays for an envelope.
std::string AlertMessage(int i) { return Webhook(i, 1); }

std::string LogMessage(int i) {
  const char* svc[] = {"checkout-api", "search-api", "payments-api", "web-frontend"};
  return R"({"@timestamp":"2026-11-23T00:00:00.000Z","log.level":"error","service.name":")" +
         std::string(svc[i % 4]) + R"(","service.version":"1.2.3","message":"timeout after )" +
         std::to_string(1000 + i % 5000) + R"(ms calling inventory for order )" +
         std::to_string(100000 + i) +
         R"(","error.type":"TimeoutException","trace.id":"4bf92f3577b34da6a3ce929d0e0e4736","host.name":"node-2","kubernetes.pod.name":"api-7d9f8b-2","kubernetes.node.name":"node-2"})";
}

class NullSink : public dedup::Sink {
 public:
  void OnDecision(const dedup::DecisionEvent& e) override { benchmark::DoNotOptimize(e.decision); }
  void OnNotification(const dedup::Notification& n) override { ++notifications; }
  uint64_t notifications = 0;
};

std::shared_ptr<const rules::CompiledRules> ExampleRules() {
  auto r = rules::LoadRulesFile(std::string(NG_SOURCE_DIR) + "/examples/rules.yaml");
  if (!r.rules) std::abort();
  return r.rules;
}

struct Corpus {
  std::vector<std::string> messages;
  std::vector<int> input;  // rules input index per message
};

Corpus Alerts() {
  Corpus c;
  for (int i = 0; i < kActiveAlerts; ++i) {
    c.messages.push_back(AlertMessage(i));
    c.input.push_back(0);
  }
  return c;
}

// Webhooks of 10 alerts each, as Alertmanager sends a group that fires together.
constexpr int kGroupSize = 10;
Corpus GroupedAlerts() {
  Corpus c;
  for (int i = 0; i < kActiveAlerts; i += kGroupSize) {
    c.messages.push_back(Webhook(i, kGroupSize));
    c.input.push_back(0);
  }
  return c;
}

// 60% logs, 40% alerts: roughly what a busy estate sends.
Corpus Mix() {
  Corpus c;
  for (int i = 0; i < 2 * kActiveAlerts; ++i) {
    if (i % 5 < 3) {
      c.messages.push_back(LogMessage(i));
      c.input.push_back(3);
    } else {
      c.messages.push_back(AlertMessage(i));
      c.input.push_back(0);
    }
  }
  return c;
}

// Messages reach a decoder the way a Kafka consumer hands them over: a fetch of a few hundred
// messages that has just landed in memory. Filling the fetch is not timed (in production the
// network stack does it), so the decoders read warm bytes, as they do live and in replay,
// where the dump line was just read. Decoding straight out of a 10 MB corpus instead would
// time cache misses that no production path has.
constexpr size_t kFetchMessages = 256;
constexpr size_t kFetchBytes = 256 << 10;

class Fetch {
 public:
  // Copies messages from number `first` of `corpus` on (wrapping around): kFetchMessages, or
  // fewer when they pass kFetchBytes.
  void Fill(const Corpus& corpus, size_t first) {
    bytes_.clear();
    spans_.clear();
    index_.clear();
    for (size_t k = 0; k < kFetchMessages && bytes_.size() < kFetchBytes; ++k) {
      const size_t m = (first + k) % corpus.messages.size();
      spans_.emplace_back(bytes_.size(), corpus.messages[m].size());
      bytes_ += corpus.messages[m];
      index_.push_back(m);
    }
  }
  size_t size() const { return spans_.size(); }
  std::string_view message(size_t k) const {
    return std::string_view(bytes_).substr(spans_[k].first, spans_[k].second);
  }
  size_t corpus_index(size_t k) const { return index_[k]; }

 private:
  std::string bytes_;
  std::vector<std::pair<size_t, size_t>> spans_;
  std::vector<size_t> index_;
};

// kCheckpointed: the engine as the live driver runs it, tracking what changes and encoding the
// changed entries of its state once per fetch (a commit; live commits far less often).
enum class Stage { kParse, kFingerprint, kEngine, kCheckpointed };

void Run(benchmark::State& state, const Corpus& corpus, Stage stage) {
  auto rules = ExampleRules();
  std::vector<std::unique_ptr<processor::Decoder>> decoders;
  for (const auto& in : rules->inputs) {
    decoders.push_back(processor::MakeDecoder(in.format, processor::DecoderConfig{}));
  }
  NullSink sink;
  dedup::Engine engine(rules, &sink);
  if (stage == Stage::kCheckpointed) engine.TrackChanges(/*all=*/false);
  size_t entry_bytes = 0;
  std::string globals;
  const dedup::Engine::PutEntry put = [&entry_bytes](dedup::Engine::EntryKind, uint32_t,
                                                     std::string_view v) {
    entry_bytes += v.size();
  };
  const dedup::Engine::EraseEntry erase = [](dedup::Engine::EntryKind, uint32_t) {};
  processor::RecordBatch batch;
  std::vector<processor::DeadLetter> dead;
  dedup::KeyBuilder key;
  processor::MessageMeta meta;
  meta.topic = "bench";
  const int64_t ts = 1795392000000;
  Fetch fetch;
  size_t messages = 0, bytes = 0;
  uint64_t records = 0;
  uint64_t allocations_before = 0, records_before = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fetch.Fill(corpus, messages);
    // Warm-up: every fingerprint seen a few times, buffers grown; then count allocations.
    if (records_before == 0 && messages >= 4 * corpus.messages.size()) {
      allocations_before = g_allocations.load();
      records_before = records;
    }
    state.ResumeTiming();
    for (size_t k = 0; k < fetch.size(); ++k) {
      const std::string_view message = fetch.message(k);
      const size_t m = fetch.corpus_index(k);
      ++messages;
      bytes += message.size();
      meta.offset = static_cast<int64_t>(messages);
      meta.kafka_ts = ts + static_cast<int64_t>(messages / 100);  // 100k records per event-second
      meta.input = corpus.input[m];
      batch.Reset();
      dead.clear();
      decoders[corpus.input[m]]->Decode(message, meta, batch, dead);
      for (size_t r = 0; r < batch.size(); ++r) {
        ++records;
        if (stage == Stage::kFingerprint) {
          key.Begin(batch[r].kind);
          key.AppendLabels(batch[r].labels, {});
          benchmark::DoNotOptimize(key.Hash());
        } else {
          engine.Process(batch[r]);
        }
      }
    }
    if (stage == Stage::kCheckpointed) engine.SaveChanges(put, erase, &globals);
  }
  if (stage == Stage::kCheckpointed && records > 0) {
    state.counters["entry_bytes_per_record"] = static_cast<double>(entry_bytes) / records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  if (records_before > 0 && records > records_before) {
    state.counters["allocs_per_record"] =
        static_cast<double>(g_allocations.load() - allocations_before) /
        static_cast<double>(records - records_before);
  }
}

// The floor under any decoder, for reference: simdjson On-Demand alone, reading the fields
// the alertmanager decoder uses (labels, annotations, status, times, link) as string views
// out of the same fetches, padded the same way. It builds no records and leaves what it skips
// to On-Demand's own skip, which does not validate.
void SimdjsonOnly(benchmark::State& state, const Corpus& corpus) {
  simdjson::ondemand::parser parser;
  std::vector<char> padded(1 << 16);
  Fetch fetch;
  size_t messages = 0, bytes = 0, alerts = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fetch.Fill(corpus, messages);
    state.ResumeTiming();
    for (size_t k = 0; k < fetch.size(); ++k) {
      const std::string_view message = fetch.message(k);
      ++messages;
      bytes += message.size();
      std::memcpy(padded.data(), message.data(), message.size());
      std::memset(padded.data() + message.size(), 0, simdjson::SIMDJSON_PADDING);
      simdjson::ondemand::document doc;
      if (parser.iterate(padded.data(), message.size(), padded.size()).get(doc)) std::abort();
      simdjson::ondemand::object root;
      if (doc.get_object().get(root)) std::abort();
      for (auto field : root) {
        std::string_view key = field.unescaped_key();
        if (key != "alerts") continue;
        for (auto alert : field.value().get_array()) {
          ++alerts;
          for (auto af : alert.get_object()) {
            std::string_view k = af.unescaped_key();
            if (k == "labels" || k == "annotations") {
              for (auto l : af.value().get_object()) {
                std::string_view name = l.unescaped_key();
                std::string_view value = l.value().get_string();
                benchmark::DoNotOptimize(name);
                benchmark::DoNotOptimize(value);
              }
            } else if (k == "status" || k == "startsAt" || k == "endsAt" || k == "generatorURL") {
              std::string_view value = af.value().get_string();
              benchmark::DoNotOptimize(value);
            }
          }
        }
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(alerts));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
void BM_SimdjsonOnly(benchmark::State& s) { SimdjsonOnly(s, Alerts()); }
void BM_GroupedSimdjsonOnly(benchmark::State& s) { SimdjsonOnly(s, GroupedAlerts()); }
BENCHMARK(BM_SimdjsonOnly)->MeasureProcessCPUTime();
BENCHMARK(BM_GroupedSimdjsonOnly)->MeasureProcessCPUTime();

void BM_ParseOnly(benchmark::State& s) { Run(s, Alerts(), Stage::kParse); }
void BM_ParseFingerprint(benchmark::State& s) { Run(s, Alerts(), Stage::kFingerprint); }
void BM_FullEngine(benchmark::State& s) { Run(s, Alerts(), Stage::kEngine); }
void BM_GroupedParseOnly(benchmark::State& s) { Run(s, GroupedAlerts(), Stage::kParse); }
void BM_GroupedFullEngine(benchmark::State& s) { Run(s, GroupedAlerts(), Stage::kEngine); }
void BM_MixParseOnly(benchmark::State& s) { Run(s, Mix(), Stage::kParse); }
void BM_MixFullEngine(benchmark::State& s) { Run(s, Mix(), Stage::kEngine); }
void BM_MixCheckpointed(benchmark::State& s) { Run(s, Mix(), Stage::kCheckpointed); }
BENCHMARK(BM_ParseOnly)->MeasureProcessCPUTime();
BENCHMARK(BM_ParseFingerprint)->MeasureProcessCPUTime();
BENCHMARK(BM_FullEngine)->MeasureProcessCPUTime();
BENCHMARK(BM_GroupedParseOnly)->MeasureProcessCPUTime();
BENCHMARK(BM_GroupedFullEngine)->MeasureProcessCPUTime();
BENCHMARK(BM_MixParseOnly)->MeasureProcessCPUTime();
BENCHMARK(BM_MixFullEngine)->MeasureProcessCPUTime();
BENCHMARK(BM_MixCheckpointed)->MeasureProcessCPUTime();

// Heap bytes per active fingerprint: N distinct firing alerts held by the engine, measured
// as the growth of the allocator's in-use bytes.
void BM_BytesPerFingerprint(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto rules = ExampleRules();
  auto decoder = processor::MakeDecoder("alertmanager", processor::DecoderConfig{});
  std::vector<Record> records;
  {
    processor::RecordBatch batch;
    std::vector<processor::DeadLetter> dead;
    processor::MessageMeta meta;
    meta.topic = "bench";
    meta.input = 0;
    meta.kafka_ts = 1795392000000;
    for (int i = 0; i < n; ++i) {
      batch.Reset();
      decoder->Decode(AlertMessage(i), meta, batch, dead);
      records.push_back(batch[0]);
    }
  }
  double per_fp = 0;
  for (auto _ : state) {
    NullSink sink;
    size_t before = mallinfo2().uordblks;
    auto engine = std::make_unique<dedup::Engine>(rules, &sink);
    for (const Record& r : records) engine->Process(r);
    size_t after = mallinfo2().uordblks;
    per_fp = static_cast<double>(after - before) / n;
    benchmark::DoNotOptimize(engine.get());
  }
  state.counters["bytes_per_fingerprint"] = per_fp;
}
BENCHMARK(BM_BytesPerFingerprint)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Feeds `n` distinct firing alerts (in incidents of up to 500 members).
void LoadActiveAlerts(dedup::Engine& engine, int n) {
  auto decoder = processor::MakeDecoder("alertmanager", processor::DecoderConfig{});
  processor::RecordBatch batch;
  std::vector<processor::DeadLetter> dead;
  processor::MessageMeta meta;
  meta.topic = "bench";
  meta.input = 0;
  meta.kafka_ts = 1795392000000;
  for (int i = 0; i < n; ++i) {
    batch.Reset();
    decoder->Decode(AlertMessage(i), meta, batch, dead);
    engine.Process(batch[0]);
  }
}

// A checkpoint of N active fingerprints (firing alerts, in incidents of up to 500 members):
// its size, and how long the engine takes to write it and to load it back (what a restore
// spends besides reading the changelog). The time reported is the load.
void BM_CheckpointRoundTrip(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto rules = ExampleRules();
  NullSink sink;
  dedup::Engine engine(rules, &sink);
  LoadActiveAlerts(engine, n);
  std::string bytes;
  auto t0 = std::chrono::steady_clock::now();
  engine.SaveState(&bytes);
  double save_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (auto _ : state) {
    dedup::Engine back(rules, &sink);
    if (!back.LoadState(bytes)) state.SkipWithError("the checkpoint did not load");
    benchmark::DoNotOptimize(&back);
  }
  state.counters["checkpoint_bytes_per_fp"] = static_cast<double>(bytes.size()) / n;
  state.counters["checkpoint_mb"] = static_cast<double>(bytes.size()) / 1e6;
  state.counters["save_ms"] = save_ms;
}
BENCHMARK(BM_CheckpointRoundTrip)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

// The same N active fingerprints as per-entry checkpoints (what the live changelog holds): the
// first checkpoint, which writes every entry (save_ms), its size, and the load from entries
// that a restore does after reading them (the time reported).
void BM_EntriesRoundTrip(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto rules = ExampleRules();
  NullSink sink;
  dedup::Engine engine(rules, &sink);
  LoadActiveAlerts(engine, n);
  std::map<std::pair<dedup::Engine::EntryKind, uint32_t>, std::string> entries;
  std::string globals;
  auto t0 = std::chrono::steady_clock::now();
  engine.TrackChanges(/*all=*/true);
  engine.SaveChanges(
      [&entries](dedup::Engine::EntryKind k, uint32_t slot, std::string_view v) {
        entries[{k, slot}] = std::string(v);
      },
      [](dedup::Engine::EntryKind, uint32_t) {}, &globals);
  double save_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  size_t bytes = globals.size();
  dedup::Engine::Entries view;
  view.globals = globals;
  for (const auto& [key, v] : entries) {
    bytes += v.size();
    (key.first == dedup::Engine::EntryKind::kFingerprint ? view.fingerprints : view.incidents)
        .emplace_back(key.second, v);
  }
  for (auto _ : state) {
    dedup::Engine back(rules, &sink);
    if (!back.LoadEntries(view)) state.SkipWithError("the entries did not load");
    benchmark::DoNotOptimize(&back);
  }
  state.counters["entry_bytes_per_fp"] = static_cast<double>(bytes) / n;
  state.counters["entries"] = static_cast<double>(entries.size());
  state.counters["save_ms"] = save_ms;
}
BENCHMARK(BM_EntriesRoundTrip)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace noisegate

BENCHMARK_MAIN();
