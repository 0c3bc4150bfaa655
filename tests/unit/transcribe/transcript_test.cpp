#include "transcribe/transcript.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace partyline::transcribe {
namespace {

// An answer as OpenAI's whisper-1 gives it for response_format=verbose_json.
constexpr const char* kOpenAiAnswer = R"({
  "task": "transcribe", "language": "english", "duration": 8.47,
  "text": "The beach was a popular spot on a hot summer day. People were swimming.",
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 3.319999933242798,
     "text": " The beach was a popular spot on a hot summer day.",
     "tokens": [50364, 440, 7534], "temperature": 0.0, "avg_logprob": -0.28,
     "compression_ratio": 1.2, "no_speech_prob": 0.009},
    {"id": 1, "seek": 0, "start": 3.96, "end": 8.47, "text": " People were swimming.",
     "tokens": [50530, 3432], "temperature": 0.0, "avg_logprob": -0.28,
     "compression_ratio": 1.2, "no_speech_prob": 0.009}
  ]
})";

Transcript make(std::vector<Segment> segments, double duration = 10, std::string language = "en") {
  return Transcript{std::move(language), duration, std::move(segments)};
}

TEST(Transcript, ParsesAVerboseJsonAnswer) {
  const auto t = parse(kOpenAiAnswer);
  ASSERT_TRUE(t) << t.error().reason;
  EXPECT_EQ(t->language, "english");
  EXPECT_DOUBLE_EQ(t->duration, 8.47);
  ASSERT_EQ(t->segments.size(), 2u);
  EXPECT_DOUBLE_EQ(t->segments[0].start, 0.0);
  EXPECT_DOUBLE_EQ(t->segments[0].end, 3.319999933242798);
  EXPECT_EQ(t->segments[0].text, "The beach was a popular spot on a hot summer day.");
  EXPECT_EQ(t->segments[0].speaker, "");
  EXPECT_DOUBLE_EQ(t->segments[1].start, 3.96);
  EXPECT_EQ(t->segments[1].text, "People were swimming.");
}

TEST(Transcript, ParsesATextOnlyAnswerAsOneSegment) {
  auto t = parse(R"({"text":" Hello there. ","duration":4.5})");
  ASSERT_TRUE(t) << t.error().reason;
  ASSERT_EQ(t->segments.size(), 1u);
  EXPECT_DOUBLE_EQ(t->segments[0].start, 0);
  EXPECT_DOUBLE_EQ(t->segments[0].end, 4.5);
  EXPECT_EQ(t->segments[0].text, "Hello there.");
  EXPECT_DOUBLE_EQ(t->duration, 4.5);

  t = parse(R"({"text":"Hi"})");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->segments.size(), 1u);
  EXPECT_DOUBLE_EQ(t->segments[0].end, 0);

  t = parse(R"({"text":"  ","segments":null,"language":null})");
  ASSERT_TRUE(t) << t.error().reason;
  EXPECT_TRUE(t->segments.empty());
  EXPECT_EQ(t->language, "");
}

TEST(Transcript, DurationDefaultsToTheLastEnd) {
  const auto t = parse(R"({"segments":[{"start":1,"end":7.5,"text":"a"},
                                      {"start":2,"end":3,"text":"b"}]})");
  ASSERT_TRUE(t) << t.error().reason;
  EXPECT_DOUBLE_EQ(t->duration, 7.5);
}

TEST(Transcript, MakesTextsOneLineAndDropsEmptySegments) {
  const auto t = parse(R"({"segments":[
      {"start":0,"end":1,"text":"\n  Hello\tthere \r\n friend\u0000!  "},
      {"start":1,"end":2,"text":" \n\t "},
      {"start":2,"end":3,"text":"caf\u00e9 \u2014 ok\u007f"}]})");
  ASSERT_TRUE(t) << t.error().reason;
  ASSERT_EQ(t->segments.size(), 2u);
  EXPECT_EQ(t->segments[0].text, "Hello there friend !");
  EXPECT_EQ(t->segments[1].text, "caf\u00e9 \u2014 ok");
}

