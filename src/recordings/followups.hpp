#pragma once
// What happens after a recording is stored or dead-lettered: the JSON report next to it,
// a notice to RECORDING_NOTIFY_URL, and (TWILIO_DELETE_AFTER_COPY) deleting Twilio's copy once
// the stored object is verified. None of these can undo or block the copy itself. Each is one
// step (a db::followup bit) that the pipeline runs until it is done, across restarts.
#include <filesystem>
#include <functional>
#include <string>

#include "db/calls.hpp"
#include "db/jobs.hpp"
#include "log/logger.hpp"
#include "storage/object_store.hpp"
#include "twilio/rest.hpp"
#include "util/result.hpp"

namespace partyline::recordings {

struct FollowupOptions {
  std::filesystem::path spool_dir;
  std::string notify_url;          // empty: no notices
  bool allow_http_notify = false;  // http:// notify URLs (loopback tests, private networks)
  bool delete_after_copy = false;
  // With ROOMS_FILE the report names the room and each participant's room and consent; without,
  // it keeps the shape it has always had.
  bool report_rooms = false;
  // The conference's other recordings (its callers' tracks), for the mix's report; none: no list.
  std::function<std::vector<db::Job>(const std::string& conference_sid)> recordings_of = {};
  // TRANSCRIBE_URL: a stored recording also owes its transcription (db::followup::kTranscribe).
  bool transcribe = false;
  // A removed recording's transcript and summary leave the database too.
  std::function<void(const std::string& recording_sid)> forget = {};
};

// One step's outcome: done (including "nothing left to do"), or why not (to be tried again).
struct FollowupResult {
  bool done = false;
  std::string error;
};

class Followups {
 public:
  Followups(FollowupOptions options, storage::ObjectStore& storage, db::CallStore* calls,
            const twilio::RestClient* rest, log::Logger& log);

  // The steps a recording owes once stored, or once dead-lettered, with these options.
  unsigned steps_when_stored() const;
  unsigned steps_when_dead() const;
  // Runs one step (a db::followup bit) for the job as its row now stands.
  FollowupResult run(unsigned step, const db::Job& job);
  // kRemoveObjects: the deleted recording's object and its report leave the store.
  FollowupResult remove_objects(const db::Job& job);

 private:
  FollowupResult store_report(const db::Job& job);
  FollowupResult notify(const db::Job& job);
  FollowupResult delete_twilio_copy(const db::Job& job);

  FollowupOptions options_;
  storage::ObjectStore& storage_;
  db::CallStore* calls_;
  const twilio::RestClient* rest_;
  log::Logger& log_;
};

// POSTs a JSON body; the status of the answer, whatever it is, or why none came.
util::Result<int> post_json(const std::string& url, const std::string& body, bool allow_http);

}  // namespace partyline::recordings
