#include "tools/recordings.hpp"

#include <chrono>
#include <cstdio>

#include "app/backend.hpp"
#include "app/runtime.hpp"
#include "db/calls.hpp"
#include "db/jobs.hpp"
#include "log/logger.hpp"
#include "recordings/naming.hpp"
#include "rooms/rooms.hpp"

namespace partyline::tools {
namespace {

constexpr int kExitConfig = 2;

std::string when(std::int64_t ms) {
  return ms == 0 ? "-" : recordings::iso8601(recordings::TimePoint(std::chrono::milliseconds(ms)));
}

}  // namespace

int reconcile(const config::Config& config, const std::string& since_text) {
  const auto since = config::parse_duration(since_text);
  if (!since) {
    std::fprintf(stderr, "partyline reconcile: --since expects a duration such as 72h or 7d\n");
    return kExitConfig;
  }
  log::Logger log(1, config.log_level, util::system_clock());
  try {
    app::Backend backend(config, app::load_runtime(config, app::LocalCredentialsUse::kReadOnly),
                         log);
    // Recordings found here go under their room's prefix, as the service would put them.
    backend.room_prefix = [rooms = rooms::load(config)](const std::string& room) {
      const rooms::Room* r = rooms.find(room);
      return r == nullptr ? std::string() : r->prefix;
    };
    const auto report = backend.reconcile(std::chrono::system_clock::now() - *since);
    log.write(report.ok ? log::LogLevel::kInfo : log::LogLevel::kError, "reconcile.done",
              app::reconcile_fields(report));
    return report.ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline reconcile: %s\n", e.what());
    return 1;
  }
}

int recordings(const config::Config& config, const std::string& action, const std::string& sid) {
  try {
    db::JobStore jobs(config.data_dir / "partyline.db");
    if (action == "list") {
      db::CallStore calls(config.data_dir / "partyline.db");
      std::printf("%-34s  %-7s  %-5s  %8s  %-20s  %-16s  %s\n", "RECORDING", "STATE", "KIND",
                  "ATTEMPTS", "FIRST SEEN", "ROOM", "KEY / LAST ERROR");
      for (const auto& j : jobs.list(1000)) {
        const std::string room =
            j.conference_sid.empty() ? std::string() : calls.room_of_conference(j.conference_sid);
        // A track's key names its caller's turn and role (trackNN-role), never digits of a number.
        std::printf("%-34s  %-7s  %-5s  %8d  %-20s  %-16s  %s\n", j.recording_sid.c_str(),
                    j.deleted() ? "deleted" : db::state_name(j.state), j.kind.c_str(), j.attempts,
                    when(j.first_seen_ms).c_str(), room.empty() ? "-" : room.c_str(),
                    (j.state == db::JobState::kStored
                         ? j.key
                         : j.key + (j.last_error.empty() ? "" : "  (" + j.last_error + ")"))
                        .c_str());
      }
      return 0;
    }
    const auto job = jobs.get(sid);
    if (!job) {
      std::fprintf(stderr, "partyline recordings: no recording %s\n", sid.c_str());
      return 1;
    }
    if (action == "show") {
      std::printf(
          "recording      %s\nstate          %s\nkey            %s\nlocation       %s\n"
          "conference     %s\nduration       %s s\nstarted        %s\nfirst seen     %s\n"
          "stored         %s\nattempts       %d\nnext attempt   %s\nbytes          %llu\n"
          "sha256         %s\nlast error     %s\n",
          job->recording_sid.c_str(),
          job->deleted() ? ("deleted (by " + job->deleted_by + ")").c_str()
                         : db::state_name(job->state),
          job->key.c_str(), job->location.empty() ? "-" : job->location.c_str(),
          job->conference_sid.empty() ? "-" : job->conference_sid.c_str(), job->duration.c_str(),
          job->start_time.c_str(), when(job->first_seen_ms).c_str(), when(job->stored_ms).c_str(),
          job->attempts,
          job->state == db::JobState::kPending ? when(job->next_attempt_ms).c_str() : "-",
          static_cast<unsigned long long>(job->bytes),
          job->sha256.empty() ? "-" : job->sha256.c_str(),
          job->last_error.empty() ? "-" : job->last_error.c_str());
      return 0;
    }
    // retry: due now; a running service picks it up within a minute. A dead or failed copy is
    // retried as the console's retry does; a stored one is copied again to check it (create-only
    // writes make that harmless); a deleted one stays deleted.
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (job->deleted()) {
      std::fprintf(stderr, "partyline recordings: %s was deleted by %s\n", sid.c_str(),
                   job->deleted_by.c_str());
      return 1;
    }
    const bool queued = job->state == db::JobState::kStored
                            ? jobs.requeue(sid, now)
                            : jobs.retry(sid, now) == db::RetryOutcome::kQueued;
    if (!queued) {
      std::printf("recording %s is being copied already (%d attempts)\n", sid.c_str(),
                  job->attempts);
      return 0;
    }
    std::printf("recording %s queued again (was %s)\n", sid.c_str(), db::state_name(job->state));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline recordings: %s\n", e.what());
    return 1;
  }
}

int transcribe(const config::Config& config, const std::string& sid) {
  if (config.transcribe_url.empty()) {
    std::fprintf(stderr, "partyline transcribe: TRANSCRIBE_URL is not set\n");
    return 2;
  }
  try {
    db::JobStore jobs(config.data_dir / "partyline.db");
    const auto job = jobs.get(sid);
    if (!job) {
      std::fprintf(stderr, "partyline transcribe: no recording %s\n", sid.c_str());
      return 1;
    }
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (!jobs.transcribe_again(sid, now)) {
      std::fprintf(stderr, "partyline transcribe: %s is %s, not stored\n", sid.c_str(),
                   job->deleted() ? "deleted" : db::state_name(job->state));
      return 1;
    }
    std::printf("recording %s queued for transcription\n", sid.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline transcribe: %s\n", e.what());
    return 1;
  }
}

}  // namespace partyline::tools
