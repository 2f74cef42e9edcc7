#include "processor/kafka/offset_metadata.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace noisegate::processor::live_internal {

namespace {

constexpr std::string_view kPrefix = "noisegate channel_time=";

// An RdKafka::Error over a C error (RdKafka::Error::create cannot say retriable or fatal).
class CError : public RdKafka::Error {
 public:
  explicit CError(rd_kafka_error_t* e) : e_(e) {}
  ~CError() override { rd_kafka_error_destroy(e_); }
  RdKafka::ErrorCode code() const override {
    return static_cast<RdKafka::ErrorCode>(rd_kafka_error_code(e_));
  }
  std::string name() const override { return rd_kafka_error_name(e_); }
  std::string str() const override { return rd_kafka_error_string(e_); }
  bool is_fatal() const override { return rd_kafka_error_is_fatal(e_) != 0; }
  bool is_retriable() const override { return rd_kafka_error_is_retriable(e_) != 0; }
  bool txn_requires_abort() const override { return rd_kafka_error_txn_requires_abort(e_) != 0; }

 private:
  rd_kafka_error_t* e_;
};

}  // namespace

std::string FormatChannelTime(int64_t ms) { return std::string(kPrefix) + std::to_string(ms); }

std::optional<int64_t> ParseChannelTime(std::string_view metadata) {
  if (metadata.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view digits = metadata.substr(kPrefix.size());
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return ms;
}

OffsetsToSend::OffsetsToSend() : list_(rd_kafka_topic_partition_list_new(8)) {}
OffsetsToSend::~OffsetsToSend() { rd_kafka_topic_partition_list_destroy(list_); }

void OffsetsToSend::Add(const std::string& topic, int32_t partition, int64_t offset,
                        std::optional<int64_t> channel_time) {
  rd_kafka_topic_partition_t* tp =
      rd_kafka_topic_partition_list_add(list_, topic.c_str(), partition);
  tp->offset = offset;
  if (channel_time) {
    // (The list frees it with free().)
    const std::string text = FormatChannelTime(*channel_time);
    tp->metadata = std::malloc(text.size());
    std::memcpy(tp->metadata, text.data(), text.size());
    tp->metadata_size = text.size();
  }
}

RdKafka::Error* OffsetsToSend::Send(RdKafka::Producer* producer, RdKafka::KafkaConsumer* consumer,
                                    int timeout_ms) {
  rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer->c_ptr());
  if (group == nullptr) {  // (the consumer is closing)
    return new CError(rd_kafka_error_new(RD_KAFKA_RESP_ERR__STATE, "no consumer group metadata"));
  }
  rd_kafka_error_t* e =
      rd_kafka_send_offsets_to_transaction(producer->c_ptr(), list_, group, timeout_ms);
  rd_kafka_consumer_group_metadata_destroy(group);
  return e == nullptr ? nullptr : new CError(e);
}

RdKafka::ErrorCode FetchCommittedTimes(RdKafka::KafkaConsumer* consumer,
                                       const std::vector<RdKafka::TopicPartition*>& parts,
                                       std::vector<std::optional<int64_t>>* channel_times,
                                       int timeout_ms) {
  channel_times->assign(parts.size(), std::nullopt);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
  for (const RdKafka::TopicPartition* p : parts) {
    rd_kafka_topic_partition_list_add(list, p->topic().c_str(), p->partition());
  }
  rd_kafka_resp_err_t err = rd_kafka_committed(consumer->c_ptr(), list, timeout_ms);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (size_t i = 0; i < parts.size(); ++i) {
      const rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_find(
          list, parts[i]->topic().c_str(), parts[i]->partition());
      if (tp == nullptr || tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = tp == nullptr ? RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION : tp->err;
        break;
      }
      parts[i]->set_offset(tp->offset);
      if (tp->metadata != nullptr) {
        (*channel_times)[i] = ParseChannelTime(
            std::string_view(static_cast<const char*>(tp->metadata), tp->metadata_size));
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return static_cast<RdKafka::ErrorCode>(err);
}

}  // namespace noisegate::processor::live_internal
