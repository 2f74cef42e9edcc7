// The live driver's rules reload: SIGHUP, POST /-/reload or a changed file; the new rules
// are swapped in at a transaction boundary with every partition's state kept.
#include "processor/kafka/live_internal.h"
#include "rules/loader.h"

namespace noisegate::processor::live_internal {

bool Live::ListChannels(const rules::CompiledRules& rules,
                        std::vector<InputMerger::ChannelKey>* out) {
  out->clear();
  bool all = true;
  for (const rules::InputRule& in : rules.inputs) {
    int n = 0;
    if (!Partitions(in.topic, &n)) {
      log_ << "noisegate: level=warn event=input_topic_missing topic=" << in.topic << "\n";
      all = false;
      continue;
    }
    for (int i = 0; i < n; ++i) out->emplace_back(in.topic, i);
  }
  return all;
}

void Live::MaybeReload() {
  const uint64_t request = reloads_.Pending();
  const bool signalled = reload_signal_ != nullptr && reload_signal_->exchange(false);
  std::string reason = request ? "http" : signalled ? "sighup" : "";
  if (reason.empty()) {
    // The file on disk, every rules_check_interval: a ConfigMap update swaps a symlink, so
    // the content is what is compared, not the file's times.
    if (cfg_.rules_check_interval.count() == 0 || now_ < next_rules_check_) return;
    next_rules_check_ = now_ + cfg_.rules_check_interval;
    std::string text;
    if (!ReadWholeFile(rules_->path, &text)) return;  // mid-swap or gone: look again later
    std::string hash = ContentHash(text);
    if (hash == rules_hash_ || hash == refused_hash_) return;
    reason = "file_changed";
  }
  Reloads::Outcome outcome = Reload(reason);
  if (request) reloads_.Done(request, std::move(outcome));
}

Reloads::Outcome Live::Reload(const std::string& reason) {
  const std::string path = rules_->path;  // a copy: the old rules go with the swap
  std::string text;
  std::string hash = ReadWholeFile(path, &text) ? ContentHash(text) : "";
  // `rules_problem`: the file itself was refused (not tried again until it changes); other
  // failures (a commit that did not go through) are tried again at the next check.
  auto refuse = [&](const std::string& why, const std::vector<std::string>& details,
                    bool rules_problem = true) {
    if (rules_problem) refused_hash_ = hash;
    log_ << "noisegate: level=error event=rules_reload_failed reason=" << reason << " path=" << path
         << " error=\"" << why << "\" action=\"the running rules (hash " << rules_hash_
         << ") stay\"\n";
    std::string message = "rules reload failed: " + why;
    for (const std::string& d : details) {
      log_ << "noisegate: level=error event=rules_diagnostic detail=\"" << d << "\"\n";
      message += "\n" + d;
    }
    m_.rules_reloads.Add({{"result", "failure"}}).Increment();
    m_.rules_last_reload_successful.Set(0);
    return Reloads::Outcome{false, message};
  };
  if (!hash.empty() && hash == rules_hash_) {
    m_.rules_reloads.Add({{"result", "success"}}).Increment();
    m_.rules_last_reload_successful.Set(1);
    return Reloads::Outcome{true, "rules unchanged (hash " + hash + ")"};
  }
  // The text that was hashed is the text loaded: a file swapped meanwhile is seen next time.
  rules::LoadResult loaded = rules::LoadRulesString(text, path);
  if (!loaded.rules) {
    std::vector<std::string> details;
    for (const rules::Diagnostic& d : loaded.diagnostics) details.push_back(d.ToString());
    return refuse(std::to_string(details.size()) + " problem(s) in " + path, details);
  }
  std::shared_ptr<const rules::CompiledRules> next = std::move(loaded.rules);
  std::string err;
  auto ingest = std::make_unique<Ingest>(*next, cfg_.max_message_bytes, &err);
  if (!ingest->ok()) return refuse(err, {});

  std::set<std::string> before, after;
  for (const rules::InputRule& in : rules_->inputs) before.insert(in.topic);
  for (const rules::InputRule& in : next->inputs) after.insert(in.topic);
  // Inputs the new rules remove: with the hop skipped, the records of theirs the merges hold
  // back would be read again after a restart, which no longer reads these inputs. They are
  // checkpointed instead, and the inputs' offsets committed past all they ingested.
  for (auto& [k, ip] : inputs_) {
    if (after.contains(ip.topic) || ip.in_flight.empty()) continue;
    for (auto& [id, p] : correlate_) {
      if (p.merger.Persist({ip.topic, ip.partition})) p.dirty = true;
    }
    ip.in_flight.clear();
    txn_has_work_ = true;
  }
  // A transaction boundary: what the old rules decided is committed with their state first.
  // Only a commit that went through is one (an aborted one rewinds, and a rewind cut short
  // by a stop leaves engines that must not be carried over).
  AwaitMarkers(std::chrono::milliseconds(5000));  // (the hop skipped: the commit must not wait)
  if (!Commit() || !last_commit_ok_ || stop_ || fatal_) {
    return refuse("the commit before the swap did not go through; trying again", {}, false);
  }
  std::map<int32_t, std::unique_ptr<dedup::Engine>> fresh;
  for (auto& [id, p] : correlate_) {
    p.engine->SaveState(&engine_state_);
    auto engine = std::make_unique<dedup::Engine>(next, p.sink.get());
    // The changelog holds the old engine's entries: only those the new rules change (indexes
    // of reordered rules, new timers) are written again.
    engine->TrackChanges(/*all=*/false);
    Status st = engine->LoadState(engine_state_);
    // (The commit above wrote every dirty partition; should changes still be pending, the
    // new engine writes everything rather than lose them.)
    if (p.engine->pending_changes() > 0) engine->TrackChanges(/*all=*/true);
    if (!st) {
      return refuse(
          "partition " + std::to_string(id) + "'s state does not carry over: " + st.error().detail,
          {});
    }
    fresh.emplace(id, std::move(engine));
  }
  if (before != after) {
    // New or removed input topics: subscribe anew first (nothing is swapped if that fails);
    // the rebalance that follows hands the partitions out again, each restored under the
    // new rules.
    std::vector<std::string> topics(after.begin(), after.end());
    topics.push_back(cfg_.repartition_topic);
    if (consumer_->subscribe(topics) != RdKafka::ERR_NO_ERROR) {
      return refuse("could not subscribe to the new input topics", {}, false);
    }
  }
  rules_ = next;
  ingest_ = std::move(ingest);
  if (on_rules_swapped_) on_rules_swapped_(rules_);
  // Removed inputs: what was fetched of them and not ingested is left (their offsets are
  // no longer committed); their partitions go with the rebalance.
  std::erase_if(inputs_, [&after](const auto& kv) { return !after.contains(kv.second.topic); });
  for (auto& [k, ip] : inputs_) ip.order = rules_->FindInput(ip.topic);
  if (before != after) channels_complete_ = ListChannels(*rules_, &channels_);
  for (auto& [id, p] : correlate_) {
    p.engine = std::move(fresh.at(id));
    // Buffered records keep their slots (and changelog entries); ties follow the new inputs.
    p.merger.Reorder([this](std::string_view topic) { return rules_->FindInput(topic); });
    // Channels of inputs that are gone hold nobody back; new inputs must be heard from.
    p.merger.RetainChannels(
        [&after](const InputMerger::ChannelKey& k) { return after.count(k.first) > 0; });
    for (const auto& ch : channels_) p.merger.AddChannel(ch);
    p.dirty = true;  // the next checkpoint is written under the new rules
  }
  txn_has_work_ = true;
  rules_hash_ = hash;
  refused_hash_.clear();
  uint64_t records = 0;  // what the partitions' state has seen, for the log
  for (auto& [id, p] : correlate_) records += p.engine->stats().records;
  log_ << "noisegate: level=info event=rules_reloaded reason=" << reason << " path=" << path
       << " hash=" << hash << " partitions=" << correlate_.size() << " records=" << records
       << " inputs_changed=" << (before != after ? 1 : 0) << "\n";
  m_.rules_reloads.Add({{"result", "success"}}).Increment();
  m_.rules_last_reload_successful.Set(1);
  m_.SetRules(path, hash);
  return Reloads::Outcome{true, "rules reloaded (hash " + hash + ")"};
}

}  // namespace noisegate::processor::live_internal
