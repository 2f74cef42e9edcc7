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
// partition, offset, index.
//
// A channel merges in its own order: a record earlier than one before it in its channel (two
// producers' clocks, an HTTP intake's concurrent requests) merges at that one's time
// (Record::merge_time, set by Ingest), right after it. Ordering it by its own time instead
// would make the order depend on whether both were buffered at once, that is on how a driver
// batches its reads: live and replay, or a run and its restart, would differ. The engine
// still sees the record's own time. (Kafka Streams merges partitions the same way: each in
// offset order, by the time of its head.)
//
// The marks are part of the partition's checkpoint globals; the buffered records are entries
// of their own on the changelog (see changelog.h), one per pool slot, so that a checkpoint
// writes only the records buffered or released since the last one (SaveChanges): a backlog of
// a million records costs each record one put and one tombstone, not the whole buffer on every
// commit. A record pushed as `reread` is not checkpointed at all: its driver commits its input
// offset only once it is released (Kafka Streams' way) and reads it again after a restart.
// So that a message read again does not deliver twice what was released of it, each channel
// keeps the address of the last record it released: records of a channel are released in
// their channel's order (see Record::merge_time), and one at or before that address is
// dropped when it comes again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "dedup/codec.h"
#include "dedup/record.h"

namespace noisegate::processor {

// Orders (topic, partition) pairs and finds them by (string_view, partition) without
// building a string: the key of maps over topic partitions on per-record paths.
struct TopicPartitionLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    std::string_view at = a.first, bt = b.first;
    return at != bt ? at < bt : a.second < b.second;
  }
};

// Which of two input partitions' next messages is ingested first, in live and in replay
// alike: the earlier Kafka timestamp, then the earlier input (rules order), then the lower
// partition. (The records then meet again in InputMerger, in event-time order.)
inline bool IngestsBefore(int64_t ts_a, int order_a, int32_t partition_a, int64_t ts_b, int order_b,
                          int32_t partition_b) {
  return std::tie(ts_a, order_a, partition_a) < std::tie(ts_b, order_b, partition_b);
}

class InputMerger {
 public:
  using ChannelKey = std::pair<std::string, int32_t>;  // input topic, partition

