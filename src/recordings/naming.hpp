#pragma once
// Where a recording goes and when its copy is retried. Pure, so both are exact in tests.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace partyline::recordings {

using TimePoint = std::chrono::system_clock::time_point;

// RFC 2822 as Twilio sends RecordingStartTime ("Sat, 25 Oct 2025 19:17:43 +0000"; the weekday is
// optional, any numeric offset) or ISO 8601 UTC ("2025-10-25T19:17:43Z").
std::optional<TimePoint> parse_twilio_time(std::string_view text);

// "2025-10-25T19-17-43Z" (colons replaced for portable keys) and "2025-10-25T19:17:43Z".
std::string key_timestamp(TimePoint t);
std::string iso8601(TimePoint t);

// What is stored beside a recording: its key with the extension replaced by `suffix`
// ("show/…-RE1.mp3" + ".json" -> "show/…-RE1.json").
std::string beside(const std::string& key, std::string_view suffix);
// The media type of a recording by its key's extension: "audio/wav" or "audio/mpeg".
std::string media_type(std::string_view key);

// prefix + "{YYYY-MM-DDThh-mm-ssZ}-{RecordingSid}." + extension
std::string recording_key(std::string_view prefix, TimePoint start, std::string_view recording_sid,
                          std::string_view extension);

// Exponential backoff with jitter: attempt 0 waits about `min`, doubling up to `max`; the wait
// is drawn uniformly from [half, full] of that step so retries from many jobs spread out.
// random01 is in [0, 1).
std::chrono::milliseconds backoff_delay(unsigned attempt, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, double random01);

}  // namespace partyline::recordings
