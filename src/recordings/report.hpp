#pragma once
// The JSON report stored next to each recording (same key, ".json"): the conference and who was
// on it, callers redacted to their last 4 digits.
#include <optional>
#include <string>
#include <vector>

#include "db/calls.hpp"
#include "db/jobs.hpp"

namespace partyline::recordings {

// rooms: also the room, and each participant's room and consent ({how, at} or null). tracks: the
// callers' own recordings of the session, listed as "tracks" with their participant (when any).
std::string build_report(const db::Job& job, const std::optional<db::ConferenceSummary>& conference,
                         bool rooms = false, const std::vector<db::Job>& tracks = {});

// "partyline/…-RE….mp3" -> "partyline/…-RE….json"
std::string report_key(const std::string& recording_key);

}  // namespace partyline::recordings