  // Declares a channel that must be heard from before anything passes it.
  void AddChannel(const ChannelKey& key) {
    if (channels_.try_emplace(key).second) bound_valid_ = false;
  }
  // Forgets the channels `keep(key)` rejects (inputs a rules reload removed): they hold
  // nothing back any more. Their buffered records stay and are released in order.
  template <typename Keep>
  void RetainChannels(Keep&& keep) {
    for (Entry& e : heap_) {
      const RecordAddress& a = pool_[e.slot].addr;
      if (e.channel != nullptr && !keep(ChannelKey{a.topic, a.partition})) e.channel = nullptr;
    }
    std::erase_if(channels_, [&](const auto& kv) { return !keep(kv.first); });
    bound_valid_ = false;
    last_ = {};
  }
  // A record storage to decode the next record into; Push() or Discard() it next. Records
  // are pooled: in the steady state a record costs no allocation here.
  // The lowest free slot is taken first, so that the slots in use (and the changelog entries
  // named after them) stay as few as the records buffered at once.
  Record& Next() {
    if (free_.empty()) {
      pending_ = static_cast<uint32_t>(pool_.size());
      pool_.emplace_back();
      if (flags_.size() < pool_.size()) flags_.resize(pool_.size(), 0);
    } else {
      std::pop_heap(free_.begin(), free_.end(), std::greater<>());
      pending_ = free_.back();
      free_.pop_back();
    }
    return pool_[pending_];
  }
  void Discard() { Free(pending_); }
  // Buffers the record from Next(); `order` is its input's index. Its channel is
  // (r.addr.topic, r.addr.partition); `declare` false: a record of a topic that is no input
  // (any more) does not make its channel one that must be heard from. `reread`: not
  // checkpointed (the driver reads it again after a restart). `drop_released`: a record its
  // channel released already (a message read again after a restart) is discarded, and false
  // returned. (Replay, which never restarts, may read a channel's offsets twice: files of
  // bare values each count from 0.)
  bool Push(int order, bool declare = true, bool reread = false, bool drop_released = false) {
    Record& r = pool_[pending_];
    // Channels are declared up front; a record of an undeclared one declares it.
    Channel* c = Find(r.addr.topic, r.addr.partition, declare);
    int64_t at = std::max(r.time.ms, r.merge_time.ms);
    if (c != nullptr) {
      if (drop_released && std::tie(r.addr.offset, r.addr.index) <=
                               std::tie(c->released_offset, c->released_index)) {
        Free(pending_);
        return false;
      }
      // A channel's records go in the order they came, whatever their times say (Ingest sees
      // to that already, unless what it knew of the channel was lost): the last one released
      // is then the latest of them, which the check above relies on.
      // (Records restored from a checkpoint come in slot order: they keep their times.)
      if (at < c->pushed_at && !restoring_) {
        at = c->pushed_at;
        r.merge_time = EventTime{at};
      }
      c->pushed_at = std::max(c->pushed_at, at);
    }
    heap_.push_back(
        Entry{Key{at, order, r.addr.partition, r.addr.offset, r.addr.index}, pending_, c});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    flags_[pending_] |= reread ? kOccupied | kReread : kOccupied;
    if (reread) ++reread_;
    Touch(pending_);
    return true;
  }
  void Add(Record r, int order) {
    Next() = std::move(r);
    Push(order);
  }
  // A progress mark: the channel has ingested everything up to `time`; `idle`: and it is
  // caught up, so it holds nobody back.
  void Mark(const ChannelKey& key, int64_t time, bool idle) {
    Channel& c = channels_[key];
    c.heard = true;
    c.time = std::max(c.time, time);
    c.idle = idle;
    bound_valid_ = false;
  }
  // Calls `process(const Record&)` for each record that may go, in order, at most `limit`
  // of them, and `reread_released(const Record&)` after it for one pushed as `reread`;
  // returns how many.
  template <typename F, typename G = void (*)(const Record&)>
  size_t Release(
      F&& process, size_t limit = SIZE_MAX, G&& reread_released = [](const Record&) {}) {
    int64_t bound = Bound();
    size_t n = 0;
    while (n < limit && !heap_.empty() && std::get<0>(heap_.front().key) <= bound) {
      const uint32_t slot = heap_.front().slot;
      Channel* c = heap_.front().channel;
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      heap_.pop_back();
      const Record& r = pool_[slot];
      if (c != nullptr &&
          std::tie(r.addr.offset, r.addr.index) > std::tie(c->released_offset, c->released_index)) {
        c->released_offset = r.addr.offset;
        c->released_index = r.addr.index;
      }
      process(r);
      if (flags_[slot] & kReread) {
        --reread_;
        reread_released(r);
      }
      Free(slot);
      flags_[slot] &= static_cast<uint8_t>(~(kOccupied | kReread));
      Touch(slot);
      ++n;
    }
    // A backlog's records go back to the allocator once it is through (the slots' changelog
    // entries are tracked apart: their tombstones are still written).
    if (heap_.empty() && pool_.size() > kKeepPooled) {
      pool_.clear();
      pool_.shrink_to_fit();
      free_.clear();
      free_.shrink_to_fit();
    }
    return n;
  }
  size_t buffered() const { return heap_.size(); }
  // Makes the records of a channel pushed as `reread` checkpointed ones (the channel will not
  // be read again); true if there were any.
  bool Persist(const ChannelKey& key) {
    bool any = false;
    for (const Entry& e : heap_) {
      const RecordAddress& a = pool_[e.slot].addr;
      if (!(flags_[e.slot] & kReread) || a.partition != key.second || a.topic != key.first)
        continue;
      flags_[e.slot] &= static_cast<uint8_t>(~kReread);
      --reread_;
      Touch(e.slot);
      any = true;
    }
    return any;
  }
  // The buffered records a checkpoint holds (not those pushed as `reread`).
  size_t persisted() const { return heap_.size() - reread_; }
  // Channels not yet heard from (they hold everything back).
  size_t unheard() const {
    size_t n = 0;
    for (const auto& [k, c] : channels_) n += c.heard ? 0 : 1;
    return n;
  }

  // Gives each buffered record its input's index under other rules (`input_of(topic)`; inputs
  // are kept by topic, so a reordered rules file reorders ties, as replay would).
  template <typename InputOf>
  void Reorder(InputOf&& input_of) {
    for (Entry& e : heap_) {
      Record& r = pool_[e.slot];
      r.input = input_of(std::string_view(r.addr.topic));
      std::get<1>(e.key) = r.input;
    }
    std::make_heap(heap_.begin(), heap_.end(), Later{});
  }

