// The live driver: `noisegate run`. One process runs both stages of the pipeline in one
// consume-transform-produce loop, inside Kafka transactions:
//   ingest:    input topics -> decode (processor/decode) -> keyed records on the repartition
//              topic, dead letters on the dead-letter topic;
//   correlate: repartition partitions -> one dedup::Engine each -> pages, tickets, explain,
//              and a checkpoint of each engine on the compacted changelog topic.
// Every transaction carries the outputs, the checkpoints and the consumer offsets together,
// so a crash anywhere neither loses nor repeats a page. Replicas share partitions through the
// consumer group; a partition's engine moves with it via the changelog.
#pragma once

#include <atomic>
#include <memory>
#include <ostream>

#include "processor/kafka/run_config.h"
#include "rules/compiled_rules.h"

namespace noisegate::processor {

// What Live::Run returns.
enum class RunExit {
  kStopped,  // asked to stop (SIGTERM/SIGINT): committed, flushed, closed
  kFatal,    // a fatal Kafka error (e.g. fenced by a newer instance) or a bad setup
};

// Runs until `stop` becomes true. Logs one line per event on `log`; never logs secrets.
// `reload_signal` (set by a SIGHUP handler; may be null) asks for a rules reload, as do
// POST /-/reload and a change of the rules file (rules->path) on disk.
RunExit RunLive(std::shared_ptr<const rules::CompiledRules> rules, const RunConfig& config,
                const std::atomic<bool>& stop, std::ostream& log,
                std::atomic<bool>* reload_signal = nullptr);

}  // namespace noisegate::processor
