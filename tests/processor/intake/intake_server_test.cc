// The HTTP intake against librdkafka's mock cluster: what is answered 200 is on the input's
// topic, what can never be read or is not allowed in is refused with a reason and stored
// nowhere, and a broker that does not answer makes a 503 the sender retries on. The real
// clients (Prometheus, Alertmanager) and a real broker: tests/kafka/live_test.sh http_intake.
#include "processor/intake/intake_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/processor/intake/intake_fixture.h"

namespace noisegate::processor {
namespace {

constexpr const char* kApiBody =
    R"([{"labels":{"alertname":"CheckoutDown","severity":"critical"},"annotations":{"summary":"s"},"startsAt":"2026-12-04T10:00:00Z"}])";

std::string TempFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "intake_test." +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + "." + name;
  std::ofstream(path) << text;
  return path;
}

// One HTTP/1.1 exchange over a fresh connection: the status line's code and the raw answer.
// `half_close`: the client stops sending after the request (as a sender that went away).
int Http(int port, const std::string& request, std::string* answer = nullptr,
         bool half_close = false) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // (the server may answer and close before it has read everything)
    sent += static_cast<size_t>(n);
  }
  if (half_close) shutdown(fd, SHUT_WR);
  std::string in;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) in.append(buf, static_cast<size_t>(n));
  close(fd);
  if (answer != nullptr) *answer = in;
  if (in.size() < 12) return -1;
  return std::stoi(in.substr(9, 3));
}

std::string Post(const std::string& path, const std::string& body,
                 const std::string& headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body;
}

TEST_F(IntakeTest, AnAcceptedBodyIsOnItsInputsTopicAsSent) {
  Start();
  std::string answer;
  EXPECT_EQ(Http(server_->port(), Post("/api/v2/alerts", kApiBody), &answer), 200) << answer;
  const std::string webhook =
      R"({"id":"i-1","issueUrl":"u","title":"t","priority":"CRITICAL","state":"ACTIVATED","createdAt":1764842400000})";
  EXPECT_EQ(Http(server_->port(), Post("/webhook/alerts.newrelic", webhook), &answer), 200)
      << answer;
  EXPECT_EQ(Stored("alerts.prometheus"), std::vector<std::string>{kApiBody});
  EXPECT_EQ(Stored("alerts.newrelic"), std::vector<std::string>{webhook});
}

TEST_F(IntakeTest, ABodyNothingCanBeReadOfIsRefusedWithItsReason) {
  Start();
  IntakeServer::Request req;
  req.method = "POST";
  req.path = "/api/v2/alerts";
  req.body = "{not json";
  IntakeServer::Response res = server_->Handle(req);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("not_json"), std::string::npos) << res.body;
  req.body = R"([{"annotations":{"summary":"no labels"}}])";
  res = server_->Handle(req);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("missing_field"), std::string::npos) << res.body;
  req.path = "/webhook/alerts.newrelic";
  req.body = R"({"foo":1})";
  res = server_->Handle(req);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("unsupported_shape"), std::string::npos) << res.body;
  // One good alert beside a bad one: taken; the bad one becomes a dead letter downstream.
  req.path = "/api/v2/alerts";
  req.body = R"([{"labels":{"alertname":"A"}},{"annotations":{}}])";
  EXPECT_EQ(server_->Handle(req).status, 200);
  EXPECT_EQ(Stored("alerts.prometheus").size(), 1u);
  EXPECT_TRUE(Stored("alerts.newrelic").empty());
}

TEST_F(IntakeTest, PathsNameAnInputOrSayWhatTheyShouldBe) {
  Start();
  IntakeServer::Request req;
  req.method = "POST";
  req.body = kApiBody;
  auto status = [&](const char* path, std::string* body = nullptr) {
    req.path = path;
    IntakeServer::Response res = server_->Handle(req);
    if (body != nullptr) *body = res.body;
    return res.status;
  };
  std::string body;
  EXPECT_EQ(status("/webhook/alerts.prometheus/api/v2/alerts"), 200);
  EXPECT_EQ(status("/webhook/alerts.other", &body), 404);
  EXPECT_NE(body.find("no input reads topic \"alerts.other\""), std::string::npos) << body;
  EXPECT_EQ(status("/webhook/alerts.newrelic/api/v2/alerts", &body), 404);
  EXPECT_NE(body.find("is newrelic"), std::string::npos) << body;
  EXPECT_EQ(status("/api/v1/alerts"), 404);
  EXPECT_EQ(status("/webhook/"), 404);
  req.method = "PUT";
  EXPECT_EQ(status("/api/v2/alerts"), 405);
  EXPECT_EQ(server_->Handle(req).headers.back(),
            (std::pair<std::string, std::string>{"Allow", "GET, POST"}));
  EXPECT_EQ(status("/webhook/alerts.prometheus"), 405);
  EXPECT_EQ(server_->Handle(req).headers.back(),
            (std::pair<std::string, std::string>{"Allow", "POST"}));
  req.method = "POST";
  req.content_encoding = "gzip";
  EXPECT_EQ(status("/api/v2/alerts"), 415);
  EXPECT_EQ(Stored("alerts.prometheus").size(), 1u);
}

