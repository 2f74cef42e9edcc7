#include "processor/kafka/offset_metadata.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace noisegate::processor::live_internal {

namespace {

constexpr std::string_view kPrefix = "noisegate";

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

std::string FormatInputResume(const InputResume& r) {
  std::string text(kPrefix);
  auto field = [&text](const char* name, const std::optional<int64_t>& v) {
    if (!v) return;
    text += ' ';
    text += name;
    text += '=';
    text += std::to_string(*v);
  };
  field("channel_time", r.channel_time);
  field("last_ts", r.last_ts);
  field("ingested", r.ingested);
  return text;
}

InputResume ParseInputResume(std::string_view metadata) {
  InputResume r;
  if (metadata.substr(0, kPrefix.size()) != kPrefix) return r;
  std::string_view rest = metadata.substr(kPrefix.size());
  while (!rest.empty()) {
    if (rest.front() != ' ') return InputResume{};
    rest.remove_prefix(1);
    const size_t end = std::min(rest.find(' '), rest.size());
    std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) return InputResume{};
    std::string_view name = field.substr(0, eq), digits = field.substr(eq + 1);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return InputResume{};
    if (name == "channel_time") {
      r.channel_time = v;
    } else if (name == "last_ts") {
      r.last_ts = v;
    } else if (name == "ingested") {
      r.ingested = v;
    }  // (a field of a newer noisegate: skipped)
  }
  return r;
}

OffsetsToSend::OffsetsToSend() : list_(rd_kafka_topic_partition_list_new(8)) {}
OffsetsToSend::~OffsetsToSend() { rd_kafka_topic_partition_list_destroy(list_); }

void OffsetsToSend::Add(const std::string& topic, int32_t partition, int64_t offset,
                        const std::optional<InputResume>& resume) {
  rd_kafka_topic_partition_t* tp =
      rd_kafka_topic_partition_list_add(list_, topic.c_str(), partition);
  tp->offset = offset;
  if (resume) {
    // (The list frees it with free().)
    const std::string text = FormatInputResume(*resume);
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

RdKafka::ErrorCode FetchCommittedResumes(RdKafka::KafkaConsumer* consumer,
                                         const std::vector<RdKafka::TopicPartition*>& parts,
                                         std::vector<InputResume>* resumes, int timeout_ms) {
  resumes->assign(parts.size(), InputResume{});
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
        (*resumes)[i] = ParseInputResume(
            std::string_view(static_cast<const char*>(tp->metadata), tp->metadata_size));
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return static_cast<RdKafka::ErrorCode>(err);
}

}  // namespace noisegate::processor::live_internal
