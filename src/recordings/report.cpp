#include "recordings/report.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "recordings/naming.hpp"

namespace partyline::recordings {
namespace {

boost::json::value when(std::int64_t ms) {
  if (ms == 0) return nullptr;
  return boost::json::value(iso8601(TimePoint(std::chrono::milliseconds(ms))));
}

}  // namespace

std::string report_key(const std::string& recording_key) {
  return beside(recording_key, ".json");
}

std::string build_report(const db::Job& job, const std::optional<db::ConferenceSummary>& c,
                         bool rooms, const std::vector<db::Job>& tracks) {
  boost::json::object out{
      {"recording_sid", job.recording_sid},
      {"key", job.key},
      {"conference_sid", job.conference_sid},
      {"recording_start", job.start_time},
      {"duration_seconds", job.duration.empty() ? boost::json::value(nullptr)
                                                : boost::json::value(std::stoll(job.duration))}};
  if (!c) {
    out["conference"] = nullptr;
    out["participants"] = boost::json::array{};
    return boost::json::serialize(out);
  }
  out["start"] = when(c->started_ms);
  out["end"] = when(c->ended_ms);
  out["conference_seconds"] = (c->started_ms && c->ended_ms)
                                  ? boost::json::value((c->ended_ms - c->started_ms) / 1000)
                                  : boost::json::value(nullptr);
  out["peak_participants"] = c->peak_participants;
  boost::json::value room = nullptr;
  boost::json::array people;
  for (const auto& p : c->participants) {
    if (room.is_null() && !p.room.empty()) room = boost::json::value(p.room);
    // How the caller consented to the recording ("notice": heard it and stayed on; "press1")
    // and when the service decided so; null when no consent is on record.
    boost::json::value consent = nullptr;
    if (!p.consent_how.empty()) {
      consent = boost::json::object{{"how", p.consent_how}, {"at", when(p.consent_ms)}};
    }
    boost::json::object person{
        {"call_sid", p.call_sid},
        {"caller", p.caller},
        {"role", p.role.empty() ? boost::json::value(nullptr) : boost::json::value(p.role)},
        {"joined", when(p.joined_ms)},
        {"left", when(p.left_ms)},
        {"muted", p.muted}};
    if (rooms) {
      person["room"] = p.room.empty() ? boost::json::value(nullptr) : boost::json::value(p.room);
      person["consent"] = std::move(consent);
    }
    people.push_back(std::move(person));
  }
  if (rooms) out["room"] = std::move(room);
  out["participants"] = std::move(people);
  if (!tracks.empty()) {
    boost::json::array list;
    for (const auto& t : tracks) {
      boost::json::object o{
          {"recording_sid", t.recording_sid}, {"key", t.key}, {"call_sid", t.call_sid}};
      for (const auto& p : c->participants) {
        if (p.call_sid != t.call_sid) continue;
        o["caller"] = p.caller;
        o["role"] = p.role.empty() ? boost::json::value("speaker") : boost::json::value(p.role);
      }
      list.push_back(std::move(o));
    }
    out["tracks"] = std::move(list);
  }
  // What the console's users did, when they did anything: "muted by alice at …".
  if (!c->actions.empty()) {
    boost::json::array actions;
    for (const auto& a : c->actions) {
      boost::json::object o{{"at", when(a.at_ms)}, {"by", a.user}, {"action", a.action}};
      for (const auto& p : c->participants) {
        if (!a.call_sid.empty() && p.call_sid == a.call_sid) o["participant"] = p.caller;
      }
      o["result"] = a.result;
      actions.push_back(std::move(o));
    }
    out["actions"] = std::move(actions);
  }
  return boost::json::serialize(out);
}

}  // namespace partyline::recordings