TEST_F(IntakeTest, TheAlertApiNeedsOneAlertmanagerInputOrItsTopicInThePath) {
  Start({},
        std::string(kInputs) + "  - topic: alerts.other\n    format: alertmanager\n" + kCorrelate);
  IntakeServer::Request req;
  req.method = "POST";
  req.path = "/api/v2/alerts";
  req.body = kApiBody;
  IntakeServer::Response res = server_->Handle(req);
  EXPECT_EQ(res.status, 404);
  EXPECT_NE(res.body.find("path_prefix: /webhook/<topic>"), std::string::npos) << res.body;
  req.path = "/webhook/alerts.other/api/v2/alerts";
  EXPECT_EQ(server_->Handle(req).status, 200);
  EXPECT_EQ(Stored("alerts.other").size(), 1u);
}

TEST_F(IntakeTest, ReloadedRulesChangeWhichTopicsTakeBodies) {
  Start();
  IntakeServer::Request req;
  req.method = "POST";
  req.path = "/webhook/alerts.other";
  req.body = kApiBody;
  EXPECT_EQ(server_->Handle(req).status, 404);
  server_->SetRules(Rules(
      std::string("inputs:\n  - topic: alerts.other\n    format: alertmanager\n") + kCorrelate));
  EXPECT_EQ(server_->Handle(req).status, 200);
  req.path = "/webhook/alerts.prometheus";
  EXPECT_EQ(server_->Handle(req).status, 404);
}

TEST_F(IntakeTest, OnlyThoseWithTheCredentialsGetIn) {
  IntakeConfig cfg;
  cfg.bearer_token_file = TempFile("token", "t0ken\n");
  cfg.basic_auth_file = TempFile("users", "# who may send\nprometheus:pw1\nam:pw2\n");
  Start(cfg);
  IntakeServer::Request req;
  req.method = "POST";
  req.path = "/api/v2/alerts";
  req.body = kApiBody;
  auto status = [&](const char* authorization) {
    req.authorization = authorization;
    return server_->Handle(req).status;
  };
  EXPECT_EQ(status(""), 401);
  EXPECT_EQ(status("Bearer t0ke"), 401);
  EXPECT_EQ(status("Bearer t0ken"), 200);
  EXPECT_EQ(status("bearer  t0ken"), 200);
  EXPECT_EQ(status("Basic cHJvbWV0aGV1czpwdzE="), 200);  // prometheus:pw1
  EXPECT_EQ(status("Basic YW06cHcy"), 200);              // am:pw2
  EXPECT_EQ(status("Basic YW06cHcx"), 401);              // am:pw1
  EXPECT_EQ(status("Basic !!!"), 401);
  // Without credentials, a wrong path says nothing about the inputs either.
  req.path = "/webhook/alerts.other";
  EXPECT_EQ(status(""), 401);
  EXPECT_EQ(Stored("alerts.prometheus").size(), 4u);
}

TEST_F(IntakeTest, CredentialsAreReadFromTheRequestsHeader) {
  IntakeConfig cfg;
  cfg.basic_auth_file = TempFile("users", "am:pw2\n");
  Start(cfg);
  std::string answer;
  EXPECT_EQ(Http(server_->port(), Post("/api/v2/alerts", kApiBody), &answer), 401) << answer;
  EXPECT_NE(answer.find("WWW-Authenticate: Basic"), std::string::npos) << answer;
  EXPECT_EQ(Http(server_->port(),
                 Post("/api/v2/alerts", kApiBody, "Authorization: Basic YW06cHcy\r\n"), &answer),
            200)
      << answer;
  EXPECT_EQ(Stored("alerts.prometheus").size(), 1u);
}

TEST_F(IntakeTest, OneConnectionCarriesManyRequests) {
  Start();
  // Prometheus keeps its connection: two requests on one, the second closing it.
  std::string first = "POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(std::string(kApiBody).size()) + "\r\n\r\n" + kApiBody;
  std::string answer;
  Http(server_->port(), first + Post("/api/v2/alerts", kApiBody), &answer);
  size_t oks = 0;
  for (size_t at = answer.find("HTTP/1.1 200"); at != std::string::npos;
       at = answer.find("HTTP/1.1 200", at + 1)) {
    ++oks;
  }
  EXPECT_EQ(oks, 2u) << answer;
  EXPECT_EQ(Stored("alerts.prometheus").size(), 2u);
}

