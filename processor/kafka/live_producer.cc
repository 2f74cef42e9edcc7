// The live driver's transactional producer: creating it, and calling it with a deadline of
// our own, so that a call that never comes back costs one transaction, not the pod.
//
// librdkafka (every version to date, see its issue #5456) can block in
// send_offsets_to_transaction past the call's timeout, for good: its request to the group
// coordinator waits for a broker state change, and when the coordinator went away and came
// back in the meantime, none comes. Seen here on a real broker restarted under load. So each
// transactional call runs on a thread of its own while the loop waits for it, keeps /healthz
// alive and says on /readyz what it waits for; past transaction_call_wait the producer is
// abandoned (its thread may stay blocked in it for good), a new one with the same
// transactional id fences it and aborts its transaction on the broker, and the input of that
// transaction is processed again, as after any abort.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "processor/kafka/live_internal.h"

namespace noisegate::processor::live_internal {

namespace {

// Abandoned producers, with the callbacks they hold. Kept for the life of the process: a
// thread may still be blocked in one, so it can never be destroyed. (Reachable from here, so
// leak checkers do not report them.)
struct Graveyard {
  std::mutex mu;
  std::vector<std::unique_ptr<ProducerCallbacks>> callbacks;
  std::vector<std::unique_ptr<RdKafka::Producer>> producers;
};

Graveyard& Abandoned() {
  static Graveyard* g = new Graveyard;
  return *g;
}

}  // namespace

void ProducerCallbacks::dr_cb(RdKafka::Message& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!abandoned_) live_->dr_cb(message);
}

void ProducerCallbacks::event_cb(RdKafka::Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!abandoned_) live_->event_cb(event);
}

void ProducerCallbacks::Abandon() {
  std::lock_guard<std::mutex> lock(mu_);  // waits out a callback under way
  abandoned_ = true;
}

bool Live::CreateProducer() {
  auto pconf = ClientConf({
      {"transactional.id", cfg_.group + "-" + cfg_.instance},
      {"enable.idempotence", "true"},
      {"transaction.timeout.ms", "30000"},
      {"message.max.bytes", "1000000"},
      // Batches of up to 20 ms: fewer, larger requests; the commit interval dominates latency.
      {"linger.ms", "20"},
  });
  if (!pconf) return false;
  std::string err;
  producer_callbacks_ = std::make_unique<ProducerCallbacks>(this);
  pconf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(producer_callbacks_.get()), err);
  pconf->set("event_cb", static_cast<RdKafka::EventCb*>(producer_callbacks_.get()), err);
  producer_.reset(RdKafka::Producer::create(pconf.get(), err));
  if (!producer_) {
    log_ << "noisegate: level=error event=producer error=\"" << err << "\"\n";
    return false;
  }
  return true;
}

bool Live::InitTransactions() {
  for (int attempt = 0; !stop_; ++attempt) {
    std::unique_ptr<RdKafka::Error> e;
    auto init = [](RdKafka::Producer* p) { return p->init_transactions(kRequestTimeoutMs); };
    if (TxnCall("init_transactions", init, &e) == CallOutcome::kStuck) return false;
    if (!e) return true;
    if (attempt < 3 || attempt % 30 == 0) {
      log_ << "noisegate: level=warn event=init_transactions attempt=" << attempt + 1 << " error=\""
           << e->str() << "\"\n";
    }
    if (e->is_fatal()) return false;
    health_.Beat();
    std::this_thread::sleep_for(milliseconds(1000));
  }
  return false;
}

bool Live::ReplaceProducer() {
  if (++producers_replaced_ > kMaxProducerReplacements) {
    log_ << "noisegate: level=error event=producer_replacements_exhausted replaced="
         << producers_replaced_ - 1
         << " action=\"exiting: a new process (the pod's restart) starts clean\"\n";
    return false;
  }
  // Until a call to the group coordinator went through again, ask it before sending offsets:
  // a second call into a coordinator that is still away would block the same way.
  coordinator_suspect_ = true;
  if (!CreateProducer() || !InitTransactions()) return false;
  m_.producers_replaced.Increment();
  log_ << "noisegate: level=warn event=producer_replaced replaced=" << producers_replaced_ << "\n";
  return true;
}

Live::CallOutcome Live::TxnCall(const char* what,
                                std::function<RdKafka::Error*(RdKafka::Producer*)> call,
                                std::unique_ptr<RdKafka::Error>* error) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool abandoned = false;
    RdKafka::Error* error = nullptr;
  };
  auto shared = std::make_shared<Shared>();
  RdKafka::Producer* producer = producer_.get();
  // The thread owns what the call needs: it may outlive this frame.
  std::thread worker([shared, producer, call = std::move(call)] {
    RdKafka::Error* e = call(producer);
    std::lock_guard<std::mutex> lock(shared->mu);
    if (shared->abandoned) {
      delete e;
      return;
    }
    shared->error = e;
    shared->done = true;
    shared->cv.notify_one();
  });
  const Clock::time_point started = Clock::now();
  bool waiting = false, slow = false;
  std::unique_lock<std::mutex> lock(shared->mu);
  while (!shared->cv.wait_for(lock, milliseconds(100), [&] { return shared->done; })) {
    health_.Beat();
    const auto waited = Clock::now() - started;
    const auto waited_ms = std::chrono::duration_cast<milliseconds>(waited).count();
    if (!waiting && waited >= milliseconds(1000)) {
      waiting = true;
      NotReady(std::string(what) + " waiting for the broker", true);
    }
    if (!slow && waited >= milliseconds(kRequestTimeoutMs + 2000)) {
      slow = true;
      log_ << "noisegate: level=warn event=transaction_call_slow call=" << what
           << " waited_ms=" << waited_ms << " note=\"blocked past its own timeout\"\n";
    }
    if (waited >= cfg_.transaction_call_wait ||
        (stop_ && waited >= milliseconds(kRequestTimeoutMs + 5000))) {
      shared->abandoned = true;
      lock.unlock();
      worker.detach();
      producer_callbacks_->Abandon();
      {
        Graveyard& g = Abandoned();
        std::lock_guard<std::mutex> glock(g.mu);
        g.callbacks.push_back(std::move(producer_callbacks_));
        g.producers.push_back(std::move(producer_));
      }
      log_ << "noisegate: level=error event=transaction_call_stuck call=" << what
           << " waited_ms=" << waited_ms
           << " action=\"abandoning the producer for a new one; the transaction's input is "
              "processed again\"\n";
      return CallOutcome::kStuck;
    }
  }
  error->reset(shared->error);
  lock.unlock();
  worker.join();
  return CallOutcome::kDone;
}

RdKafka::ErrorCode Live::AskGroupCoordinator(const std::string& topic, int32_t partition) {
  std::vector<RdKafka::TopicPartition*> probe{RdKafka::TopicPartition::create(topic, partition)};
  RdKafka::ErrorCode err = consumer_->committed(probe, kRequestTimeoutMs);
  RdKafka::TopicPartition::destroy(probe);
  return err;
}

}  // namespace noisegate::processor::live_internal
