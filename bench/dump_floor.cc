// The floor under replay: simdjson On-Demand alone reading a replay dump's kcat -J envelopes
// and, inside each, the payload as the decoders would (every string of it, nested objects and
// arrays included). It builds no records, orders nothing and writes nothing, so replay's
// messages per CPU second divided by this one's is the share of the reading cost replay adds.
// Usage: dump_floor FILE... (prints the best of three passes; bench/replay_bench.sh runs it).
#include <simdjson.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Reads every string and number below `value`, as a decoder that keeps them would.
size_t Walk(simdjson::ondemand::value value) {
  size_t strings = 0;
  simdjson::ondemand::json_type type;
  if (value.type().get(type)) return 0;
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object object;
      if (value.get_object().get(object)) return 0;
      for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return strings;
        strings += 1 + Walk(field.value());
      }
      return strings;
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array array;
      if (value.get_array().get(array)) return 0;
      for (auto element : array) strings += Walk(element.value());
      return strings;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view s;
      return value.get_string().get(s) ? 0 : 1;
    }
    case simdjson::ondemand::json_type::number: {
      double d;
      return value.get_double().get(d) ? 0 : 1;
    }
    default:
      return 0;
  }
}

struct Pass {
  size_t messages = 0, strings = 0, unreadable = 0;
};

Pass ReadAll(const std::vector<std::string>& files) {
  simdjson::ondemand::parser envelope_parser, payload_parser;
  std::vector<char> line_buf(1 << 16), payload_buf(1 << 16);
  Pass pass;
  for (const std::string& file : files) {
    std::string_view rest(file);
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (line.empty()) continue;
      if (line_buf.size() < line.size() + simdjson::SIMDJSON_PADDING) {
        line_buf.resize(line.size() + simdjson::SIMDJSON_PADDING);
      }
      std::memcpy(line_buf.data(), line.data(), line.size());
      simdjson::ondemand::document doc;
      simdjson::ondemand::object envelope;
      if (envelope_parser.iterate(line_buf.data(), line.size(), line_buf.size()).get(doc) ||
          doc.get_object().get(envelope)) {
        ++pass.unreadable;
        continue;
      }
      std::string_view payload;
      bool ok = true;
      for (auto field : envelope) {
        std::string_view key;
        if (field.unescaped_key().get(key)) {
          ok = false;
          break;
        }
        if (key == "payload") {
          ok = !field.value().get_string().get(payload);
        } else {
          pass.strings += Walk(field.value());
        }
      }
      if (!ok) {
        ++pass.unreadable;
        continue;
      }
      if (payload_buf.size() < payload.size() + simdjson::SIMDJSON_PADDING) {
        payload_buf.resize(payload.size() + simdjson::SIMDJSON_PADDING);
      }
      std::memcpy(payload_buf.data(), payload.data(), payload.size());
      simdjson::ondemand::document inner;
      simdjson::ondemand::value root;
      if (payload_parser.iterate(payload_buf.data(), payload.size(), payload_buf.size())
              .get(inner) ||
          inner.get_value().get(root)) {
        ++pass.unreadable;
        continue;
      }
      pass.strings += Walk(root);
      ++pass.messages;
    }
  }
  return pass;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dump_floor FILE...\n");
    return 2;
  }
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "dump_floor: cannot read %s\n", argv[i]);
      return 1;
    }
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  double best = 0;
  Pass pass;
  for (int round = 0; round < 3; ++round) {
    const double before = CpuSeconds();
    pass = ReadAll(files);
    const double cpu = std::max(CpuSeconds() - before, 1e-6);
    best = std::max(best, static_cast<double>(pass.messages) / cpu);
  }
  std::printf("floor: messages=%zu unreadable=%zu strings=%zu messages_per_cpu_second=%.0f\n",
              pass.messages, pass.unreadable, pass.strings, best);
  return 0;
}