TEST(Transcript, OrdersSegmentsByStartKeepingTies) {
  const auto t = parse(R"({"segments":[{"start":5,"end":6,"text":"c"},
      {"start":1,"end":2,"text":"a"},{"start":5,"end":5.5,"text":"d"},
      {"start":1,"end":9,"text":"b"}]})");
  ASSERT_TRUE(t) << t.error().reason;
  std::string order;
  for (const auto& s : t->segments)
    order += s.text;
  EXPECT_EQ(order, "abcd");
}

TEST(Transcript, ReadsSpeakersAsStringsOrNumbers) {
  const auto t = parse(R"({"segments":[{"start":0,"end":1,"text":"a","speaker":"A"},
      {"start":1,"end":2,"text":"b","speaker":1},{"start":2,"end":3,"text":"c","speaker":null}]})");
  ASSERT_TRUE(t) << t.error().reason;
  EXPECT_EQ(t->segments[0].speaker, "A");
  EXPECT_EQ(t->segments[1].speaker, "1");
  EXPECT_EQ(t->segments[2].speaker, "");
}

TEST(Transcript, AcceptsTheEdgesOfWhatIsValid) {
  auto t = parse(R"({"duration":10000000,"segments":[{"start":-0.0,"end":0,"text":"x"},
      {"start":9999999,"end":10000000,"text":"y"}]})");
  ASSERT_TRUE(t) << t.error().reason;
  EXPECT_FALSE(std::signbit(t->segments[0].start));
  EXPECT_DOUBLE_EQ(t->segments[1].end, kMaxSeconds);

  std::string many = R"({"segments":[)";
  for (std::size_t i = 0; i < kMaxSegments; ++i) {
    if (i > 0) many += ',';
    many += R"({"start":)" + std::to_string(i) + R"(,"end":)" + std::to_string(i + 1) +
            R"(,"text":"w"})";
  }
  many += "]}";
  t = parse(many);
  ASSERT_TRUE(t) << t.error().reason;
  EXPECT_EQ(t->segments.size(), kMaxSegments);
}

TEST(Transcript, RefusesHostileAnswers) {
  const std::string segment_prefix = R"({"segments":[)";
  const auto one = [&](const std::string& segment) { return segment_prefix + segment + "]}"; };
  std::string too_many = segment_prefix;
  for (std::size_t i = 0; i <= kMaxSegments; ++i)
    too_many += std::string(i ? "," : "") + R"({"start":0,"end":0,"text":"w"})";
  too_many += "]}";
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += R"({"segments":)";
  const std::vector<std::string> answers = {
      "",
      "not json",
      "[]",
      "null",
      "42",
      R"("text")",
      "{}",
      R"({"task":"transcribe"})",
      R"({"text":"a"} trailing)",
      R"({"text":5})",
      R"({"text":["a"]})",
      R"({"text":"a","language":7})",
      R"({"text":"a","language":")" + std::string(65, 'x') + R"("})",
      R"({"text":"a","duration":-1})",
      R"({"text":"a","duration":"8.4"})",
      R"({"text":"a","duration":1e400})",
      R"({"text":"a","duration":-1e400})",
      R"({"text":"a","duration":1e12})",
      R"({"text":"a","duration":NaN})",
      R"({"text":"a","duration":Infinity})",
      R"({"segments":{}})",
      R"({"segments":"a"})",
      R"({"segments":[1]})",
      R"({"segments":[[]]})",
      one(R"({"start":0,"end":1})"),
      one(R"({"start":0,"end":1,"text":null})"),
      one(R"({"start":0,"end":1,"text":3})"),
      one(R"({"end":1,"text":"a"})"),
      one(R"({"start":0,"text":"a"})"),
      one(R"({"start":"0","end":1,"text":"a"})"),
      one(R"({"start":0,"end":true,"text":"a"})"),
      one(R"({"start":null,"end":1,"text":"a"})"),
      one(R"({"start":2,"end":1,"text":"a"})"),
      one(R"({"start":-0.5,"end":1,"text":"a"})"),
      one(R"({"start":0,"end":1e400,"text":"a"})"),
      one(R"({"start":0,"end":18446744073709551615,"text":"a"})"),
      one(R"({"start":0,"end":10000000.5,"text":"a"})"),
      one(R"({"start":0,"end":1,"text":"a","speaker":{}})"),
      one(R"({"start":0,"end":1,"text":"a","speaker":[1]})"),
      one(R"({"start":0,"end":1,"text":"a","speaker":")" + std::string(201, 's') + R"("})"),
      one("{\"start\":0,\"end\":1,\"text\":\"\xff\xfe\"}"),
      too_many,
      deep,
      R"({"text":")" + std::string(kMaxAnswerBytes, 'a') + R"("})",
  };
  for (const std::string& answer : answers) {
    SCOPED_TRACE(answer.substr(0, 120));
    const auto t = parse(answer);
    ASSERT_FALSE(t);
    EXPECT_FALSE(t.error().transient());
    EXPECT_TRUE(t.error().reason.starts_with("the transcript answer ")) << t.error().reason;
  }
}

