// Log templates: variable parts are masked so that one problem is one signal.
#include "dedup/log_template.h"

#include <gtest/gtest.h>

namespace noisegate::dedup {
namespace {

std::string T(std::string_view m) {
  std::string out;
  MineTemplate(m, &out);
  return out;
}

TEST(LogTemplateTest, NumbersAndDurationsAreMasked) {
  EXPECT_EQ(T("timeout after 3012ms for user 12345"), T("timeout after 2999ms for user 777"));
  EXPECT_EQ(T("timeout after 3012ms for user 12345"), "timeout after <num> for user <num>");
}

TEST(LogTemplateTest, IdsAddressesAndPathsAreMasked) {
  EXPECT_EQ(T("request 550e8400-e29b-41d4-a716-446655440000 failed"), "request <uuid> failed");
  EXPECT_EQ(T("connect to 10.2.3.4:5432 refused"), "connect to <ip> refused");
  EXPECT_EQ(T("connect to [2001:db8::1]:443 refused"), "connect to <ip> refused");
  EXPECT_EQ(T("open /var/lib/data/file.db failed"), "open <path> failed");
  EXPECT_EQ(T("GET https://api.example.com/v1/x?id=3 returned 500"), "GET <url> returned <num>");
  EXPECT_EQ(T("trace 0xdeadbeef and 4f3a9c2e1b"), "trace <hex> and <hex>");
  EXPECT_EQ(T("user user12345 not found"), "user <id> not found");
  EXPECT_EQ(T("mail to bob@example.com bounced"), "mail to <email> bounced");
}

TEST(LogTemplateTest, HexIdsThatEndInLettersAreNotNumbers) {
  EXPECT_EQ(T("order 45322dda failed"), T("order 20cc20e4 failed"));
}

TEST(LogTemplateTest, HexIdsOfLettersAloneAreIdsButWordsStay) {
  EXPECT_EQ(T("order bceaedbb failed"), "order <hex> failed");
  EXPECT_EQ(T("order bceaedbb."), "order <hex>.");
  EXPECT_EQ(T("cache miss: accede to facade decade"), "cache miss: accede to facade decade");
  EXPECT_EQ(T("-------- add-a-bed --------"), "-------- add-a-bed --------");
}

// One slot of a message holds an id that is sometimes all digits, sometimes hex: the template
// shows what it saw, the key is the same.
TEST(LogTemplateTest, NumbersHexAndMixedIdsKeyAlike) {
  auto key = [](std::string_view m) {
    std::string k;
    TemplateKey(T(m), &k);
    return k;
  };
  EXPECT_EQ(T("order 45888872 failed"), "order <num> failed");
  EXPECT_EQ(T("order b33df7e3 failed"), "order <hex> failed");
  EXPECT_EQ(key("order 45888872 failed"), key("order b33df7e3 failed"));
  EXPECT_EQ(key("order 45888872 failed"), key("order user12 failed"));
  EXPECT_EQ(key("order 45888872 failed"), "order <*> failed");
  EXPECT_NE(key("order 45888872 failed"), key("order 10.0.0.1 failed"));
  EXPECT_EQ(key("a <b> <numx <num"), "a <b> <numx <num");  // only whole placeholders
}

TEST(LogTemplateTest, QuotedValuesAndKeyValuesAreMasked) {
  EXPECT_EQ(T("unknown field 'color' in \"x y z\""), "unknown field <str> in <str>");
  EXPECT_EQ(T("retry attempt=3 backoff=250ms"), "retry attempt=<num> backoff=<num>");
}

TEST(LogTemplateTest, WordsAndPunctuationStay) {
  EXPECT_EQ(T("  Connection   refused (payments-db).  "), "Connection refused (payments-db).");
}

TEST(LogTemplateTest, WorkIsBounded) {
  std::string huge(1 << 20, 'a');
  std::string out;
  MineTemplate(huge, &out);
  EXPECT_LE(out.size(), kMaxTemplateInput);
}

}  // namespace
}  // namespace noisegate::dedup
