#include "processor/intake/intake_server.h"

#include <CivetServer.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <sstream>
#include <thread>

#include "processor/admin/host.h"
#include "processor/admin/http_listen.h"
#include "processor/decode/dead_letter.h"
#include "processor/decode/json_util.h"
#include "processor/output/json_writer.h"

namespace noisegate::processor {
namespace {

// Runs `f` on a thread of the default stack size, the caller waiting. civetweb's workers have
// small stacks (Debian builds it with 100 KB), too small for what a request may do (decode a
// body, create Kafka clients and an engine): under AddressSanitizer a silences list overflowed
// one. A thread per request costs tens of microseconds; a request waits milliseconds for the
// broker anyway.
template <typename F>
auto OnFullStack(F&& f) -> decltype(f()) {
  std::optional<decltype(f())> out;
  std::thread([&] { out.emplace(f()); }).join();
  return std::move(*out);
}

constexpr std::string_view kAlertsApi = "/api/v2/alerts";
constexpr std::string_view kWebhook = "/webhook/";

// Compares without stopping at the first difference, so that timing tells nothing of a secret.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

// RFC 4648 base64 (padding optional); false on anything else.
bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') {
      v = ch - 'A';
    } else if (ch >= 'a' && ch <= 'z') {
      v = ch - 'a' + 26;
    } else if (ch >= '0' && ch <= '9') {
      v = ch - '0' + 52;
    } else if (ch == '+') {
      v = 62;
    } else if (ch == '/') {
      v = 63;
    } else if (ch == '=') {
      break;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

// Collects what a decode hands over, to tell an undecodable body from a decodable one.
class CountingSink : public IngestSink {
 public:
  void OnRecord(Record&) override { ++records; }
  void OnDeadLetter(const DeadLetter& dead, const RawMessage&, int64_t) override {
    if (!reasons.empty()) reasons += "; ";
    reasons += dead.reason;
    if (!dead.detail.empty()) reasons += ": " + dead.detail;
  }
  size_t records = 0;
  std::string reasons;
};

}  // namespace

class IntakeServer::Handler : public CivetHandler {
 public:
  explicit Handler(IntakeServer* owner) : owner_(owner) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return Serve(conn, "GET"); }
  bool handlePut(CivetServer*, mg_connection* conn) override { return Serve(conn, "PUT"); }
  bool handleDelete(CivetServer*, mg_connection* conn) override { return Serve(conn, "DELETE"); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return Serve(conn, "POST"); }

 private:
  bool Serve(mg_connection* conn, const char* method) {
    const mg_request_info* info = mg_get_request_info(conn);
    auto header = [conn](const char* name) {
      const char* v = mg_get_header(conn, name);
      return v == nullptr ? std::string_view{} : std::string_view(v);
    };
    Request req;
    req.method = method;
    req.path = info->local_uri != nullptr ? info->local_uri : "";
    req.query = info->query_string != nullptr ? info->query_string : "";
    req.authorization = header("Authorization");
    req.content_encoding = header("Content-Encoding");
    // The body, up to the limit; past it only the fact that there was more. Not read at all
    // for a caller without the credentials (Handle answers 401 first).
    const size_t limit = owner_->max_body_bytes_;
    std::string body;
    bool whole = true;
    const bool post = std::string_view(method) == "POST";
    if (post && !owner_->Authorized(req.authorization)) whole = false;
    if (post && owner_->Authorized(req.authorization)) {
      if (info->content_length > static_cast<long long>(limit)) {
        req.body_too_large = true;
        whole = false;
      } else {
        body.reserve(static_cast<size_t>(std::clamp<long long>(info->content_length, 0, 65536)));
        char buf[16384];
        int n;
        while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
          body.append(buf, static_cast<size_t>(n));
          if (body.size() > limit) {  // chunked, or more than it said
            req.body_too_large = true;
            whole = false;
            body.clear();
            break;
          }
        }
        // The sender went away before the end: a prefix may still parse, and must not count.
        req.body_cut = n < 0 || (!req.body_too_large && info->content_length >= 0 &&
                                 body.size() != static_cast<size_t>(info->content_length));
      }
    }
    req.body = body;
    // (Decoding, Kafka clients, an engine: not on civetweb's small stack.)
    Response res = OnFullStack([&] { return owner_->Handle(req); });
    std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " + StatusText(res.status) +
                       "\r\nContent-Type: " + res.content_type +
                       "\r\nContent-Length: " + std::to_string(res.body.size()) + "\r\n";
    for (const auto& [k, v] : res.headers) head += k + ": " + v + "\r\n";
    // What was left unread of the body would be taken for the next request.
    if (!whole) head += "Connection: close\r\n";
    head += "\r\n";
    mg_write(conn, head.data(), head.size());
    mg_write(conn, res.body.data(), res.body.size());
    return true;
  }

  IntakeServer* owner_;
};