// Mutations of a valid answer (bytes flipped, dropped, repeated) never crash, and whatever is
// accepted keeps every promise parse() makes.
TEST(Transcript, SurvivesMutatedAnswers) {
  const std::string base = kOpenAiAnswer;
  const std::string alphabet = "{}[]\",:-.0123456789eE \\nu\x01\xff";
  std::mt19937 random(18);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string answer = base;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % answer.size();
      switch (random() % 3) {
        case 0:
          answer[at] = alphabet[random() % alphabet.size()];
          break;
        case 1:
          answer.erase(at, 1 + random() % 8);
          break;
        default:
          answer.insert(at, answer.substr(at, random() % 16));
      }
      if (answer.empty()) answer = "{";
    }
    const auto t = parse(answer);
    if (!t) continue;
    ++accepted;
    EXPECT_TRUE(std::isfinite(t->duration) && t->duration >= 0 && t->duration <= kMaxSeconds);
    EXPECT_LE(t->segments.size(), kMaxSegments);
    for (std::size_t i = 0; i < t->segments.size(); ++i) {
      const Segment& s = t->segments[i];
      ASSERT_TRUE(std::isfinite(s.start) && s.start >= 0 && s.end >= s.start) << answer;
      ASSERT_FALSE(s.text.empty());
      ASSERT_EQ(s.text.find('\n'), std::string::npos);
      if (i > 0) {
        ASSERT_LE(t->segments[i - 1].start, s.start);
      }
    }
    EXPECT_NE(to_webvtt(*t).find("WEBVTT"), std::string::npos);
    EXPECT_TRUE(parse(to_json(*t))) << to_json(*t);
  }
  EXPECT_GT(accepted, 100);  // the mutations also reach the checks past the JSON parser
}

TEST(Transcript, ShiftMovesEveryTime) {
  const Transcript t = shift(make({{0, 1.5, "a"}, {2, 3, "b", "Host"}}, 4), 60);
  EXPECT_DOUBLE_EQ(t.duration, 64);
  EXPECT_DOUBLE_EQ(t.segments[0].start, 60);
  EXPECT_DOUBLE_EQ(t.segments[0].end, 61.5);
  EXPECT_DOUBLE_EQ(t.segments[1].start, 62);
  EXPECT_DOUBLE_EQ(t.segments[1].end, 63);
  EXPECT_EQ(t.segments[1].speaker, "Host");
}

TEST(Transcript, StitchJoinsShiftedChunksInOrder) {
  // Chunks as they come back: each from 0, with its own duration; the second names no language.
  const Transcript first = make({{0, 4, "one"}, {5, 9.9, "two"}}, 10, "english");
  const Transcript second = make({{0.2, 3, "three"}}, 6.5, "");
  const Transcript third = make({{1, 2, "four"}}, 3, "french");
  const Transcript whole =
      stitch({shift(second, 10), shift(first, 0), shift(third, 16.5)});  // any order
  EXPECT_EQ(whole.language, "english");
  EXPECT_DOUBLE_EQ(whole.duration, 19.5);
  ASSERT_EQ(whole.segments.size(), 4u);
  EXPECT_EQ(whole.segments[0].text, "one");
  EXPECT_EQ(whole.segments[1].text, "two");
  EXPECT_EQ(whole.segments[2].text, "three");
  EXPECT_DOUBLE_EQ(whole.segments[2].start, 10.2);
  EXPECT_EQ(whole.segments[3].text, "four");
  EXPECT_DOUBLE_EQ(whole.segments[3].start, 17.5);
  EXPECT_TRUE(stitch({}).segments.empty());
}

