#include "transcribe/transcript.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

namespace partyline::transcribe {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxLanguage = 64;
constexpr std::size_t kMaxSpeaker = 200;

util::Failure bad(const std::string& what) {
  return util::Failure::later("the transcript answer " + what);
}

// Runs of whitespace and control characters (a newline would end a WebVTT cue) as one space,
// none at either end.
std::string one_line(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  bool gap = false;
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += ch;
  }
  return out;
}

std::optional<double> number(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

// A time in seconds: a finite number in [0, kMaxSeconds] (-0 read as 0); nullopt otherwise.
std::optional<double> time_of(const json::value& v) {
  const auto t = number(v);
  if (!t || !std::isfinite(*t) || *t < 0 || *t > kMaxSeconds) return std::nullopt;
  return *t + 0.0;
}

// An optional string field: absent or null -> "", a string -> its one-line form, else nullopt.
std::optional<std::string> optional_text(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return std::nullopt;
  return one_line(v->get_string());
}

util::Result<Segment> parse_segment(const json::value& value, std::size_t index) {
  const std::string where = "segment " + std::to_string(index) + " ";
  const json::object* o = value.if_object();
  if (o == nullptr) return bad(where + "is not an object");
  const json::value* start_field = o->if_contains("start");
  const json::value* end_field = o->if_contains("end");
  const auto start = start_field ? time_of(*start_field) : std::nullopt;
  const auto end = end_field ? time_of(*end_field) : std::nullopt;
  if (!start || !end) return bad(where + "has no valid start and end");
  if (*end < *start) return bad(where + "ends before it starts");
  const json::value* text = o->if_contains("text");
  if (text == nullptr || !text->is_string()) return bad(where + "has no text");
  Segment segment{.start = *start, .end = *end, .text = one_line(text->get_string())};
  // whisper.cpp's diarization names speakers by number; others by a string.
  if (const json::value* speaker = o->if_contains("speaker"); speaker && !speaker->is_null()) {
    if (speaker->is_int64()) {
      segment.speaker = std::to_string(speaker->get_int64());
    } else if (speaker->is_string() && speaker->get_string().size() <= kMaxSpeaker) {
      segment.speaker = one_line(speaker->get_string());
    } else {
      return bad(where + "has a speaker that is not a short string or a number");
    }
  }
  return segment;
}

void order_by_start(std::vector<Segment>& segments) {
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.start < b.start; });
}

// Milliseconds of a time written by to_json or to_webvtt: anything not a time in range (only
// code, never parse(), makes such a value) is pinned into it.
long long milliseconds(double seconds) {
  if (!(seconds >= 0)) return 0;  // also NaN
  return std::llround(std::min(seconds, kMaxSeconds) * 1000);
}

// Seconds to the millisecond, without trailing zeros ("2.5", "30"). Written here because
// Boost.JSON 1.81 writes doubles in exponent form ("2.5E0").
std::string seconds_text(double seconds) {
  const long long ms = milliseconds(seconds);
  std::string out = std::to_string(ms / 1000);
  if (ms % 1000 == 0) return out;
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03lld", ms % 1000);
  out += fraction;
  while (out.back() == '0')
    out.pop_back();
  return out;
}

// "HH:MM:SS.mmm", or "HH:MM:SS" without the milliseconds; hours grow past 99.
std::string clock_text(long long ms, bool with_milliseconds) {
  const long long h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60;
  char text[40];
  if (with_milliseconds) {
    std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld.%03lld", h, m, s, ms % 1000);
  } else {
    std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld", h, m, s);
  }
  return text;
}

// WebVTT cue text: & < > as character references (so "-->" cannot appear either).
std::string vtt_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string first_language(const std::vector<Transcript>& parts) {
  for (const Transcript& t : parts)
    if (!t.language.empty()) return t.language;
  return {};
}

}  // namespace

