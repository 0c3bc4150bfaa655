#include "tools/check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "app/backend.hpp"
#include "app/local_credentials.hpp"
#include "util/crypto.hpp"

namespace partyline::tools {
namespace fs = std::filesystem;
namespace {

struct Row {
  std::string name;
  bool ok;
  std::string detail;
};

Row check_data_dir(const config::Config& config) {
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  const fs::path probe = config.data_dir / (".check-" + util::hex_lower(util::random_bytes(6)));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return {"DATA_DIR", false, "cannot write in " + fs::absolute(config.data_dir).string()};
  const bool ok = ::write(fd, "ok", 2) == 2 && ::fsync(fd) == 0;
  ::close(fd);
  fs::remove(probe, ec);
  return {"DATA_DIR", ok,
          (ok ? "writable: " : "write failed: ") + fs::absolute(config.data_dir).string()};
}

Row check_public_url(const config::Config& config) {
  if (config.public_base_url.empty()) return {"PUBLIC_BASE_URL", false, "not set"};
  if (!config.public_base_url.starts_with("https://")) {
    return {"PUBLIC_BASE_URL", false,
            config.public_base_url + " is not https (Twilio should call you over TLS)"};
  }
  return {"PUBLIC_BASE_URL", true, config.public_base_url};
}

Row check_twilio(const config::Config& config, app::Backend* backend) {
  if (config.local_mode)
    return {"Twilio credentials", false,
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN not set (local mode)"};
  if (!backend || !backend->rest) return {"Twilio credentials", false, "no client"};
  const auto account = backend->rest->fetch_account();
  if (!account)
    return {"Twilio credentials", false, "account fetch failed: " + account.error().reason};
  const bool active = account->status.empty() || account->status == "active";
  return {"Twilio credentials", active,
          "account " + config.twilio_account_sid + " \"" + account->friendly_name + "\" (" +
              (account->status.empty() ? "status unknown" : account->status) + ")"};
}

Row check_storage(const config::Config& config, app::Backend* backend) {
  const std::string name = config.s3_bucket.empty() ? "Storage (local)" : "S3";
  if (!backend) return {name, false, "not available"};
  auto& storage = *backend->storage;
  const std::string key =
      config.s3_prefix + ".partyline-check-" + util::hex_lower(util::random_bytes(8));
  const std::string content = "partyline check " + util::hex_lower(util::random_bytes(8)) + "\n";
  const fs::path file =
      config.data_dir / (".check-object-" + util::hex_lower(util::random_bytes(6)));
  {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 ||
        ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
      if (fd >= 0) ::close(fd);
      return {name, false, "cannot write the probe file in DATA_DIR"};
    }
    ::close(fd);
  }
  storage::Object object;
  object.file = file;
  object.size = content.size();
  object.sha256_hex = util::sha256_hex(content);
  object.content_type = "text/plain";
  const auto put = storage.put_if_absent(key, object);
  std::error_code ec;
  fs::remove(file, ec);
  if (!put.ok) return {name, false, "write " + storage.location(key) + " failed: " + put.error};
  const auto read = storage.read_small(key);
  const auto removed = storage.remove(key);
  if (!read.ok)
    return {name, false, "wrote but cannot read back " + storage.location(key) + ": " + read.error};
  if (read.body != content)
    return {name, false, "read back different bytes from " + storage.location(key)};
  if (!removed.ok)
    return {name, false,
            "wrote and read, but cannot delete " + storage.location(key) + ": " + removed.error};
  return {name, true, "wrote, read back and deleted " + storage.location(key)};
}

}  // namespace

int check(const config::Config& config) {
  std::vector<Row> rows;
  rows.push_back({"Configuration", true, config.local_mode ? "loaded (local mode)" : "loaded"});
  rows.push_back(check_data_dir(config));
  rows.push_back(check_public_url(config));

  app::Runtime runtime{config.public_base_url, config.twilio_account_sid, config.twilio_auth_token};
  if (config.local_mode) {
    try {
      const auto local = app::read_local_credentials(config.data_dir);  // made by serve, not here
      runtime.account_sid = local.account_sid;
      runtime.auth_token = config::Secret(local.auth_token);
    } catch (const std::exception&) {
    }
  }
  // Logs from the clients (e.g. a storage warning) go to stderr, the table to stdout.
  log::Logger log(2, config::LogLevel::kWarn, util::system_clock());
  std::unique_ptr<app::Backend> backend;
  std::string backend_error;
  try {
    backend = std::make_unique<app::Backend>(config, runtime, log);
  } catch (const std::exception& e) {
    backend_error = e.what();
  }
  rows.push_back(check_twilio(config, backend.get()));
  rows.push_back(check_storage(config, backend.get()));
  if (!backend_error.empty()) rows.push_back({"State database", false, backend_error});

  std::size_t width = 0;
  for (const auto& r : rows)
    width = std::max(width, r.name.size());
  int failed = 0;
  for (const auto& r : rows) {
    std::printf("%-*s  %s  %s\n", static_cast<int>(width), r.name.c_str(), r.ok ? "PASS" : "FAIL",
                r.detail.c_str());
    failed += r.ok ? 0 : 1;
  }
  std::printf("%s: %zu passed, %d failed\n", failed ? "check failed" : "check passed",
              rows.size() - failed, failed);
  return failed ? 1 : 0;
}

}  // namespace partyline::tools
