#include "tools/check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/backend.hpp"
#include "app/runtime.hpp"
#include "log/logger.hpp"
#include "net/http_client.hpp"
#include "rooms/rooms.hpp"
#include "storage/object_store.hpp"
#include "storage/s3_store.hpp"
#include "twilio/rest.hpp"
#include "util/crypto.hpp"

namespace partyline::tools {
namespace fs = std::filesystem;
namespace {

struct Row {
  std::string name;
  bool ok;
  std::string detail;
  bool warn = false;  // ok, but worth a look: WARN, not counted as a failure
};

// The nearest directory that exists at or above `path` (the one a write would need).
fs::path existing_ancestor(fs::path path) {
  std::error_code ec;
  path = fs::absolute(path, ec);
  while (!fs::exists(path, ec) && path.has_parent_path() && path.parent_path() != path)
    path = path.parent_path();
  return path;
}

// Whether this process can create files in `dir`: a probe file made and removed at once.
bool can_write_in(const fs::path& dir) {
  const fs::path probe = dir / (".check-" + util::hex_lower(util::random_bytes(6)));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "ok", 2) == 2 && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  fs::remove(probe, ec);
  return ok;
}

// `check` leaves nothing behind: a DATA_DIR that is not there yet is one the service creates on
// its first start, so what matters is that it could.
Row check_data_dir(const config::Config& config) {
  const std::string path = fs::absolute(config.data_dir).string();
  std::error_code ec;
  if (fs::is_directory(config.data_dir, ec)) {
    const bool ok = can_write_in(config.data_dir);
    return {"DATA_DIR", ok, (ok ? "writable: " : "cannot write in ") + path};
  }
  if (fs::exists(config.data_dir, ec)) return {"DATA_DIR", false, path + " is not a directory"};
  const fs::path ancestor = existing_ancestor(config.data_dir);
  if (!fs::is_directory(ancestor, ec) || !can_write_in(ancestor)) {
    return {"DATA_DIR", false,
            path + " does not exist and cannot be created in " + ancestor.string()};
  }
  return {"DATA_DIR", true,
          path + " does not exist yet; the service creates it on its first start"};
}

Row check_public_url(const config::Config& config) {
  if (config.public_base_url.empty()) return {"PUBLIC_BASE_URL", false, "not set"};
  if (!config.public_base_url.starts_with("https://")) {
    return {"PUBLIC_BASE_URL", false,
            config.public_base_url + " is not https (Twilio should call you over TLS)"};
  }
  return {"PUBLIC_BASE_URL", true, config.public_base_url};
}

Row check_twilio(const config::Config& config) {
  if (config.local_mode)
    return {"Twilio credentials", false,
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN not set (local mode)"};
  const app::Runtime runtime = app::load_runtime(config, app::LocalCredentialsUse::kReadOnly);
  const twilio::RestClient rest({.api_base = config.twilio_api_base,
                                 .credentials = runtime.twilio,
                                 .allow_http = config.twilio_api_base.starts_with("http://")});
  const auto account = rest.fetch_account();
  if (!account)
    return {"Twilio credentials", false, "account fetch failed: " + account.error().reason};
  const bool active = account->status.empty() || account->status == "active";
  return {"Twilio credentials", active,
          "account " + config.twilio_account_sid + " \"" + account->friendly_name + "\" (" +
              (account->status.empty() ? "status unknown" : account->status) + ")"};
}

// Writes a small object, reads it back and deletes it. A local directory that is not there yet
// is not probed (that would create it): it is created by the service, in DATA_DIR.
Row check_storage(const config::Config& config) {
  const bool local = config.s3_bucket.empty();
  const std::string name = local ? "Storage (local)" : "S3";
  // Logs from the store (e.g. a warning) go to stderr, the table to stdout.
  log::Logger log(2, config::LogLevel::kWarn, util::system_clock());
  std::unique_ptr<storage::ObjectStore> store;
  try {
    store = app::make_object_store(config, log);
  } catch (const std::exception& e) {
    return {name, false, e.what()};
  }
  const std::string key =
      config.s3_prefix + ".partyline-check-" + util::hex_lower(util::random_bytes(8));
  std::error_code ec;
  if (local && !fs::is_directory(fs::path(store->location(key)).parent_path(), ec)) {
    return {name, true,
            "the service creates " + fs::path(store->location(key)).parent_path().string()};
  }
  const std::string content = "partyline check " + util::hex_lower(util::random_bytes(8)) + "\n";
  const fs::path file =
      fs::temp_directory_path(ec) / (".partyline-check-" + util::hex_lower(util::random_bytes(6)));
  {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const bool written = fd >= 0 && ::write(fd, content.data(), content.size()) ==
                                        static_cast<ssize_t>(content.size());
    if (fd >= 0) ::close(fd);
    if (!written) {
      fs::remove(file, ec);
      return {name, false, "cannot write the probe file in " + file.parent_path().string()};
    }
  }
  storage::Object object;
  object.file = file;
  object.size = content.size();
  object.sha256_hex = util::sha256_hex(content);
  object.content_type = "text/plain";
  const auto put = store->put_if_absent(key, object);
  fs::remove(file, ec);
  const std::string where = store->location(key);
  if (!put) return {name, false, "write " + where + " failed: " + put.error().reason};
  const auto read = store->read_small(key);
  const auto removed = store->remove(key);
  if (!read) {
    return {name, false, "wrote but cannot read back " + where + ": " + read.error().reason};
  }
  if (*read != content) return {name, false, "read back different bytes from " + where};
  if (!removed) {
    return {name, false,
            "wrote and read, but cannot delete " + where + ": " + removed.error().reason};
  }
  return {name, true, "wrote, read back and deleted " + where};
}

// The design recommends that recordings do not pile up forever: RETENTION_DAYS, or a lifecycle
// rule on the bucket.
Row check_retention(const config::Config& config) {
  const std::string name = "Retention";
  if (config.retention_days) {
    return {name, true,
            "recordings older than " + std::to_string(*config.retention_days) +
                " days are deleted (RETENTION_DAYS)"};
  }
  if (config.s3_bucket.empty()) {
    return {name, true, "RETENTION_DAYS not set: recordings are kept forever", true};
  }
  log::Logger log(2, config::LogLevel::kWarn, util::system_clock());
  std::size_t rules = 0;
  try {
    auto store = app::make_object_store(config, log);
    auto* s3 = dynamic_cast<storage::S3Store*>(store.get());
    if (s3 == nullptr) return {name, true, "not an S3 store", true};
    const auto found = s3->lifecycle_rules();
    if (!found) {
      return {name, true,
              "RETENTION_DAYS not set and the bucket's lifecycle cannot be read (" +
                  found.error().reason + "): recordings may be kept forever",
              true};
    }
    rules = *found;
  } catch (const std::exception& e) {
    return {name, true, std::string("cannot read the bucket's lifecycle: ") + e.what(), true};
  }
  if (rules == 0) {
    return {name, true,
            "RETENTION_DAYS not set and the bucket has no lifecycle rule: recordings are kept "
            "forever",
            true};
  }
  return {name, true,
          "the bucket's lifecycle configuration has " + std::to_string(rules) + " rule(s)"};
}

// An OpenAI-compatible endpoint (TRANSCRIBE_URL, SUMMARY_URL) is tested without sending audio or
// text: GET …/v1/models with the key, next to the endpoint's path.
Row check_endpoint(const std::string& name, const std::string& url, const config::Secret& key,
                   std::string_view suffix) {
  if (!url.ends_with(suffix)) {
    return {name, true, url + " not tested (its path does not end in " + std::string(suffix) + ")",
            true};
  }
  net::HttpRequest request;
  request.url = url.substr(0, url.size() - suffix.size()) + "/models";
  request.allow_http = url.starts_with("http://");
  request.total_timeout = std::chrono::seconds(15);
  if (!key.empty()) request.headers.push_back("Authorization: Bearer " + key.reveal());
  const auto response = net::perform(request);
  if (!response) return {name, false, request.url + ": " + response.error().reason};
  if (response->status == 401 || response->status == 403) {
    return {name, false,
            request.url + " refused the key (HTTP " + std::to_string(response->status) + ")"};
  }
  if (response->status != 200) {
    return {name, false, request.url + " answered HTTP " + std::to_string(response->status)};
  }
  return {name, true, request.url + " answers with the key"};
}

// Only with ROOMS_FILE: without it the one room comes from variables already checked.
Row check_rooms(const config::Config& config) {
  try {
    const rooms::Rooms rooms = rooms::load(config);
    std::string names;
    for (const auto& r : rooms.all())
      names += (names.empty() ? "" : ", ") + r.name;
    return {
        "Rooms", true,
        std::to_string(rooms.all().size()) + " in " + config.rooms_file.string() + ": " + names};
  } catch (const config::ConfigError& e) {
    return {"Rooms", false, e.what()};
  }
}

}  // namespace

int check(const config::Config& config) {
  std::vector<Row> rows;
  rows.push_back({"Configuration", true, config.local_mode ? "loaded (local mode)" : "loaded"});
  if (!config.rooms_file.empty()) rows.push_back(check_rooms(config));
  rows.push_back(check_data_dir(config));
  rows.push_back(check_public_url(config));
  rows.push_back(check_twilio(config));
  rows.push_back(check_storage(config));
  rows.push_back(check_retention(config));
  if (!config.transcribe_url.empty()) {
    rows.push_back(check_endpoint("Transcription", config.transcribe_url, config.transcribe_api_key,
                                  "/audio/transcriptions"));
  }
  if (!config.summary_url.empty()) {
    rows.push_back(
        check_endpoint("Summary", config.summary_url, config.summary_api_key, "/chat/completions"));
  }

  std::size_t width = 0;
  for (const auto& r : rows)
    width = std::max(width, r.name.size());
  int failed = 0;
  for (const auto& r : rows) {
    std::printf("%-*s  %s  %s\n", static_cast<int>(width), r.name.c_str(),
                !r.ok    ? "FAIL"
                : r.warn ? "WARN"
                         : "PASS",
                r.detail.c_str());
    failed += r.ok ? 0 : 1;
  }
  std::printf("%s: %zu passed, %d failed\n", failed ? "check failed" : "check passed",
              rows.size() - failed, failed);
  return failed ? 1 : 0;
}

}  // namespace partyline::tools
