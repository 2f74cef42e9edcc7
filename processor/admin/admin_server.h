// AdminServer: the HTTP side of `noisegate run` for Kubernetes and Prometheus.
//   GET /metrics  Prometheus text exposition of the registry (names prefixed noisegate_)
//   GET /healthz  200 while the processing loop turns (liveness), 503 when it is stuck
//   GET /readyz   200 when ready (partitions assigned and restored, last commit succeeded),
//                 503 otherwise, with the reason as the body
//   POST /-/reload  reloads the rules (as Prometheus' and Alertmanager's /-/reload): 200 once
//                 the new rules run, 500 with the diagnostics when they are refused (the old
//                 rules keep running), 503 when the loop did not get to it in time
// Handlers run on civetweb's threads and only read atomics and the (thread-safe) registry.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "processor/admin/reloads.h"

class CivetServer;

namespace noisegate::processor {

// What the processing loop reports; read by the HTTP handlers.
class Health {
 public:
  // The loop calls this every turn.
  void Beat() { last_beat_ms_.store(NowMs(), std::memory_order_relaxed); }
  void SetReady(bool ready, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = ready;
    reason_ = reason;
  }
  // A part of the process broke for good (the HTTP intake's producer had a fatal error):
  // liveness and readiness fail from now on, saying `reason`, and the loop stops cleanly
  // (RunLive then exits non-zero) for the pod to be restarted. The first failure is kept.
  void Fail(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_.empty()) failure_ = reason;
    failed_.store(true, std::memory_order_release);
  }
  bool Failed() const { return failed_.load(std::memory_order_acquire); }  // (every loop turn)
  // The loop turned within `stuck_after` and nothing failed for good; `why` says it when not.
  bool Alive(std::chrono::milliseconds stuck_after, std::string* why) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!failure_.empty()) {
        *why = failure_;
        return false;
      }
    }
    int64_t last = last_beat_ms_.load(std::memory_order_relaxed);
    if (last == 0 || NowMs() - last < stuck_after.count()) return true;
    *why = "the processing loop has not turned for " + std::to_string(stuck_after.count() / 1000) +
           " s";
    return false;
  }
  bool Ready(std::string* reason) const {
    std::lock_guard<std::mutex> lock(mu_);
    *reason = failure_.empty() ? reason_ : failure_;
    return ready_ && failure_.empty();
  }

 private:
  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::atomic<int64_t> last_beat_ms_{0};
  mutable std::mutex mu_;
  bool ready_ = false;
  std::string reason_ = "starting";
  std::string failure_;  // set by Fail
  std::atomic<bool> failed_{false};
};

class AdminServer {
 public:
  AdminServer(std::shared_ptr<prometheus::Registry> registry, std::shared_ptr<Health> health,
              std::shared_ptr<Reloads> reloads);
  ~AdminServer();
  // Listens on `listen` ("0.0.0.0:9464", "127.0.0.1:0" ...). Returns false with `error` set
  // when it cannot. The bound port is then port().
  bool Start(const std::string& listen, std::string* error);
  int port() const { return port_; }

 private:
  class Handler;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Health> health_;
  std::shared_ptr<Reloads> reloads_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<Handler> metrics_, healthz_, readyz_, reload_;
  int port_ = 0;
};

}  // namespace noisegate::processor