TEST_F(IntakeTest, ABodyCutShortIsNotTaken) {
  Start();
  // Content-Length says more than comes before the sender stops: the prefix "[]" would parse.
  std::string cut =
      "POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n"
      R"([{"labels":{"alertname":"A"}}])";
  std::string answer;
  EXPECT_EQ(Http(server_->port(), cut, &answer, true), 400) << answer;
  EXPECT_NE(answer.find("ended before its Content-Length"), std::string::npos) << answer;
  EXPECT_TRUE(Stored("alerts.prometheus").empty());
}

TEST_F(IntakeTest, TheBodyLimitIsNeverAboveWhatTheLoopDecodes) {
  IntakeConfig cfg;
  cfg.max_body_bytes = 8 << 20;  // over the loop's 1 MiB
  Start(cfg);
  EXPECT_EQ(server_->max_body_bytes(), 1u << 20);
}

TEST_F(IntakeTest, UnreadableCredentialsStopTheStart) {
  IntakeConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.basic_auth_file = TempFile("users", "no-colon-here\n");
  IntakeServer server(cfg, 1 << 20, registry_, log_);
  std::string err;
  EXPECT_FALSE(server.Start({{"bootstrap.servers", bootstrap_}}, Rules(kRules), &err));
  EXPECT_NE(err.find(":1: expected user:password"), std::string::npos) << err;
  cfg.basic_auth_file.clear();
  cfg.bearer_token_file = ::testing::TempDir() + "intake_test.absent";
  IntakeServer server2(cfg, 1 << 20, registry_, log_);
  EXPECT_FALSE(server2.Start({{"bootstrap.servers", bootstrap_}}, Rules(kRules), &err));
  EXPECT_NE(err.find("bearer_token_file"), std::string::npos) << err;
}

TEST_F(IntakeTest, ABodyOverTheLimitIsRefusedBeforeItIsRead) {
  IntakeConfig cfg;
  cfg.max_body_bytes = 1024;
  Start(cfg);
  std::string big = "[" + std::string(2000, ' ') + "]";
  std::string answer;
  EXPECT_EQ(Http(server_->port(), Post("/api/v2/alerts", big), &answer), 413) << answer;
  EXPECT_NE(answer.find("intake.max_body_bytes"), std::string::npos) << answer;
  // Chunked, so no length up front: cut off once past the limit.
  std::string chunked =
      "POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: "
      "chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, ' ') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_EQ(Http(server_->port(), chunked, &answer), 413) << answer;
  EXPECT_TRUE(Stored("alerts.prometheus").empty());
}

TEST_F(IntakeTest, ABrokerThatDoesNotAnswerIsA503ToRetry) {
  Start();
  rd_kafka_mock_broker_set_down(mc_, 1);
  IntakeServer::Request req;
  req.method = "POST";
  req.path = "/api/v2/alerts";
  req.body = kApiBody;
  auto t0 = std::chrono::steady_clock::now();
  IntakeServer::Response res = server_->Handle(req);
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(8));
  bool retry_after = false;
  for (const auto& [k, v] : res.headers) retry_after |= k == "Retry-After";
  EXPECT_TRUE(retry_after);
  EXPECT_NE(log_.str().find("event=intake_unavailable"), std::string::npos) << log_.str();
  rd_kafka_mock_broker_set_up(mc_, 1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    status = server_->Handle(req).status;
  }
  EXPECT_EQ(status, 200);
}

// A fatal producer error (an idempotent producer that lost its sequence) fails every later
// body: each is a 503 the sender retries on, and the intake asks once for the process to be
// restarted (RunLive fails liveness and stops the loop), with a log line that says why.
TEST_F(IntakeTest, AFatalProducerErrorIsA503AndAsksOnceForARestart) {
  Start();
  int calls = 0;
  std::string error;
  server_->OnFatal([&](const std::string& e) {
    ++calls;
    error = e;
  });
  IntakeServer::Request req;
  req.method = "POST";
  req.path = "/api/v2/alerts";
  req.body = kApiBody;
  ASSERT_EQ(server_->Handle(req).status, 200);
  server_->producer().SimulateFatalError("test: the producer lost its sequence");
  IntakeServer::Response res = server_->Handle(req);
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_NE(res.body.find("fatal producer error"), std::string::npos) << res.body;
  EXPECT_EQ(server_->Handle(req).status, 503);
  EXPECT_EQ(calls, 1);
  EXPECT_NE(error.find("the producer lost its sequence"), std::string::npos) << error;
  EXPECT_NE(log_.str().find("event=intake_fatal"), std::string::npos) << log_.str();
  EXPECT_EQ(Stored("alerts.prometheus").size(), 1u);
}

}  // namespace
}  // namespace noisegate::processor
