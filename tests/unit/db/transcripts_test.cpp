#include "db/transcripts.hpp"

#include <gtest/gtest.h>

#include "test_dir.hpp"

namespace partyline::db {
namespace {

StoredTranscript two_lines() {
  return {"english",
          20,
          {{0, 4.5, "host ***1111", "Welcome to the harbour festival."},
           {12.5, 17, "", "Fireworks at nine, weather permitting."}}};
}

TEST(FtsQuery, WordsOnlyEachAPrefixNeverSyntax) {
  EXPECT_EQ(fts_query("Harbour  FEST"), "\"harbour\"* \"fest\"*");
  EXPECT_EQ(fts_query("a\" OR NEAR(b*) -c"), "\"a\"* \"or\"* \"near\"* \"b\"* \"c\"*");
  EXPECT_EQ(fts_query(" ,.;\"()*^ "), "");
  EXPECT_EQ(fts_query("café"), "\"café\"*");
}

TEST(TranscriptStore, KeepsFindsReplacesAndForgets) {
  testing::TestDir dir;
  TranscriptStore store(dir.path() / "partyline.db");
  EXPECT_FALSE(store.get("RE1").has_value());
  store.save("RE1", two_lines());
  const auto got = store.get("RE1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->language, "english");
  ASSERT_EQ(got->lines.size(), 2u);
  EXPECT_EQ(got->lines[1].start, 12.5);
  EXPECT_EQ(got->lines[0].speaker, "host ***1111");

  auto hits = store.search("fireworks nine", 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].recording_sid, "RE1");
  EXPECT_EQ(hits[0].start, 12.5);
  EXPECT_TRUE(store.search("harb", 10).size() == 1) << "a prefix finds the word";
  EXPECT_TRUE(store.search("zeppelin", 10).empty());
  EXPECT_TRUE(store.search("\"", 10).empty());
  EXPECT_TRUE(store.search("host", 10).empty()) << "speakers are not searched as words said";

  // Made again: the old lines go, with their search entries.
  store.save("RE1", {"english", 3, {{1, 2, "", "Only this now."}}});
  EXPECT_EQ(store.get("RE1")->lines.size(), 1u);
  EXPECT_TRUE(store.search("fireworks", 10).empty());

  store.save_summary("RE1", "# Summary");
  EXPECT_EQ(store.summary("RE1"), "# Summary");
  store.remove("RE1");
  EXPECT_FALSE(store.get("RE1").has_value());
  EXPECT_FALSE(store.summary("RE1").has_value());
  EXPECT_TRUE(store.search("only", 10).empty());
}

}  // namespace
}  // namespace partyline::db
