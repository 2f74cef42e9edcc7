// InputMerger: puts the records of one correlate partition back into event-time order.
//
// A repartition partition receives records from every input partition ("channel"), written by
// whichever replicas ingest them and at their own pace: after a failover one replica may be
// an hour of event time ahead of another. The engine must see records in event-time order
// (as replay does), so the correlate stage buffers them and releases a record only when every
// channel has passed its time. Each ingest transaction writes a progress mark per channel it
// owns into every repartition partition: the time of the channel's last ingested message, and
// whether the channel is caught up (idle). A record is released once every channel that is
// not idle has a mark at or past its time. Ties break like replay's merge: input order, then
// partition, offset, index. The buffer and the marks are part of the partition's checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "dedup/codec.h"
#include "dedup/record.h"

namespace noisegate::processor {

class InputMerger {
 public:
  using ChannelKey = std::pair<std::string, int32_t>;  // input topic, partition

  // Declares a channel that must be heard from before anything passes it.
  void AddChannel(const ChannelKey& key) { channels_.try_emplace(key); }
  // A record of channel (r.addr.topic, r.addr.partition); `order` is its input's index.
  void Add(Record r, int order) {
    channels_.try_emplace(ChannelKey{r.addr.topic, r.addr.partition});
    Key k{r.time.ms, order, r.addr.partition, r.addr.offset, r.addr.index};
    buffer_.insert_or_assign(k, std::move(r));
  }
  // A progress mark: the channel has ingested everything up to `time`; `idle`: and it is
  // caught up, so it holds nobody back.
  void Mark(const ChannelKey& key, int64_t time, bool idle) {
    Channel& c = channels_[key];
    c.heard = true;
    c.time = std::max(c.time, time);
    c.idle = idle;
  }
  // Calls `process(const Record&)` for each record that may go, in order; returns how many.
  template <typename F>
  size_t Release(F&& process) {
    int64_t bound = INT64_MAX;
    for (const auto& [k, c] : channels_) {
      if (!c.heard) return 0;
      if (!c.idle) bound = std::min(bound, c.time);
    }
    size_t n = 0;
    while (!buffer_.empty() && std::get<0>(buffer_.begin()->first) <= bound) {
      process(buffer_.begin()->second);
      buffer_.erase(buffer_.begin());
      ++n;
    }
    return n;
  }
  size_t buffered() const { return buffer_.size(); }
  // Channels not yet heard from (they hold everything back).
  size_t unheard() const {
    size_t n = 0;
    for (const auto& [k, c] : channels_) n += c.heard ? 0 : 1;
    return n;
  }

  void Save(dedup::Writer& w) const {
    w.Var(channels_.size());
    for (const auto& [k, c] : channels_) {
      w.Str(k.first);
      w.SVar(k.second);
      w.SVar(c.time);
      w.Bool(c.idle);
      w.Bool(c.heard);
    }
    w.Var(buffer_.size());
    for (const auto& [k, r] : buffer_) {
      w.SVar(std::get<1>(k));
      dedup::EncodeRecord(r, w);
    }
  }
  bool Load(dedup::Reader& rd) {
    channels_.clear();
    buffer_.clear();
    uint64_t n = rd.Count(5);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      ChannelKey k;
      k.first = rd.Str();
      k.second = static_cast<int32_t>(rd.SVar());
      Channel& c = channels_[k];
      c.time = rd.SVar();
      c.idle = rd.Bool();
      c.heard = rd.Bool();
    }
    n = rd.Count(10);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      int order = static_cast<int>(rd.SVar());
      Record r;
      if (!dedup::DecodeRecord(rd, &r)) return false;
      Add(std::move(r), order);
    }
    return rd.ok();
  }

 private:
  struct Channel {
    int64_t time = INT64_MIN;
    bool idle = false;
    bool heard = false;
  };
  using Key = std::tuple<int64_t, int, int32_t, int64_t, int32_t>;
  std::map<ChannelKey, Channel> channels_;
  std::map<Key, Record> buffer_;
};

}  // namespace noisegate::processor