IntakeServer::IntakeServer(IntakeConfig config, size_t max_message_bytes,
                           prometheus::Registry& registry, std::ostream& log)
    : cfg_(std::move(config)),
      // (Never more than the loop decodes: a larger body would be taken, then dead-lettered.)
      max_body_bytes_(cfg_.max_body_bytes != 0 ? std::min(cfg_.max_body_bytes, max_message_bytes)
                                               : max_message_bytes),
      max_message_bytes_(max_message_bytes),
      log_(log),
      requests_(prometheus::BuildCounter()
                    .Name("noisegate_intake_requests_total")
                    .Help("HTTP intake requests by endpoint (alerts_api, webhook, other) and "
                          "status code")
                    .Register(registry)),
      ack_seconds_(prometheus::BuildHistogram()
                       .Name("noisegate_intake_ack_seconds")
                       .Help("How long the broker took to store an accepted request's body")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{
                                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})) {}

IntakeServer::~IntakeServer() {
  if (server_) server_->close();
}

bool IntakeServer::Start(const std::map<std::string, std::string>& kafka,
                         std::shared_ptr<const rules::CompiledRules> rules, std::string* error) {
  if (!cfg_.bearer_token_file.empty()) {
    std::string text;
    if (!ReadWholeFile(cfg_.bearer_token_file, &text) || TrimSpace(text).empty()) {
      *error = "intake.bearer_token_file " + cfg_.bearer_token_file + ": cannot read a token";
      return false;
    }
    bearer_token_ = std::string(TrimSpace(text));
  }
  if (!cfg_.basic_auth_file.empty()) {
    std::string text;
    if (!ReadWholeFile(cfg_.basic_auth_file, &text)) {
      *error = "intake.basic_auth_file " + cfg_.basic_auth_file + ": cannot read it";
      return false;
    }
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
      ++number;
      std::string_view l = TrimSpace(line);
      if (l.empty() || l.front() == '#') continue;
      if (l.find(':') == std::string_view::npos || l.front() == ':') {
        *error = "intake.basic_auth_file " + cfg_.basic_auth_file + ":" + std::to_string(number) +
                 ": expected user:password";
        return false;
      }
      basic_credentials_.emplace_back(l);
    }
    if (basic_credentials_.empty()) {
      *error = "intake.basic_auth_file " + cfg_.basic_auth_file + ": no user:password line";
      return false;
    }
  }
  SetRules(std::move(rules));
  if (!producer_.Start(kafka, cfg_.ack_timeout, max_body_bytes_, error)) return false;
  silences_ = std::make_unique<SilencesApi>(producer_, kafka);
  alerts_ = std::make_unique<AlertsApi>(kafka, cfg_.alerts_lookback, cfg_.notification_topics,
                                        max_message_bytes_);
  server_ = HttpListen(cfg_.listen,
                       {"num_threads", std::to_string(cfg_.threads), "enable_keep_alive", "yes",
                        "request_timeout_ms", "30000"},
                       &port_, error);
  if (!server_) return false;
  handler_ = std::make_unique<Handler>(this);
  server_->addHandler("/", handler_.get());
  return true;
}

void IntakeServer::SetRules(std::shared_ptr<const rules::CompiledRules> rules) {
  std::string err;
  auto ingest = std::make_unique<Ingest>(*rules, max_message_bytes_, &err);
  if (!ingest->ok()) {  // (the loop refuses such rules before they get here)
    std::lock_guard<std::mutex> lock(log_mu_);
    log_ << "noisegate: level=error event=intake_rules error=\"" << err << "\"\n";
    return;
  }
  std::lock_guard<std::mutex> lock(rules_mu_);
  ingest_ = std::move(ingest);  // (before the rules it refers to)
  rules_ = std::move(rules);
}

bool IntakeServer::Authorized(std::string_view authorization) const {
  if (bearer_token_.empty() && basic_credentials_.empty()) return true;
  std::string_view a = TrimSpace(authorization);
  auto scheme = [&a](std::string_view s) {
    if (a.size() <= s.size()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != s[i]) return false;
    }
    return a[s.size()] == ' ';
  };
  if (!bearer_token_.empty() && scheme("bearer")) {
    return SameSecret(TrimSpace(a.substr(6)), bearer_token_);
  }
  if (!basic_credentials_.empty() && scheme("basic")) {
    std::string pair;
    if (!DecodeBase64(TrimSpace(a.substr(5)), &pair)) return false;
    bool ok = false;
    for (const std::string& c : basic_credentials_) ok |= SameSecret(pair, c);
    return ok;
  }
  return false;
}

