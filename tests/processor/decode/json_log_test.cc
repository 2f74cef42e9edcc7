// Tests of the `json_log` decoder: default field lookup (ECS dotted and nested keys, plain and
// pino-style logs), configured JSON pointers, and required fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "processor/decode/dead_letter.h"
#include "tests/processor/decode/decode_test_util.h"

namespace noisegate::processor {
namespace {

using decode_test::Harness;
using decode_test::kT0;
using decode_test::LabelMap;
using decode_test::ReadFixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(JsonLogDecoder, EcsLineFindsDottedAndNestedFields) {
  Harness h("json_log");
  h.Run(ReadFixture("json_log_ecs.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_EQ(r.kind, SignalKind::kLog);
  EXPECT_EQ(r.state, AlertState::kFiring);
  EXPECT_THAT(LabelMap(r.labels),
              ElementsAre(Pair("error_type", "java.net.SocketTimeoutException"),
                          Pair("host", "ip-10-0-1-17"), Pair("level", "error"),
                          Pair("namespace", "payments"), Pair("node", "ip-10-0-1-17"),
                          Pair("pod", "checkout-5f7c9d-abcde"), Pair("service", "checkout"),
                          Pair("version", "2.14.1"), Pair("zone", "eu-west-1a")));
  EXPECT_EQ(r.summary, "payment authorization failed");
  EXPECT_THAT(r.description, HasSubstr("SocketTimeoutException: Read timed out\n\tat"));
  EXPECT_EQ(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.time.ms, kT0 + 1250);
}

TEST(JsonLogDecoder, ArrayOfPlainLinesGivesOneRecordEach) {
  Harness h("json_log");
  h.Run(ReadFixture("json_log_plain.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 2u);

  const Record& a = h.out[0];
  EXPECT_EQ(a.addr.index, 0);
  EXPECT_THAT(LabelMap(a.labels),
              ElementsAre(Pair("error_type", "ECONNREFUSED"), Pair("level", "error"),   // pino's 50
                          Pair("pod", "orders-7c9f-xk2lp"), Pair("service", "orders"),  // app
                          Pair("zone", "eu-west-1b")));
  EXPECT_EQ(a.summary, "upstream connect error");                               // msg
  EXPECT_THAT(a.description, HasSubstr("ECONNREFUSED 10.0.3.4:5432\n    at"));  // stack
  EXPECT_EQ(a.trace_id, "0af7651916cd43dd8448eb211c80319c");                    // traceId
  EXPECT_EQ(a.time.ms, kT0 + 1250);                                             // epoch ms

  const Record& b = h.out[1];
  EXPECT_EQ(b.addr.index, 1);
  EXPECT_THAT(LabelMap(b.labels), ElementsAre(Pair("level", "warn"), Pair("service", "orders"),
                                              Pair("version", "1.2.3")));
  EXPECT_EQ(b.time.ms, kT0 + 2500);  // epoch seconds with a fraction
  EXPECT_EQ(b.description, "");
  EXPECT_EQ(b.trace_id, "");
}

TEST(JsonLogDecoder, ConfiguredPointersReplaceTheDefaults) {
  DecoderConfig config;
  config.fields.service = "/kubernetes/labels/app";
  config.fields.message = "/log";
  config.fields.time = "/meta/0/at";               // array index
  config.fields.level = "stream";                  // no leading '/': a top-level key
  config.fields.labels = {{"node", "/k8s~1node"},  // "k8s/node", replaces the default node
                          {"tenant", "/ctx/tenant~0id"}};
  Harness h("json_log", config);
  h.Run(R"({"kubernetes":{"labels":{"app":"billing"}},"service":"ignored","log":"boom",
            "meta":[{"at":"2026-11-24T03:00:00Z"}],"stream":"STDERR",
            "k8s/node":"n-1","node":"ignored","ctx":{"tenant~id":"acme"},"message":"ignored"})");
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_THAT(LabelMap(h.out[0].labels),
              ElementsAre(Pair("level", "stderr"), Pair("node", "n-1"), Pair("service", "billing"),
                          Pair("tenant", "acme")));
  EXPECT_EQ(h.out[0].summary, "boom");
  EXPECT_EQ(h.out[0].time.ms, kT0);
}

TEST(JsonLogDecoder, ConfiguredPointerToAnObjectIsWrongType) {
  DecoderConfig config;
  config.fields.service = "/service";
  Harness h("json_log", config);
  h.Run(R"({"service":{"name":"x"},"message":"m"})", kT0);
  h.ExpectRejected(reason::kWrongType);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("/service"));
}

TEST(JsonLogDecoder, ConfiguredTimePointerToAListIsWrongTypeEvenWithAKafkaTimestamp) {
  // The Kafka timestamp is the event time when there is one; a configured time field that
  // leads to a list is still a mistake in the rules or the logs, not something to ignore.
  DecoderConfig config;
  config.fields.time = "/at";
  Harness h("json_log", config);
  h.Run(R"({"service":"s","message":"m","at":["2026-11-24T03:00:00Z"]})", kT0);
  h.ExpectRejected(reason::kWrongType);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("/at"));
}

TEST(JsonLogDecoder, RequiredFieldsAndTime) {
  Harness h("json_log");
  h.Run(R"({"message":"m","@timestamp":"2026-11-24T03:00:00Z"})");
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("service"));
  EXPECT_THAT(h.dead[0].detail, HasSubstr("/service.name"));  // says where it looked

  h.Run(R"({"service":"s","@timestamp":"2026-11-24T03:00:00Z"})");
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("message"));

  h.Run(R"({"service":"s","message":"m"})");
  h.ExpectRejected(reason::kBadTimestamp);

  h.Run(R"({"service":"s","message":"m","time":"soon"})");
  h.ExpectRejected(reason::kBadTimestamp);

  h.Run(R"({"service":"s","message":"m"})", kT0);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].time.ms, kT0);

  // ECS "service" is an object; as a default candidate it is just not a match.
  h.Run(R"({"service":{"id":"x"},"message":"m"})", kT0);
  h.ExpectRejected(reason::kMissingField);
}

TEST(JsonLogDecoder, NonObjectArrayElementsAreDeadLetteredByIndex) {
  Harness h("json_log");
  h.Run(R"([{"service":"s","message":"a"}, "not a line", {"service":"s"},
            {"service":"s","message":"d"}])",
        kT0);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].addr.index, 0);
  EXPECT_EQ(h.out[1].addr.index, 3);
  ASSERT_EQ(h.dead.size(), 2u);
  EXPECT_EQ(h.dead[0].index, 1);
  EXPECT_EQ(h.dead[0].reason, reason::kWrongType);
  EXPECT_EQ(h.dead[1].index, 2);
  EXPECT_EQ(h.dead[1].reason, reason::kMissingField);
}

}  // namespace
}  // namespace noisegate::processor
