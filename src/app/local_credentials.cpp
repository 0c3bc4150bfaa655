#include "app/local_credentials.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "twilio/sid.hpp"
#include "util/crypto.hpp"

namespace partyline::app {
namespace fs = std::filesystem;

LocalCredentials read_local_credentials(const fs::path& data_dir) {
  const fs::path file = data_dir / kLocalCredentialsFile;
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto value = boost::json::parse(text.str(), ec);
  if (ec || !value.is_object()) throw std::runtime_error(file.string() + " is not a JSON object");
  const auto& o = value.get_object();
  auto str = [&](const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
  };
  LocalCredentials c{str("account_sid"), str("auth_token"), str("public_base_url"),
                     str("console_password")};
  if (!twilio::is_sid(c.account_sid, "AC") || c.auth_token.size() < 16) {
    throw std::runtime_error(file.string() + " lacks a valid account_sid or auth_token");
  }
  return c;
}

void save_local_credentials(const fs::path& data_dir, const LocalCredentials& c) {
  const fs::path file = data_dir / kLocalCredentialsFile;
  const fs::path tmp = data_dir / (std::string(kLocalCredentialsFile) + ".tmp");
  boost::json::object o{{"account_sid", c.account_sid},
                        {"auth_token", c.auth_token},
                        {"public_base_url", c.public_base_url}};
  if (!c.console_password.empty()) {
    o["console_user"] = "admin";
    o["console_password"] = c.console_password;
  }
  const std::string text = boost::json::serialize(o) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string());
  ::fchmod(fd, 0600);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    throw std::runtime_error("cannot write " + file.string());
  }
}

LocalCredentials load_or_create_local_credentials(const fs::path& data_dir) {
  const fs::path file = data_dir / kLocalCredentialsFile;
  if (fs::exists(file)) {
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace);
    return read_local_credentials(data_dir);
  }
  LocalCredentials c{"AC" + util::hex_lower(util::random_bytes(16)),
                     util::hex_lower(util::random_bytes(16)), ""};
  save_local_credentials(data_dir, c);
  return c;
}

}  // namespace partyline::app
