// Input offsets committed with what their next owner resumes with.
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

// What an input partition resumes with, besides its offset.
struct InputResume {
  // The latest record or message time before the offset (see above).
  std::optional<int64_t> channel_time;
  // The time of the latest message before the offset: its progress mark.
  std::optional<int64_t> last_ts;
  // Messages before this offset were ingested already, their dead letters sent: with the
  // repartition hop skipped, the offset stays at the first message whose records are not all
  // released, and the messages after it are read again after a restart.
  std::optional<int64_t> ingested;
};

// The metadata text of an offset, and back (fields nullopt where it has none, or when it was
// written by something else).
std::string FormatInputResume(const InputResume& r);
InputResume ParseInputResume(std::string_view metadata);

// Offsets to send to a transaction. Owns its C objects.
class OffsetsToSend {
 public:
  OffsetsToSend();
  ~OffsetsToSend();
  OffsetsToSend(const OffsetsToSend&) = delete;
  OffsetsToSend& operator=(const OffsetsToSend&) = delete;

  // `resume`: stored in the offset's metadata when set.
  void Add(const std::string& topic, int32_t partition, int64_t offset,
           const std::optional<InputResume>& resume = std::nullopt);
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

// The committed offsets of `parts` (set on them, as KafkaConsumer::committed does) and what
// each was committed with. An error of any one partition is the call's.
RdKafka::ErrorCode FetchCommittedResumes(RdKafka::KafkaConsumer* consumer,
                                         const std::vector<RdKafka::TopicPartition*>& parts,
                                         std::vector<InputResume>* resumes, int timeout_ms);

}  // namespace noisegate::processor::live_internal
