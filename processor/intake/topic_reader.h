// Reading topics for an API answer: every partition from a start (its beginning, or the first
// message at or after a time) up to where it ends when the read begins, with a consumer of its
// own that joins no group and commits nothing. The silences API reads its topic so; the alert
// list reads the alert inputs of the last hour so.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace noisegate::processor {

// Calls `fn` with every message of `topics`, each partition in offset order (partitions
// interleaved as they arrive), tombstones included. `since_ms`: from the first message whose
// timestamp is at or after it; none: from the beginning. `kafka`: librdkafka properties
// (bootstrap.servers, security). False with `error` set when a topic is missing or cannot be
// read within `timeout_ms` (the whole read); `fn` may have been called for part of it then.
// `missing_empty`: a topic that does not exist (yet) reads as empty instead.
bool ReadTopics(const std::map<std::string, std::string>& kafka,
                const std::vector<std::string>& topics, std::optional<int64_t> since_ms,
                int timeout_ms, const std::function<void(const rd_kafka_message_t&)>& fn,
                std::string* error, bool missing_empty = false);

}  // namespace noisegate::processor