util::Result<Transcript> parse(std::string_view answer) {
  if (answer.size() > kMaxAnswerBytes) return bad("is larger than 16 MiB");
  boost::system::error_code ec;
  const json::value document = json::parse(answer, ec);
  if (ec) return bad("is not JSON: " + ec.message());
  const json::object* o = document.if_object();
  if (o == nullptr) return bad("is not a JSON object");

  Transcript transcript;
  auto language = optional_text(*o, "language");
  if (!language || language->size() > kMaxLanguage) return bad("has a malformed language");
  transcript.language = std::move(*language);
  const auto text = optional_text(*o, "text");
  if (!text) return bad("has a text that is not a string");
  std::optional<double> duration;
  if (const json::value* d = o->if_contains("duration"); d && !d->is_null()) {
    duration = time_of(*d);
    if (!duration) return bad("has a duration that is not a time in seconds");
  }

  const json::value* segments = o->if_contains("segments");
  if (segments == nullptr || segments->is_null()) {
    if (!o->contains("text")) return bad("has neither segments nor text");
    transcript.duration = duration.value_or(0);
    if (!text->empty()) transcript.segments.push_back({0, transcript.duration, *text});
    return transcript;
  }
  if (!segments->is_array()) return bad("has segments that are not a list");
  const json::array& list = segments->get_array();
  if (list.size() > kMaxSegments) return bad("has more than 100000 segments");
  double last_end = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto segment = parse_segment(list[i], i);
    if (!segment) return segment.error();
    last_end = std::max(last_end, segment->end);
    if (!segment->text.empty()) transcript.segments.push_back(std::move(*segment));
  }
  transcript.duration = duration.value_or(last_end);
  order_by_start(transcript.segments);
  return transcript;
}

Transcript shift(Transcript transcript, double offset) {
  transcript.duration += offset;
  for (Segment& s : transcript.segments) {
    s.start += offset;
    s.end += offset;
  }
  return transcript;
}

Transcript stitch(std::vector<Transcript> chunks_with_offsets) {
  Transcript whole;
  whole.language = first_language(chunks_with_offsets);
  for (Transcript& chunk : chunks_with_offsets) {
    whole.duration = std::max(whole.duration, chunk.duration);
    std::move(chunk.segments.begin(), chunk.segments.end(), std::back_inserter(whole.segments));
  }
  order_by_start(whole.segments);
  return whole;
}

Transcript merge(std::vector<std::pair<std::string, Transcript>> speakers) {
  std::vector<Transcript> tracks;
  tracks.reserve(speakers.size());
  for (auto& [speaker, track] : speakers) {
    for (Segment& s : track.segments)
      s.speaker = speaker;
    tracks.push_back(std::move(track));
  }
  return stitch(std::move(tracks));
}

std::string to_json(const Transcript& transcript) {
  std::string out = "{\"language\":" + json::serialize(json::string(transcript.language)) +
                    ",\"duration\":" + seconds_text(transcript.duration) + ",\"segments\":[";
  bool first = true;
  for (const Segment& s : transcript.segments) {
    if (!first) out += ',';
    first = false;
    out += "{\"start\":" + seconds_text(s.start) + ",\"end\":" + seconds_text(s.end) +
           ",\"text\":" + json::serialize(json::string(s.text));
    if (!s.speaker.empty()) out += ",\"speaker\":" + json::serialize(json::string(s.speaker));
    out += '}';
  }
  return out + "]}";
}

// Written here: Debian packages WebVTT writers for Python only, and a cue is two lines of text.
std::string to_webvtt(const Transcript& transcript) {
  std::vector<const Segment*> cues;
  for (const Segment& s : transcript.segments)
    cues.push_back(&s);
  // WebVTT wants cues in order of start time; code may have built the list in any order.
  std::stable_sort(cues.begin(), cues.end(),
                   [](const Segment* a, const Segment* b) { return a->start < b->start; });
  std::string out = "WEBVTT\n";
  for (const Segment* s : cues) {
    const std::string text = one_line(s->text);
    if (text.empty()) continue;
    const long long start = milliseconds(s->start);
    const long long end = std::max(milliseconds(s->end), start + 1);
    out += "\n" + clock_text(start, true) + " --> " + clock_text(end, true) + "\n";
    if (const std::string speaker = one_line(s->speaker); !speaker.empty()) {
      out += "<v " + vtt_escape(speaker) + ">";
    }
    out += vtt_escape(text) + "\n";
  }
  return out;
}

std::string to_text(const Transcript& transcript) {
  std::string out;
  for (const Segment& s : transcript.segments) {
    out += "[" + clock_text(milliseconds(s.start), false) + "] ";
    if (!s.speaker.empty()) out += s.speaker + ": ";
    out += s.text + "\n";
  }
  return out;
}

}  // namespace partyline::transcribe
