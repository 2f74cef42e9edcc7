// Input offsets committed with the channel time they resume at.
//
// Ingest merges each input partition in its own order (Record::merge_time): a record earlier
// than the latest before it merges at that one's time. So the latest record time of a
// partition is state, and a replica that takes the partition over must resume with it, or
// the records right after the committed offset would merge differently than they did before
// the handover, and differently than in replay. It is kept where Kafka Streams keeps its
// partition time: in the metadata of the committed offset, written by the same transaction.
// librdkafka's C++ API of the version we build against carries no offset metadata, so these
// go through its C API.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace noisegate::processor::live_internal {

// The metadata text of an offset whose channel time is `ms`, and back (nullopt: none, or
// written by something else).
std::string FormatChannelTime(int64_t ms);
std::optional<int64_t> ParseChannelTime(std::string_view metadata);

// Offsets to send to a transaction. Owns its C objects.
class OffsetsToSend {
 public:
  OffsetsToSend();
  ~OffsetsToSend();
  OffsetsToSend(const OffsetsToSend&) = delete;
  OffsetsToSend& operator=(const OffsetsToSend&) = delete;

  // `channel_time`: stored in the offset's metadata when set.
  void Add(const std::string& topic, int32_t partition, int64_t offset,
           std::optional<int64_t> channel_time = std::nullopt);
  bool empty() const { return list_->cnt == 0; }
  // The first offset's topic and partition (any one will do to ask the group coordinator).
  std::string first_topic() const { return list_->elems[0].topic; }
  int32_t first_partition() const { return list_->elems[0].partition; }

  // Takes the consumer's group metadata now (as RdKafka's send_offsets_to_transaction wants it
  // at the time of the call), then sends. The returned error (null: none) answers the same
  // questions as RdKafka's own (fatal, retriable, requires abort). Safe to call again.
  RdKafka::Error* Send(RdKafka::Producer* producer, RdKafka::KafkaConsumer* consumer,
                       int timeout_ms);

 private:
  rd_kafka_topic_partition_list_t* list_;
};

// The committed offsets of `parts` (set on them, as KafkaConsumer::committed does) and the
// channel time each was committed with (nullopt where there is none). An error of any one
// partition is the call's.
RdKafka::ErrorCode FetchCommittedTimes(RdKafka::KafkaConsumer* consumer,
                                       const std::vector<RdKafka::TopicPartition*>& parts,
                                       std::vector<std::optional<int64_t>>* channel_times,
                                       int timeout_ms);

}  // namespace noisegate::processor::live_internal
