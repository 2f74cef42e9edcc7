// Tests of the `newrelic` decoder: the workflow webhook's default payload mapped to labels,
// state and event time, and its required fields.
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

TEST(NewRelicDecoder, ActivatedIssueMapsToAFiringAlert) {
  Harness h("newrelic");
  h.Run(ReadFixture("newrelic_activated.json"));
  ASSERT_TRUE(h.dead.empty()) << h.dead[0].reason << ": " << h.dead[0].detail;
  ASSERT_EQ(h.out.size(), 1u);
  const Record& r = h.out[0];
  EXPECT_EQ(r.addr.index, 0);
  EXPECT_EQ(r.kind, SignalKind::kAlert);
  EXPECT_EQ(r.state, AlertState::kFiring);
  EXPECT_THAT(LabelMap(r.labels),
              ElementsAre(Pair("account_id", "1234567"), Pair("alertname", "High error rate"),
                          Pair("entity", "checkout"),
                          Pair("issue_id", "c5faa7e6-7b54-402d-af79-f99601e0278c"),
                          Pair("policy", "Golden Signals"), Pair("service", "checkout"),
                          Pair("severity", "error"), Pair("source", "newrelic")));
  EXPECT_EQ(r.summary, "checkout query result is > 2.0 for 5 minutes on 'High error rate'");
  EXPECT_THAT(r.link, HasSubstr("radar-api.service.newrelic.com"));
  EXPECT_EQ(r.time.ms, kT0 + 60123);  // updatedAt
}

TEST(NewRelicDecoder, ClosedIssueIsResolvedAndPrefersTheIssuePage) {
  Harness h("newrelic");
  h.Run(ReadFixture("newrelic_closed.json"));
  ASSERT_EQ(h.out.size(), 1u) << h.dead[0].detail;
  const Record& r = h.out[0];
  EXPECT_EQ(r.state, AlertState::kResolved);
  EXPECT_EQ(r.labels.Get("issue_id"), "95a9344a-2590-48ce-8d83-07e28b6d22c6");
  EXPECT_EQ(r.labels.Get("severity"), "critical");
  EXPECT_EQ(r.labels.Get("account_id"), "1234567");  // given as a string here
  EXPECT_EQ(r.link,
            "https://one.newrelic.com/alerts-ai/issues/95a9344a-2590-48ce-8d83-07e28b6d22c6");
  EXPECT_EQ(r.time.ms, kT0 + 300000);
}

TEST(NewRelicDecoder, KafkaTimestampWinsAndCreatedAtIsTheLastFallback) {
  Harness h("newrelic");
  h.Run(ReadFixture("newrelic_activated.json"), kT0 + 5);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].time.ms, kT0 + 5);

  h.Run(R"({"issueId":"i1","state":"CREATED","title":"t","createdAt":"1795489200000"})");
  ASSERT_EQ(h.out.size(), 1u) << h.dead[0].detail;
  EXPECT_EQ(h.out[0].time.ms, kT0);
  EXPECT_EQ(h.out[0].state, AlertState::kFiring);
  EXPECT_EQ(h.out[0].labels.Get("alertname"), "t");  // no condition names: the title
}

TEST(NewRelicDecoder, PriorityMapsToSeverity) {
  Harness h("newrelic");
  for (auto [priority, severity] : {std::pair{"CRITICAL", "critical"},
                                    {"HIGH", "error"},
                                    {"MEDIUM", "warning"},
                                    {"LOW", "info"},
                                    {"odd", ""}}) {
    h.Run(std::string(R"({"issueId":"i","state":"ACTIVATED","priority":")") + priority + "\"}",
          kT0);
    ASSERT_EQ(h.out.size(), 1u);
    EXPECT_EQ(h.out[0].labels.Get("severity"), severity) << priority;
  }
}

TEST(NewRelicDecoder, RequiredFieldsAndTypes) {
  Harness h("newrelic");
  h.Run(R"({"issueId":"i","title":"t","updatedAt":1795489200000})");
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("state"));

  h.Run(R"({"state":"ACTIVATED","title":"t","updatedAt":1795489200000})");
  h.ExpectRejected(reason::kMissingField);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("issueId"));

  h.Run(R"({"issueId":"i","state":"ACTIVATED"})");
  h.ExpectRejected(reason::kBadTimestamp);

  h.Run(R"({"issueId":"i","state":"ACTIVATED","updatedAt":"last tuesday"})");
  h.ExpectRejected(reason::kBadTimestamp);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("updatedAt"));

  h.Run(R"({"issueId":"i","state":"ACTIVATED","impactedEntities":{"name":"x"}})", kT0);
  h.ExpectRejected(reason::kWrongType);
  EXPECT_THAT(h.dead[0].detail, HasSubstr("impactedEntities"));

  h.Run(R"({"issueId":{"id":1},"state":"ACTIVATED"})", kT0);
  h.ExpectRejected(reason::kWrongType);

  h.Run(R"({"receiver":"x","alerts":[]})");
  h.ExpectRejected(reason::kUnsupportedShape);

  h.Run(R"([{"issueId":"i","state":"ACTIVATED"}])");
  h.ExpectRejected(reason::kUnsupportedShape);
}

}  // namespace
}  // namespace noisegate::processor