IntakeServer::Route IntakeServer::Resolve(std::string_view path) {
  Route route;
  auto is_input = [this](std::string_view topic) { return rules_->FindInput(topic) >= 0; };
  if (path == kAlertsApi) {
    route.endpoint = "alerts_api";
    std::vector<std::string> topics;
    for (const rules::InputRule& in : rules_->inputs) {
      if (in.format == "alertmanager") topics.push_back(in.topic);
    }
    if (topics.size() == 1) {
      route.topic = topics[0];
    } else {
      route.status = 404;
      route.error = topics.empty() ? "no input of format alertmanager in the rules"
                                   : "several inputs of format alertmanager: send to "
                                     "/webhook/<topic>/api/v2/alerts (Prometheus: path_prefix: "
                                     "/webhook/<topic>)";
    }
    return route;
  }
  if (path.substr(0, kWebhook.size()) != kWebhook) {
    route.endpoint = "other";
    route.status = 404;
    route.error =
        "not an intake path: POST /api/v2/alerts, /webhook/<topic> or "
        "/webhook/<topic>/api/v2/alerts";
    return route;
  }
  std::string_view topic = path.substr(kWebhook.size());
  if (topic.size() > kAlertsApi.size() &&
      topic.substr(topic.size() - kAlertsApi.size()) == kAlertsApi) {
    topic.remove_suffix(kAlertsApi.size());
    route.endpoint = "alerts_api";
  }
  if (!topic.empty() && topic.back() == '/') topic.remove_suffix(1);
  if (topic.empty() || !is_input(topic)) {
    route.status = 404;
    route.error = "no input reads topic \"" + std::string(topic) + "\"";
    return route;
  }
  const std::string& format = rules_->inputs[rules_->FindInput(topic)].format;
  if (std::string_view(route.endpoint) == "alerts_api" && format != "alertmanager" &&
      format != "grafana") {
    route.status = 404;
    route.error = "the alert API needs an input of format alertmanager; \"" + std::string(topic) +
                  "\" is " + format;
    return route;
  }
  route.topic = std::string(topic);
  return route;
}

std::string IntakeServer::Undecodable(const std::string& topic, std::string_view body,
                                      int64_t now_ms) {
  RawMessage m;
  m.topic = topic;
  m.ts = now_ms;
  m.payload = body;
  CountingSink sink;
  ingest_->Message(m, now_ms, sink, /*channel_time=*/nullptr);
  // Records alongside bad ones: taken, the bad ones become dead letters downstream.
  return sink.records > 0 ? std::string() : sink.reasons;
}

IntakeServer::Response IntakeServer::Answer(const char* endpoint, int status, std::string body) {
  requests_.Add({{"endpoint", endpoint}, {"code", std::to_string(status)}}).Increment();
  Response r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.empty() && r.body.back() != '\n') r.body.push_back('\n');
  if (status == 401) {
    r.headers.emplace_back("WWW-Authenticate", bearer_token_.empty()
                                                   ? "Basic realm=\"noisegate\""
                                                   : "Bearer realm=\"noisegate\"");
  }
  if (status == 503) r.headers.emplace_back("Retry-After", "5");
  if (status == 405) r.headers.emplace_back("Allow", "POST");
  return r;
}

void IntakeServer::NoteFatal() {
  std::string fatal = producer_.FatalError();
  if (fatal.empty() || fatal_seen_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    log_ << "noisegate: level=error event=intake_fatal error=\"" << fatal
         << "\" action=\"liveness fails: the pod is restarted\"\n";
  }
  if (on_fatal_) on_fatal_(fatal);
}

IntakeServer::Response IntakeServer::Silences(const Request& req) {
  if (req.body_too_large) {
    return Answer("silences", 413,
                  "the body is over " + std::to_string(max_body_bytes_) + " bytes");
  }
  if (req.body_cut) return Answer("silences", 400, "the body ended before its Content-Length");
  std::string topic, several;
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    for (const rules::InputRule& in : rules_->inputs) {
      if (in.format != "silences") continue;
      if (!topic.empty()) several = in.topic;
      if (topic.empty()) topic = in.topic;
    }
  }
  if (!several.empty() && req.path != "/api/v2/status") {
    return Answer("silences", 404,
                  "several inputs of format silences (" + topic + ", " + several +
                      "): the silences API writes to one");
  }
  SilencesApi::Answer a =
      silences_->Handle(req.method, req.path, req.query, req.body, topic, WallMs());
  if (a.status == 503) NoteFatal();
  Response r = Answer("silences", a.status, std::move(a.body));
  r.content_type = "application/json";
  if (a.status == 405) r.headers.back() = {"Allow", SilencesApi::Allowed(req.path)};
  return r;
}

