#pragma once
// The stores, storage, Twilio client and recording pipeline, built from the configuration: the
// same wiring for the service and for the commands that act on its state (reconcile, recordings).
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <string>

#include "app/runtime.hpp"
#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "db/calls.hpp"
#include "db/jobs.hpp"
#include "db/room_locks.hpp"
#include "db/transcripts.hpp"
#include "log/logger.hpp"
#include "metrics/metrics.hpp"
#include "recordings/followups.hpp"
#include "recordings/pipeline.hpp"
#include "recordings/reconciler.hpp"
#include "storage/object_store.hpp"
#include "twilio/conference.hpp"
#include "twilio/rest.hpp"

namespace partyline::app {

// The object store the configuration names: S3 (S3_BUCKET set) or DATA_DIR/recordings. Creates
// nothing until it writes.
std::unique_ptr<storage::ObjectStore> make_object_store(const config::Config& config,
                                                        log::Logger& log);

// A reconciler pass as log fields (reconcile.done).
boost::json::object reconcile_fields(const recordings::ReconcileReport& report);

struct Backend {
  // Throws std::runtime_error (e.g. DATA_DIR not writable).
  Backend(const config::Config& config, const Runtime& runtime, log::Logger& log);

  metrics::Metrics metrics;
  std::unique_ptr<db::JobStore> jobs;
  // Transcripts and summaries (the jobs' file): written by the transcriber, read by the library.
  std::unique_ptr<db::TranscriptStore> transcripts;
  std::unique_ptr<db::CallStore> calls;
  std::unique_ptr<db::RoomLocks> locks;
  std::unique_ptr<storage::ObjectStore> storage;
  std::unique_ptr<twilio::RestClient> rest;  // absent in local mode
  // The console's users and sessions (DATA_DIR/console.db), and its hands on a live conference
  // (absent in local mode).
  std::unique_ptr<auth::Authenticator> auth;
  std::unique_ptr<twilio::ConferenceControl> control;
  std::unique_ptr<recordings::Followups> followups;
  std::unique_ptr<recordings::Pipeline> pipeline;

  // The key prefix of a room of the set in force ("" for none): recordings go under their
  // room's prefix. Set it before the pipeline starts; unset, every key takes S3_PREFIX.
  std::function<std::string(const std::string& room)> room_prefix;

  // One reconciler pass over recordings created since `since`.
  recordings::ReconcileReport reconcile(std::chrono::system_clock::time_point since);

 private:
  const config::Config& config_;
};

}  // namespace partyline::app
