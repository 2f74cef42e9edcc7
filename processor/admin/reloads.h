// Reloads: requests to reload the rules, from any thread (the admin server's POST /-/reload,
// a SIGHUP noticed by the loop), served by the processing loop at a transaction boundary.
// A requester may wait for the outcome: Prometheus and Alertmanager answer /-/reload only
// once the reload is done, with an error when the new file was refused.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace noisegate::processor {

class Reloads {
 public:
  struct Outcome {
    bool ok = false;
    std::string message;  // what was loaded, or the diagnostics (file:line:column: ...)
  };

  // Asks for a reload; returns the request's number, for Wait().
  uint64_t Request() {
    std::lock_guard<std::mutex> lock(mu_);
    return ++requested_;
  }
  // The loop: the newest request not yet served, or 0.
  uint64_t Pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requested_ > served_ ? requested_ : 0;
  }
  // The loop: every request up to `upto` is served with this outcome.
  void Done(uint64_t upto, Outcome outcome) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (upto > served_) served_ = upto;
      last_ = std::move(outcome);
    }
    cv_.notify_all();
  }
  // Waits until request `id` is served (false on timeout) and gives its outcome.
  bool Wait(uint64_t id, std::chrono::milliseconds timeout, Outcome* outcome) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return served_ >= id; })) return false;
    *outcome = last_;
    return true;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;
  uint64_t served_ = 0;
  Outcome last_;
};

}  // namespace noisegate::processor
