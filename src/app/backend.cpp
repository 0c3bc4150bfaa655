#include "app/backend.hpp"

#include "storage/local_store.hpp"
#include "storage/s3_store.hpp"

namespace partyline::app {

std::unique_ptr<storage::ObjectStore> make_object_store(const config::Config& config,
                                                        log::Logger& log) {
  if (config.s3_bucket.empty()) {
    return std::make_unique<storage::LocalStore>(config.data_dir / "recordings");
  }
  return std::make_unique<storage::S3Store>(
      storage::S3Options{
          .bucket = config.s3_bucket,
          .region = config.aws_region,
          .endpoint = config.s3_endpoint,
          .path_style = config.s3_force_path_style,
          .credentials = {config.aws_access_key_id, config.aws_secret_access_key.reveal(),
                          config.aws_session_token.reveal()},
          .multipart_threshold = config.s3_multipart_threshold,
          .part_size = config.s3_part_size,
          .sse = config.s3_sse,
          .sse_kms_key_id = config.s3_sse_kms_key_id},
      log);
}

boost::json::object reconcile_fields(const recordings::ReconcileReport& r) {
  return {{"ok", r.ok},         {"listed", r.listed}, {"candidates", r.candidates},
          {"queued", r.queued}, {"known", r.known},   {"error", r.error}};
}

Backend::Backend(const config::Config& config, const Runtime& runtime, log::Logger& log)
    : config_(config) {
  const auto db = config.data_dir / "partyline.db";
  jobs = std::make_unique<db::JobStore>(db);
  transcripts = std::make_unique<db::TranscriptStore>(db);
  // Calls that never joined a conference are kept 7 days: enough to look into a call that went
  // wrong, without a row per caller forever.
  calls = std::make_unique<db::CallStore>(
      db, db::CallStoreOptions{.log = &log, .prune_after = std::chrono::hours(24 * 7)});
  locks = std::make_unique<db::RoomLocks>(config.data_dir / "rooms.db");
  storage = make_object_store(config, log);

  const bool http_api = config.twilio_api_base.starts_with("http://");
  if (!config.local_mode) {
    const twilio::RestOptions options{
        .api_base = config.twilio_api_base, .credentials = runtime.twilio, .allow_http = http_api};
    rest = std::make_unique<twilio::RestClient>(options);
    control = std::make_unique<twilio::RestConferenceControl>(options);
  }
  auth = std::make_unique<auth::Authenticator>(config.data_dir / auth::kConsoleDatabaseFile);
  const auto spool = config.data_dir / "spool";
  followups = std::make_unique<recordings::Followups>(
      recordings::FollowupOptions{
          .spool_dir = spool,
          .notify_url = config.recording_notify_url,
          .allow_http_notify = config.recording_notify_url.starts_with("http://"),
          .delete_after_copy = config.twilio_delete_after_copy,
          .report_rooms = !config.rooms_file.empty(),
          .recordings_of =
              [this](const std::string& conference_sid) {
                return jobs->of_conferences({conference_sid});
              },
          .transcribe = !config.transcribe_url.empty(),
          .forget = [this](const std::string& sid) { transcripts->remove(sid); }},
      *storage, calls.get(), rest.get(), log);
  pipeline = std::make_unique<recordings::Pipeline>(
      recordings::PipelineOptions{
          .spool_dir = spool,
          .prefix = config.s3_prefix,
          // The conference's room, told by its participants' call records.
          .prefix_for =
              [this](const recordings::RecordingCallback& cb) {
                if (!room_prefix || cb.conference_sid.empty()) return std::string();
                const std::string room = calls->room_of_conference(cb.conference_sid);
                return room.empty() ? std::string() : room_prefix(room);
              },
          .format = config.recording_format,
          .workers = config.recording_workers,
          .retry_min = config.retry_min,
          .retry_max = config.retry_max,
          .max_age = config.recording_max_age,
          .metrics = &metrics,
          .followups_stored = followups->steps_when_stored(),
          .followups_dead = followups->steps_when_dead(),
          .run_followup = [f = followups.get()](unsigned step,
                                                const db::Job& job) { return f->run(step, job); },
      },
      *jobs,
      std::make_unique<recordings::TwilioMediaSource>(runtime.twilio, config.recording_format,
                                                      config.media_from_loopback || http_api),
      *storage, log, util::system_clock(), util::system_random());
}

recordings::ReconcileReport Backend::reconcile(std::chrono::system_clock::time_point since) {
  if (!rest) {
    recordings::ReconcileReport r;
    r.error = "the reconciler needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (not in local mode)";
    return r;
  }
  return recordings::reconcile(
      *rest, config_.twilio_api_base, config_.twilio_account_sid, since,
      [this](const recordings::RecordingCallback& cb) { return pipeline->accept(cb).inserted; });
}

}  // namespace partyline::app
