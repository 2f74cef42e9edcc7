// `noisegate topics`: creates the topics noisegate writes and its internal ones, with the
// settings they need (a compacted changelog with as many partitions as the repartition
// topic). Topics that exist are left as they are; input topics are the producers' business.
#pragma once

#include <ostream>

#include "processor/kafka/run_config.h"

namespace noisegate::processor {

// Creates the missing topics of `config` on its cluster. `replication` is the replication
// factor of new topics (-1 = the broker's default). Returns false (after saying why on
// `log`) when a topic cannot be created or an existing internal topic has the wrong
// partition count.
bool CreateTopics(const RunConfig& config, int replication, std::ostream& log);

}  // namespace noisegate::processor
