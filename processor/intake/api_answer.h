// The answer of an Alertmanager-compatible API call on the intake (the silences API, the alert
// list): a status and a JSON body; an error is a JSON string, as Alertmanager answers.
#pragma once

#include <string>
#include <string_view>

#include "processor/output/json_writer.h"

namespace noisegate::processor {

struct ApiAnswer {
  int status = 200;
  std::string body;

  static ApiAnswer Error(int status, std::string_view message) {
    ApiAnswer a;
    a.status = status;
    JsonWriter::Escape(message, &a.body);
    return a;
  }
};

// How long an API call waits to read the topics it answers from.
inline constexpr int kApiReadTimeoutMs = 10'000;

}  // namespace noisegate::processor
