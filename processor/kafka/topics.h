// `noisegate topics`: creates the topics noisegate writes and its internal ones, with the
// settings they need (a compacted changelog with as many partitions as the repartition
// topic), and the silences topics its silences API writes (compacted, keyed by silence id).
// Topics that exist are left as they are; other input topics are the producers' business.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "processor/kafka/run_config.h"

namespace noisegate::processor {

// Creates the missing topics of `config` on its cluster. `replication` is the replication
// factor of new topics (-1 = the broker's default). Returns false (after saying why on
// `log`) when a topic cannot be created or an existing internal topic has the wrong
// partition count. `silences`: the topics of the rules' `silences` inputs.
bool CreateTopics(const RunConfig& config, int replication, std::ostream& log,
                  const std::vector<std::string>& silences = {});

}  // namespace noisegate::processor
