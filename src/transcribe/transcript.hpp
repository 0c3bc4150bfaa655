#pragma once
// A transcript as the service keeps it: timed segments of text, each with its speaker when known.
// Pure: parsing an OpenAI-compatible answer (strict and bounded: the text comes from another
// server), moving a chunk's times into the whole recording, joining chunks and speakers' tracks,
// and writing the stored forms (`<key>.transcript.json`, `<key>.vtt`, plain text for a summary).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace partyline::transcribe {

struct Segment {
  double start = 0;       // seconds from the start of the recording
  double end = 0;         // >= start
  std::string text;       // one line: no control characters, no leading or trailing spaces
  std::string speaker{};  // "" when unknown
};

struct Transcript {
  std::string language;           // as the server named it ("english", "en"), "" when it did not
  double duration = 0;            // seconds of audio covered (after shift(): where that audio ends)
  std::vector<Segment> segments;  // ordered by start (stable)
};

// What parse() accepts at most.
constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxSegments = 100'000;
constexpr double kMaxSeconds = 10'000'000;  // about 115 days: any time beyond is not a recording

// An OpenAI-compatible `verbose_json` answer ({"task","language","duration","text","segments":
// [{"id","start","end","text","speaker"?,...}]}) or a plain `json` one ({"text"}: one segment
// over the whole duration; none when the text is empty). Times must be finite numbers in
// [0, kMaxSeconds] with end >= start; unknown fields are ignored; whitespace and control
// characters in texts become single spaces and segments left empty are dropped. Without
// "duration", the last segment's end. Failure::later (the answer is not what was asked for).
util::Result<Transcript> parse(std::string_view answer);

// Every time moved `offset` seconds later: a chunk's transcript placed in the whole recording.
Transcript shift(Transcript transcript, double offset);

// Chunks of one recording, each already shift()ed to its offset, as one transcript: segments in
// order of start, duration the furthest end, the first language named.
Transcript stitch(std::vector<Transcript> chunks_with_offsets);

// Speakers' own tracks as one transcript, ordered by start (ties keep the order given: earlier
// speaker in the list first, then each track's own order), each segment labelled with its
// speaker; duration the longest, language the first named.
Transcript merge(std::vector<std::pair<std::string, Transcript>> speakers);

// The stored `<key>.transcript.json`: {"language","duration","segments":[{"start","end","text",
// "speaker"?}]}, times in seconds to the millisecond, "speaker" left out when unknown. parse()
// reads it back.
std::string to_json(const Transcript& transcript);

// WebVTT captions: "WEBVTT", then one cue per segment ("HH:MM:SS.mmm --> HH:MM:SS.mmm" and its
// text, `<v Speaker>` first when the speaker is known; &, < and > escaped), a blank line between
// cues. Empty segments are left out; a cue is at least 1 ms long.
std::string to_webvtt(const Transcript& transcript);

// Plain lines for a summary model: "[HH:MM:SS] Speaker: text" ("[HH:MM:SS] text" when unknown).
std::string to_text(const Transcript& transcript);

}  // namespace partyline::transcribe
