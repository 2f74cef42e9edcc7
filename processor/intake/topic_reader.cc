#include "processor/intake/topic_reader.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

namespace noisegate::processor {

bool ReadTopics(const std::map<std::string, std::string>& kafka,
                const std::vector<std::string>& topics, std::optional<int64_t> since_ms,
                int timeout_ms, const std::function<void(const rd_kafka_message_t&)>& fn,
                std::string* error, bool missing_empty) {
  // One deadline for the whole read: each request to the broker gets what is left of it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left_ms = [&deadline] {
    return static_cast<int>(std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now())
               .count()));
  };
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> props = kafka;
  props["group.id"] = "noisegate-api-reader";  // (assigned, never joined or committed)
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["enable.partition.eof"] = "true";
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      *error = "kafka property " + k + ": " + err;
      rd_kafka_conf_destroy(conf);
      return false;
    }
  }
  // A reader per request: its errors come back as the answer's reason; librdkafka's own log
  // lines (a warning per producer-only property, a broker away) would repeat on every request.
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)), [](rd_kafka_t* k) {
        rd_kafka_consumer_close(k);
        rd_kafka_destroy(k);
      });
  if (!rk) {
    *error = err;
    return false;
  }
  using List =
      std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>;
  List assign(rd_kafka_topic_partition_list_new(16), rd_kafka_topic_partition_list_destroy);
  // Per partition read, the offset it ends at now.
  std::map<std::pair<std::string, int32_t>, int64_t> end, begin;
  for (const std::string& topic : topics) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 0, t, &md, left_ms());
    rd_kafka_topic_destroy(t);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *error = "cannot read the metadata of " + topic + ": " + rd_kafka_err2str(e);
      return false;
    }
    int partitions = 0;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        partitions = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
    if (partitions == 0) {
      if (missing_empty) continue;
      *error = "topic " + topic + " does not exist";
      return false;
    }
    for (int32_t p = 0; p < partitions; ++p) {
      int64_t lo = 0, hi = 0;
      e = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, left_ms());
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = "cannot read where " + topic + " ends: " + rd_kafka_err2str(e);
        return false;
      }
      if (hi <= lo) continue;
      end[{topic, p}] = hi;
      begin[{topic, p}] = lo;
      rd_kafka_topic_partition_list_add(assign.get(), topic.c_str(), p)->offset =
          since_ms ? *since_ms : lo;
    }
  }
  // Partitions whose first offset at `since_ms` is not known: a broker answers none (-1) when
  // every message is older, and librdkafka's mock cluster answers none for any time. Their
  // last message is read first: if it is older, there is nothing to read; else the partition is
  // read from its beginning, messages older than `since_ms` skipped. (The last few, so that a
  // transaction's marker at its end does not hide the last message.)
  struct Probe {
    int64_t from = 0;          // where to read from if anything is new enough
    int64_t newest = -1;       // the newest timestamp of the last messages
    int64_t last_offset = -1;  // and the last of their offsets: where reading them again ends
  };
  std::map<std::pair<std::string, int32_t>, Probe> probing;
  constexpr int64_t kProbed = 16;
  if (since_ms && assign->cnt > 0) {
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk.get(), assign.get(), left_ms());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *error = std::string("cannot find offsets by time: ") + rd_kafka_err2str(e);
      return false;
    }
    for (int i = 0; i < assign->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = assign->elems[i];
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = std::string("cannot find offsets by time in ") + tp.topic + ": " +
                 rd_kafka_err2str(tp.err);
        return false;
      }
      const int64_t hi = end[{tp.topic, tp.partition}];
      if (tp.offset < 0) {
        const int64_t lo = begin[{tp.topic, tp.partition}];
        probing[{tp.topic, tp.partition}].from = lo;
        tp.offset = std::max(lo, hi - kProbed);
      }
    }
  }
  if (end.empty()) return true;
  if (rd_kafka_resp_err_t e = rd_kafka_assign(rk.get(), assign.get());
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = std::string("cannot assign the partitions: ") + rd_kafka_err2str(e);
    return false;
  }

  while (!end.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      *error = "timed out reading " + end.begin()->first.first;
      return false;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        m, rd_kafka_message_destroy);
    auto it = m->rkt != nullptr ? end.find({rd_kafka_topic_name(m->rkt), m->partition}) : end.end();
    auto probe = it != end.end() ? probing.find(it->first) : probing.end();
    const bool at_end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && !at_end) {
      *error = std::string("reading ") + (m->rkt ? rd_kafka_topic_name(m->rkt) : "a topic") + ": " +
               rd_kafka_message_errstr(m);
      return false;
    }
    rd_kafka_timestamp_type_t tstype;
    const int64_t ts = at_end ? -1 : rd_kafka_message_timestamp(m, &tstype);
    if (probe != probing.end()) {
      probe->second.newest = std::max(probe->second.newest, ts);
      if (!at_end) {
        probe->second.last_offset = m->offset;
        continue;
      }
      const Probe done = probe->second;
      probing.erase(probe);
      if (done.newest < *since_ms) {
        end.erase(it);  // its newest messages are older: nothing to read
        continue;
      }
      // Read again up to the last message the probe saw: after a seek no second end of the
      // partition is reported, and a transaction's marker may follow it.
      it->second = done.last_offset + 1;
      List seek(rd_kafka_topic_partition_list_new(1), rd_kafka_topic_partition_list_destroy);
      rd_kafka_topic_partition_list_add(seek.get(), it->first.first.c_str(), it->first.second)
          ->offset = done.from;
      rd_kafka_error_t* serr = rd_kafka_seek_partitions(rk.get(), seek.get(), left_ms());
      if (serr != nullptr || seek->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = "cannot seek in " + it->first.first + ": " +
                 (serr ? rd_kafka_error_string(serr) : rd_kafka_err2str(seek->elems[0].err));
        if (serr) rd_kafka_error_destroy(serr);
        return false;
      }
      continue;
    }
    if (at_end) {
      if (it != end.end()) end.erase(it);
      continue;
    }
    if (it == end.end()) continue;  // (past its end: written after the read began)
    if (m->offset + 1 >= it->second) end.erase(it);
    if (since_ms && ts >= 0 && ts < *since_ms) continue;
    fn(*m);
  }
  return true;
}

}  // namespace noisegate::processor