TEST(Transcript, MergeOrdersSpeakersByTimeAndLabelsThem) {
  const Transcript host = make({{0, 2, "Welcome."}, {5, 6, "Go on."}, {9, 10, "Bye."}}, 12);
  const Transcript guest = make({{2.5, 4.5, "Thanks."}, {5, 8, "So..."}}, 11, "");
  const Transcript merged =
      merge({{"host 1234", host}, {"speaker 5678", guest}, {"nobody", Transcript{}}});
  EXPECT_DOUBLE_EQ(merged.duration, 12);
  EXPECT_EQ(merged.language, "en");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"host 1234", "Welcome."},
      {"speaker 5678", "Thanks."},
      {"host 1234", "Go on."},  // a tie at 5 s: the earlier speaker in the list first
      {"speaker 5678", "So..."},
      {"host 1234", "Bye."}};
  ASSERT_EQ(merged.segments.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(merged.segments[i].speaker, expected[i].first);
    EXPECT_EQ(merged.segments[i].text, expected[i].second);
  }
}

TEST(Transcript, JsonIsTheStoredForm) {
  const Transcript t = make(
      {{0, 2.5, "Say \"hi\" \\ caf\u00e9"}, {2.5, 30.0004, "Next", "host 1234"}, {61, 61.001, "x"}},
      62.25, "english");
  const std::string expected = R"({"language":"english","duration":62.25,"segments":[)"
                               R"({"start":0,"end":2.5,"text":"Say \"hi\" \\ café"},)"
                               R"({"start":2.5,"end":30,"text":"Next","speaker":"host 1234"},)"
                               R"({"start":61,"end":61.001,"text":"x"}]})";
  EXPECT_EQ(to_json(t), expected);
  EXPECT_EQ(to_json(Transcript{}), R"({"language":"","duration":0,"segments":[]})");

  const auto back = parse(to_json(t));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->language, "english");
  EXPECT_DOUBLE_EQ(back->duration, 62.25);
  ASSERT_EQ(back->segments.size(), 3u);
  EXPECT_EQ(back->segments[0].text, t.segments[0].text);
  EXPECT_EQ(back->segments[1].speaker, "host 1234");
  EXPECT_DOUBLE_EQ(back->segments[2].end, 61.001);
}

TEST(Transcript, WebVttHasCuesWithVoicesAndEscapes) {
  const Transcript t = make({{3723.5, 3725, "Later"},
                             {0, 1.25, "Hello & <b>welcome</b> --> all", "host <1234>"},
                             {1.25, 1.25, "Quick"},
                             {2, 3, "   "},
                             {4, 5, "line\none", ""}},
                            3725);
  const std::string expected =
      "WEBVTT\n"
      "\n"
      "00:00:00.000 --> 00:00:01.250\n"
      "<v host &lt;1234&gt;>Hello &amp; &lt;b&gt;welcome&lt;/b&gt; --&gt; all\n"
      "\n"
      "00:00:01.250 --> 00:00:01.251\n"
      "Quick\n"
      "\n"
      "00:00:04.000 --> 00:00:05.000\n"
      "line one\n"
      "\n"
      "01:02:03.500 --> 01:02:05.000\n"
      "Later\n";
  EXPECT_EQ(to_webvtt(t), expected);
  EXPECT_EQ(to_webvtt(Transcript{}), "WEBVTT\n");
  EXPECT_EQ(to_webvtt(make({{360000, 360001.5, "long"}}, 360002)),
            "WEBVTT\n\n100:00:00.000 --> 100:00:01.500\nlong\n");
}

TEST(Transcript, PlainTextNamesTimeAndSpeaker) {
  const Transcript t = make({{0, 1, "Hi.", "host 1234"}, {75.9, 80, "Hello."}}, 80);
  EXPECT_EQ(to_text(t), "[00:00:00] host 1234: Hi.\n[00:01:15] Hello.\n");
}

}  // namespace
}  // namespace partyline::transcribe
