// ng-load: produces captured dumps (kcat -J envelopes, as ng-gen-estate writes them) into
// Kafka with their original topic, partition, key and timestamp, merged across files in
// timestamp order, optionally at a fixed rate. Tests and benchmarks use it to feed
// `noisegate run` exactly the stream `noisegate replay` reads. Not part of the product.
#include <librdkafka/rdkafkacpp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "processor/replay/dump_reader.h"

using noisegate::processor::DumpMessage;
using noisegate::processor::DumpReader;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Reports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      if (failed <= 5) std::cerr << "ng-load: delivery failed: " << m.errstr() << "\n";
      return;
    }
    ++delivered;
    // For latency benchmarks: when sampled messages were appended (acknowledged).
    if (sample != nullptr && m.offset() % sample_every == 0) {
      *sample << m.topic_name() << '\t' << m.partition() << '\t' << m.offset() << '\t' << WallMs()
              << '\n';
    }
  }
  uint64_t delivered = 0, failed = 0;
  std::ostream* sample = nullptr;
  int64_t sample_every = 100;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ng-load: produce kcat -J dumps into Kafka with their timestamps"};
  std::string bootstrap;
  double rate = 0;
  bool keep_partition = true;
  std::vector<std::string> files;
  std::vector<std::string> props;
  int64_t skip = 0, limit = -1;
  std::string sample_path, topic_prefix;
  int64_t sample_every = 100;
  app.add_option("-b,--bootstrap", bootstrap, "bootstrap servers")->required();
  app.add_option("--rate", rate, "messages per second (0 = as fast as possible)");
  app.add_flag("!--any-partition", keep_partition,
               "let the partitioner choose instead of the envelope's partition");
  app.add_option("-X", props, "librdkafka property name=value (repeatable)");
  app.add_option("--skip", skip, "skip this many messages (in merged order) first");
  app.add_option("--limit", limit, "produce at most this many messages");
  app.add_option("--sample", sample_path,
                 "write topic, partition, offset and ack wall time (ms) of sampled messages");
  app.add_option("--sample-every", sample_every, "sample messages whose offset is a multiple");
  app.add_option("--topic-prefix", topic_prefix,
                 "prepend this to every topic (fresh topics on a broker that has the originals)");
  app.add_option("DUMP", files, "dump files")->required();
  CLI11_PARSE(app, argc, argv);

  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  Reports reports;
  std::ofstream sample_file;
  if (!sample_path.empty()) {
    sample_file.open(sample_path);
    reports.sample = &sample_file;
    reports.sample_every = std::max<int64_t>(1, sample_every);
  }
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("enable.idempotence", "true", err);
  conf->set("linger.ms", "20", err);
  conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&reports), err);
  for (const std::string& p : props) {
    size_t eq = p.find('=');
    if (eq == std::string::npos ||
        conf->set(p.substr(0, eq), p.substr(eq + 1), err) != RdKafka::Conf::CONF_OK) {
      std::cerr << "ng-load: bad property " << p << ": " << err << "\n";
      return 2;
    }
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) {
    std::cerr << "ng-load: " << err << "\n";
    return 1;
  }

  struct Source {
    std::unique_ptr<DumpReader> reader;
    DumpMessage msg;
    bool ready = false;
  };
  std::vector<Source> sources(files.size());
  std::string skipped;
  auto fill = [&](Source& s) {
    s.ready = false;
    while (s.reader->Next(&s.msg, &skipped)) {
      if (!skipped.empty()) {
        std::cerr << "ng-load: skipped " << skipped << "\n";
        continue;
      }
      s.ready = true;
      return;
    }
  };
  for (size_t i = 0; i < files.size(); ++i) {
    sources[i].reader = std::make_unique<DumpReader>(files[i], std::nullopt);
    if (!sources[i].reader->Open(&err)) {
      std::cerr << "ng-load: " << err << "\n";
      return 1;
    }
    fill(sources[i]);
  }
  auto start = std::chrono::steady_clock::now();
  int64_t n = 0, produced = 0;
  while (limit < 0 || produced < limit) {
    Source* next = nullptr;
    for (Source& s : sources) {
      if (s.ready && (next == nullptr || s.msg.ts.value_or(0) < next->msg.ts.value_or(0))) {
        next = &s;
      }
    }
    if (next == nullptr) break;
    const DumpMessage& m = next->msg;
    if (n++ >= skip) {
      if (rate > 0) {
        auto due = start + std::chrono::duration<double>(static_cast<double>(produced) / rate);
        std::this_thread::sleep_until(due);
      }
      while (true) {
        RdKafka::ErrorCode e = producer->produce(
            topic_prefix + m.topic, keep_partition ? m.partition : RdKafka::Topic::PARTITION_UA,
            RdKafka::Producer::RK_MSG_COPY,
            m.payload_null ? nullptr : const_cast<char*>(m.payload.data()),
            m.payload_null ? 0 : m.payload.size(), m.key_null ? nullptr : m.key.data(),
            m.key_null ? 0 : m.key.size(), m.ts.value_or(0), nullptr);
        if (e == RdKafka::ERR_NO_ERROR) break;
        if (e != RdKafka::ERR__QUEUE_FULL) {
          std::cerr << "ng-load: produce to " << m.topic << ": " << RdKafka::err2str(e) << "\n";
          return 1;
        }
        producer->poll(10);
      }
      ++produced;
      producer->poll(0);
    }
    fill(*next);
  }
  producer->flush(60'000);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "ng-load: produced " << produced << " messages in " << secs << " s ("
            << reports.delivered << " delivered, " << reports.failed << " failed)\n";
  return reports.failed == 0 && reports.delivered == static_cast<uint64_t>(produced) ? 0 : 1;
}