  // The checkpoint's globals part: the channels, their marks and the last record each
  // released, then the records buffered inline: none since checkpoint version 4 (they are
  // entries), all of them before. `durable_mark(key, &time)`: true when the channel is to be
  // restored to an earlier mark (`time`, busy) than it has: its driver reads records past
  // that again after a restart (see Push's `reread`).
  template <typename DurableMark>
  void SaveGlobals(dedup::Writer& w, DurableMark&& durable_mark) const {
    w.Var(channels_.size());
    for (const auto& [k, c] : channels_) {
      w.Str(k.first);
      w.SVar(k.second);
      int64_t time = c.time;
      const bool rewound = durable_mark(k, &time);
      w.SVar(time);
      w.Bool(c.idle && !rewound);
      w.Bool(c.heard);
      w.SVar(c.released_offset);
      w.SVar(c.released_index);
    }
    w.Var(0);
  }
  void SaveGlobals(dedup::Writer& w) const {
    SaveGlobals(w, [](const ChannelKey&, int64_t*) { return false; });
  }
  // Starts over from a checkpoint's globals (`released`: with each channel's last released
  // record, checkpoint version 5). `input_of(topic)` gives each record its input's index
  // under the rules loaded now (see Reorder). Records that were inline are changes: the next
  // SaveChanges writes them as entries.
  template <typename InputOf>
  bool LoadGlobals(dedup::Reader& rd, InputOf&& input_of, bool released = true) {
    *this = InputMerger();
    uint64_t n = rd.Count(5);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      ChannelKey k;
      k.first = rd.Str();
      k.second = static_cast<int32_t>(rd.SVar());
      Channel& c = channels_[k];
      c.time = rd.SVar();
      c.idle = rd.Bool();
      c.heard = rd.Bool();
      if (released) {
        c.released_offset = rd.SVar();
        c.released_index = static_cast<int32_t>(rd.SVar());
      }
    }
    n = rd.Count(10);
    for (uint64_t i = 0; i < n && rd.ok(); ++i) {
      rd.SVar();  // the input's index when it was written
      Record& r = Next();
      if (!dedup::DecodeRecord(rd, &r)) {
        Discard();
        return false;
      }
      r.input = input_of(std::string_view(r.addr.topic));
      restoring_ = true;
      Push(r.input);
      restoring_ = false;
    }
    return rd.ok();
  }
  // One past the highest slot ever used: every buffered record's slot is below it.
  uint32_t slot_bound() const { return static_cast<uint32_t>(flags_.size()); }
  // Adds the buffered records of a checkpoint's entries (after LoadGlobals): each back in its
  // slot, which the changelog holds. `count` and `bound` are what the checkpoint says of them
  // (buffered(), slot_bound()): entries missing, left over or out of bounds are refused.
  template <typename InputOf>
  bool LoadEntries(const std::vector<std::pair<uint32_t, std::string_view>>& entries,
                   InputOf&& input_of, uint64_t count, uint64_t bound) {
    if (entries.size() != count) return false;
    for (const auto& [slot, value] : entries) {
      if (slot >= bound) return false;
    }
    uint32_t top = 0;
    for (const auto& [slot, value] : entries) top = std::max(top, slot + 1);
    if (top > pool_.size()) {
      // Inline records took the lowest slots; the entries' slots must be free.
      const size_t had = pool_.size();
      pool_.resize(top);
      flags_.resize(std::max<size_t>(flags_.size(), top), 0);
      for (size_t i = had; i < top; ++i) free_.push_back(static_cast<uint32_t>(i));  // (heap below)
    }
    for (const auto& [slot, value] : entries) {
      if (flags_[slot] & kOccupied) return false;
      dedup::Reader rd(value);
      Record& r = pool_[slot];
      if (!dedup::DecodeRecord(rd, &r) || !rd.done()) return false;
      r.input = input_of(std::string_view(r.addr.topic));
      pending_ = slot;
      restoring_ = true;
      Push(r.input);
      restoring_ = false;
      flags_[slot] = kOccupied | kPersisted;  // held as it is: no change
    }
    if (!entries.empty()) {
      std::erase_if(free_, [this](uint32_t s) { return (flags_[s] & kOccupied) != 0; });
      std::erase_if(dirty_, [this](uint32_t s) { return (flags_[s] & kDirty) == 0; });
      std::make_heap(free_.begin(), free_.end(), std::greater<>());
    }
    return true;
  }
  // Records buffered or released since the last SaveChanges (an upper bound: one buffered
  // and released in between is no change).
  size_t pending_changes() const { return dirty_.size(); }
  // Writes what changed since the last call: `put(slot, value)` for a slot that holds a record
  // now, `erase(slot)` for one whose record the changelog holds but that has gone.
  template <typename Put, typename Erase>
  void SaveChanges(Put&& put, Erase&& erase, std::string* scratch) {
    for (uint32_t slot : dirty_) {
      uint8_t& f = flags_[slot];
      f &= static_cast<uint8_t>(~kDirty);
      if ((f & kOccupied) && !(f & kReread)) {
        scratch->clear();
        dedup::Writer w(scratch);
        dedup::EncodeRecord(pool_[slot], w);
        put(slot, std::string_view(*scratch));
        f |= kPersisted;
      } else if (f & kPersisted) {
        erase(slot);
        f &= static_cast<uint8_t>(~kPersisted);
      }
    }
    dirty_.clear();
  }

 private:
  struct Channel {
    int64_t time = INT64_MIN;
    bool idle = false;
    bool heard = false;
    int64_t released_offset = -1;  // the last record released (none: -1)
    int32_t released_index = -1;
    int64_t pushed_at = INT64_MIN;  // the latest merge time pushed
  };
  using Key = std::tuple<int64_t, int, int32_t, int64_t, int32_t>;
  struct Entry {
    Key key;
    uint32_t slot;
    Channel* channel;  // (null: of no channel)
  };
  struct Later {  // std::*_heap keep the greatest first: invert for the earliest
    bool operator()(const Entry& a, const Entry& b) const { return b.key < a.key; }
  };
  static constexpr uint8_t kOccupied = 1, kPersisted = 2, kDirty = 4, kReread = 8;
  static constexpr size_t kKeepPooled = 4096;

  void Free(uint32_t slot) {
    free_.push_back(slot);
    std::push_heap(free_.begin(), free_.end(), std::greater<>());
  }
  // The channel of a record (consecutive records mostly share one: the last is kept);
  // `declare`: made one when it is not. Null: none.
  Channel* Find(const std::string& topic, int32_t partition, bool declare) {
    if (last_.channel != nullptr && partition == last_.partition && topic == last_.topic) {
      return last_.channel;
    }
    auto it = channels_.find(std::pair<std::string_view, int32_t>(topic, partition));
    if (it == channels_.end()) {
      if (!declare) return nullptr;
      it = channels_.try_emplace(ChannelKey{topic, partition}).first;
      bound_valid_ = false;
    }
    last_ = {topic, partition, &it->second};
    return last_.channel;
  }
  void Touch(uint32_t slot) {
    if (flags_[slot] & kDirty) return;
    flags_[slot] |= kDirty;
    dirty_.push_back(slot);
  }
  // Release bound: the earliest mark among busy channels (INT64_MIN while one is unheard).
  int64_t Bound() {
    if (bound_valid_) return bound_;
    bound_ = INT64_MAX;
    for (const auto& [k, c] : channels_) {
      if (!c.heard) {
        bound_ = INT64_MIN;
        break;
      }
      if (!c.idle) bound_ = std::min(bound_, c.time);
    }
    bound_valid_ = true;
    return bound_;
  }

  std::map<ChannelKey, Channel, TopicPartitionLess> channels_;
  std::vector<Record> pool_;
  std::vector<uint32_t> free_;
  std::vector<Entry> heap_;
  // Per slot ever used (it outlives a trimmed pool): occupied, held by the changelog, changed.
  std::vector<uint8_t> flags_;
  std::vector<uint32_t> dirty_;
  uint32_t pending_ = 0;
  size_t reread_ = 0;  // buffered records pushed as `reread`
  bool restoring_ = false;
  struct {
    std::string topic;
    int32_t partition = -1;
    Channel* channel = nullptr;  // (map nodes stay put; reset when channels go)
  } last_;
  int64_t bound_ = INT64_MIN;
  bool bound_valid_ = false;
};

}  // namespace noisegate::processor