IntakeServer::Response IntakeServer::Alerts(const Request& req) {
  struct Slot {
    std::atomic<int>& n;
    ~Slot() { --n; }
  } slot{alert_lists_};
  if (++alert_lists_ > MaxAlertLists()) {
    std::string body;
    JsonWriter::Escape(
        "busy: " + std::to_string(MaxAlertLists()) + " alert lists are being read; try again",
        &body);
    Response r = Answer("alerts_list", 503, std::move(body));
    r.content_type = "application/json";
    return r;
  }
  std::shared_ptr<const rules::CompiledRules> rules;
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    rules = rules_;
  }
  // The runtime silences now, from the rules' silences input (if there is one).
  std::map<std::string, SilencesApi::Stored> silences;
  AlertsApi::Answer a;
  for (const rules::InputRule& in : rules->inputs) {
    std::string error;
    if (in.format == "silences" && !silences_->ReadAll(in.topic, &silences, &error)) {
      a = ApiAnswer::Error(503, "cannot read the silences: " + error);
    }
  }
  if (a.status == 200) a = alerts_->List(req.query, rules, silences, WallMs());
  Response r = Answer("alerts_list", a.status, std::move(a.body));
  r.content_type = "application/json";
  return r;
}

IntakeServer::Response IntakeServer::Handle(const Request& req) {
  // Credentials first: an unauthenticated caller learns nothing of the inputs.
  if (!Authorized(req.authorization)) return Answer("other", 401, "unauthorized");
  if (SilencesApi::Serves(req.path)) return Silences(req);
  if (AlertsApi::Serves(req.method, req.path)) return Alerts(req);
  // Routed and decoded under the same rules (a reload may swap them meanwhile).
  std::unique_lock<std::mutex> rules_lock(rules_mu_);
  Route route = Resolve(req.path);
  if (route.status != 0) return Answer(route.endpoint, route.status, route.error);
  if (req.method != "POST") {
    const bool list = req.path == "/api/v2/alerts";  // (GET is the alert list: AlertsApi)
    Response r =
        Answer(route.endpoint, 405, list ? "use GET (the alert list) or POST" : "use POST");
    if (list) r.headers.back() = {"Allow", "GET, POST"};
    return r;
  }
  if (!req.content_encoding.empty() && TrimSpace(req.content_encoding) != "identity") {
    return Answer(route.endpoint, 415,
                  "Content-Encoding " + std::string(req.content_encoding) + " is not read");
  }
  if (req.body_too_large) {
    return Answer(
        route.endpoint, 413,
        "the body is over " + std::to_string(max_body_bytes_) + " bytes (intake.max_body_bytes)");
  }
  if (req.body_cut) {
    return Answer(route.endpoint, 400, "the body ended before its Content-Length");
  }
  const int64_t now = WallMs();
  if (std::string why = Undecodable(route.topic, req.body, now); !why.empty()) {
    return Answer(route.endpoint, 400, "nothing in the body can be read: " + why);
  }
  rules_lock.unlock();  // (the wait for the broker must not hold up other requests)
  const auto start = std::chrono::steady_clock::now();
  std::string detail;
  switch (producer_.Publish(route.topic, req.body, now, &detail)) {
    case IntakeProducer::Outcome::kStored:
      ack_seconds_.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      return Answer(route.endpoint, 200, "");
    case IntakeProducer::Outcome::kRejected:
      return Answer(route.endpoint, 413, "the broker refused the body: " + detail);
    case IntakeProducer::Outcome::kUnavailable:
      break;
  }
  if (std::string fatal = producer_.FatalError(); !fatal.empty()) {
    NoteFatal();
    return Answer(route.endpoint, 503, "not stored, try again: fatal producer error: " + fatal);
  }
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    if (now - last_unavailable_log_ms_ >= 10'000) {  // one line per 10 s at most
      last_unavailable_log_ms_ = now;
      log_ << "noisegate: level=warn event=intake_unavailable topic=" << route.topic << " error=\""
           << detail << "\" answer=503\n";
    }
  }
  return Answer(route.endpoint, 503, "not stored, try again: " + detail);
}

}  // namespace noisegate::processor
