#pragma once
// The JSON report stored next to each recording (same key, ".json"): the conference and who was
// on it, callers redacted to their last 4 digits.
#include <optional>
#include <string>

#include "store/calls.hpp"
#include "store/jobs.hpp"

namespace partyline::recordings {

std::string build_report(const store::Job& job,
                         const std::optional<store::ConferenceSummary>& conference);

// "partyline/…-RE….mp3" -> "partyline/…-RE….json"
std::string report_key(const std::string& recording_key);

}  // namespace partyline::recordings
