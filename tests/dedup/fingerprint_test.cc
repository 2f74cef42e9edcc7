// Fingerprints: pinned values (they key state and dedup keys across versions), order
// independence, empty = missing, and collision handling by canonical key.
#include "dedup/fingerprint.h"

#include <gtest/gtest.h>

#include "dedup/fingerprint_index.h"

namespace noisegate::dedup {
namespace {

Fingerprint Of(std::vector<std::pair<std::string, std::string>> labels,
               std::vector<std::string> names = {}) {
  LabelSet ls;
  for (auto& [k, v] : labels) ls.Add(k, v);
  ls.Canonicalize();
  KeyBuilder kb;
  kb.Begin(SignalKind::kAlert);
  kb.AppendLabels(ls, names);
  return kb.Hash();
}

TEST(FingerprintTest, GoldenValuesNeverChangeSilently) {
  // If this fails, fingerprints changed: state and dedup keys of running deployments would
  // no longer match. Change only on purpose, with a migration note.
  EXPECT_EQ(ToHex(Of({{"alertname", "Down"}, {"service", "api"}})), "9d9fb12d5a9db6f9");
  EXPECT_EQ(ToHex(Of({})), "09b46555c005b758");
}

TEST(FingerprintTest, LabelOrderDoesNotMatter) {
  EXPECT_EQ(Of({{"a", "1"}, {"b", "2"}, {"c", "3"}}), Of({{"c", "3"}, {"a", "1"}, {"b", "2"}}));
}

TEST(FingerprintTest, EmptyLabelEqualsMissingLabel) {
  EXPECT_EQ(Of({{"a", "1"}, {"b", ""}}), Of({{"a", "1"}}));
}

TEST(FingerprintTest, EncodingIsUnambiguous) {
  // Length prefixes: "ab"+"c" and "a"+"bc" must not collide by construction.
  EXPECT_NE(Of({{"ab", "c"}}), Of({{"a", "bc"}}));
  EXPECT_NE(Of({{"a", "b"}, {"c", "d"}}), Of({{"a", "bcd"}}));
}

TEST(FingerprintTest, ConfiguredLabelsOnlyAreUsed) {
  EXPECT_EQ(Of({{"alertname", "X"}, {"pod", "p1"}}, {"alertname"}),
            Of({{"alertname", "X"}, {"pod", "p2"}}, {"alertname"}));
  EXPECT_NE(Of({{"alertname", "X"}, {"pod", "p1"}}), Of({{"alertname", "X"}, {"pod", "p2"}}));
}

TEST(FingerprintIndexTest, EqualHashesOfDifferentIdentitiesStayApart) {
  FingerprintIndex idx;
  auto [a, a_new] = idx.FindOrInsert(42, 1);
  auto [b, b_new] = idx.FindOrInsert(42, 2);  // same fingerprint, other identity
  auto [a2, a2_new] = idx.FindOrInsert(42, 1);
  auto [b2, b2_new] = idx.FindOrInsert(42, 2);
  EXPECT_TRUE(a_new);
  EXPECT_TRUE(b_new);
  EXPECT_NE(a, b);
  EXPECT_FALSE(a2_new);
  EXPECT_FALSE(b2_new);
  EXPECT_EQ(a2, a);
  EXPECT_EQ(b2, b);
  EXPECT_EQ(idx.size(), 2u);
}

}  // namespace
}  // namespace noisegate::dedup

namespace noisegate::dedup {
namespace {
TEST(FingerprintTest, VerifyHashIsIndependentOfTheFingerprint) {
  KeyBuilder a, b;
  a.Begin(SignalKind::kAlert);
  a.Append("alertname", "X");
  b.Begin(SignalKind::kAlert);
  b.Append("alertname", "Y");
  EXPECT_NE(a.Verify(), a.Hash().value);
  EXPECT_NE(a.Verify(), b.Verify());
}
}  // namespace
}  // namespace noisegate::dedup
