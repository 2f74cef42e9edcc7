// SilencesApi: Alertmanager's silences API (v2), so that `amtool silence add|query|expire
// --alertmanager.url=<noisegate>` works unchanged (served by the HTTP intake):
//   GET    /api/v2/silences[?filter=<matcher>...]  every silence (expired ones for 5 days)
//   POST   /api/v2/silences                        create (no id) or update; {"silenceID": ...}
//                                                   (an update Alertmanager would not make in
//                                                   place ends the old one and makes a new id)
//   GET    /api/v2/silence/<id>                    one silence
//   DELETE /api/v2/silence/<id>                    expire it
//   GET    /api/v2/status                          what amtool asks of an Alertmanager
// A silence is written to the rules' one input of format `silences` (a compacted topic keyed by
// silence id) and answered only once the broker has it; expiring writes the same id again with
// `endsAt` = now. The processing loop reads that topic like any input, so silences take effect
// in event-time order, on every replica, and a replay of the captured topic does the same.
// Reads go to the topic itself (up to its end at the request), so every replica answers the
// same and a silence just written is always listed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/record.h"
#include "processor/intake/api_answer.h"
#include "processor/intake/intake_producer.h"

namespace noisegate::processor {

class SilencesApi {
 public:
  using Answer = ApiAnswer;
  // A silence as the topic holds it: the newest version of its id.
  struct Stored {
    SilenceSpec spec;
    int64_t updated_ms = 0;  // the message's Kafka timestamp: when it was written
  };

  // `kafka`: librdkafka properties for reading the topic (bootstrap.servers, security).
  SilencesApi(IntakeProducer& producer, std::map<std::string, std::string> kafka)
      : producer_(producer), kafka_(std::move(kafka)) {}

  // Whether `path` is one of this API's, and the methods it takes (for a 405's Allow).
  static bool Serves(std::string_view path);
  static const char* Allowed(std::string_view path);
  // `topic`: the rules' silences input (empty: there is none, and every call is a 404).
  Answer Handle(std::string_view method, std::string_view path, std::string_view query,
                std::string_view body, const std::string& topic, int64_t now_ms);

  // Every silence of `topic`, by id; false with `error` set when the topic cannot be read.
  bool ReadAll(const std::string& topic, std::map<std::string, Stored>* out, std::string* error);

 private:
  // Silence `id` as the topic holds it now (read into `all`); null, with `failed` set to the
  // answer (503: unreadable, 404: no such id), when it cannot be had.
  const Stored* Lookup(const std::string& id, const std::string& topic,
                       std::map<std::string, Stored>* all, Answer* failed);
  Answer List(std::string_view query, const std::string& topic, int64_t now_ms);
  Answer Post(std::string_view body, const std::string& topic, int64_t now_ms);
  Answer GetOne(const std::string& id, const std::string& topic, int64_t now_ms);
  Answer Expire(const std::string& id, const std::string& topic, int64_t now_ms);
  // Alertmanager's canUpdate: the same matchers, and an active silence's start unchanged (and
  // its end not past), a pending one's start not past; never an expired one.
  static bool CanUpdate(const SilenceSpec& old, const SilenceSpec& update, int64_t now_ms);
  // `spec` expired now (a pending one never starts).
  static SilenceSpec Ended(const SilenceSpec& spec, int64_t now_ms);
  // Writes tombstones for silences long expired (see Post).
  void Forget(const std::map<std::string, Stored>& all, const std::string& topic, int64_t now_ms);
  // Writes `spec` as its id's newest version.
  Answer Write(const SilenceSpec& spec, const std::string& topic, int64_t now_ms,
               std::string answer_body);

  IntakeProducer& producer_;
  std::map<std::string, std::string> kafka_;
};

// The topic message of a silence: Alertmanager's model with `updatedAt`.
std::string SilenceMessage(const SilenceSpec& s, int64_t updated_ms);

}  // namespace noisegate::processor
