// Crash points for the fault tests: with NOISEGATE_FAILPOINT=NAME:N in its environment,
// `noisegate run` SIGKILLs itself the N-th time it reaches the point NAME, so a test can aim
// a kill at a dangerous moment (between produce and commit, in the middle of a checkpoint,
// during a restore or a rebalance) instead of hoping a kill from outside lands there.
// NAME:N:stop SIGSTOPs instead, so a test can act at that exact moment (a reload
// mid-stream) and then let it go on with SIGCONT.
// Without the variable a point costs one predictable branch. Points: after_produce,
// checkpoint_mid, before_commit, after_commit, restore, revoke.
#pragma once

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace noisegate::processor {

class Failpoint {
 public:
  static void Hit(const char* name) {
    static Failpoint armed = FromEnvironment();
    if (armed.name_.empty() || armed.name_ != name) return;
    if (++armed.seen_ != armed.at_) return;
    std::fprintf(stderr, "noisegate: level=warn event=failpoint name=%s hit=%ld action=%s\n", name,
                 armed.seen_, armed.stop_ ? "SIGSTOP" : "SIGKILL");
    std::fflush(stderr);
    std::raise(armed.stop_ ? SIGSTOP : SIGKILL);
  }

 private:
  static Failpoint FromEnvironment() {
    Failpoint f;
    const char* v = std::getenv("NOISEGATE_FAILPOINT");
    if (v == nullptr) return f;
    const char* colon = std::strchr(v, ':');
    f.name_ = colon ? std::string(v, colon) : std::string(v);
    f.at_ = colon ? std::max(1L, std::strtol(colon + 1, nullptr, 10)) : 1;
    f.stop_ = colon != nullptr && std::strstr(colon + 1, ":stop") != nullptr;
    return f;
  }
  std::string name_;
  long at_ = 1;
  long seen_ = 0;
  bool stop_ = false;
};

}  // namespace noisegate::processor
