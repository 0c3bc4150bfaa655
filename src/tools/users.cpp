#include "tools/users.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/password.hpp"
#include "db/sessions.hpp"
#include "db/users.hpp"
#include "util/clock.hpp"

namespace partyline::tools {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// One line from stdin without its line end; nullopt past kMaxPasswordBytes (the rest unread).
std::optional<std::string> read_line() {
  std::string line;
  for (int c; (c = std::fgetc(stdin)) != EOF && c != '\n';) {
    if (line.size() > auth::kMaxPasswordBytes) return std::nullopt;
    line.push_back(static_cast<char>(c));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > auth::kMaxPasswordBytes) return std::nullopt;
  return line;
}

// Asks on the terminal with echo off; the terminal's settings are put back before returning.
// Echo goes off before the prompt, so nothing typed after the prompt is shown or discarded.
std::optional<std::string> ask_hidden(const char* prompt) {
  termios saved{};
  const bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::fprintf(stderr, "%s", prompt);
  std::fflush(stderr);
  auto line = read_line();
  if (restore) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::fprintf(stderr, "\n");
  return line;
}

// The new password, or a message saying why there is none.
std::optional<std::string> read_password(const std::string& name, std::string& why) {
  std::optional<std::string> password;
  if (isatty(STDIN_FILENO)) {
    password = ask_hidden(("Password for " + name + ": ").c_str());
    if (password && !password->empty()) {
      const auto again = ask_hidden("The same again: ");
      if (!again || *again != *password) {
        why = "the two passwords differ";
        return std::nullopt;
      }
    }
  } else {
    password = read_line();
  }
  if (!password) {
    why = "the password is longer than " + std::to_string(auth::kMaxPasswordBytes) + " bytes";
    return std::nullopt;
  }
  if (password->empty()) {
    why = "the password is empty (it is read from standard input)";
    return std::nullopt;
  }
  return password;
}

void print_list(const std::vector<db::User>& list) {
  std::size_t name_w = 4;
  for (const auto& u : list)
    name_w = std::max(name_w, u.name.size());
  const int nw = static_cast<int>(name_w);
  std::printf("%-*s  %-8s  %s\n", nw, "NAME", "ROLE", "CREATED");
  for (const auto& u : list) {
    const auto created =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(u.created_ms));
    std::printf("%-*s  %-8s  %s\n", nw, u.name.c_str(), std::string(db::role_name(u.role)).c_str(),
                util::iso8601_millis(created).c_str());
  }
}

int fail(const std::string& action, const std::string& message, int status) {
  std::fprintf(stderr, "partyline users %s: %s\n", action.c_str(), message.c_str());
  return status;
}

}  // namespace

int users(const config::Config& config, const std::string& action, const std::string& name,
          const std::string& role_text) {
  if (action != "list" && !db::valid_user_name(name)) {
    return fail(action, "bad user name '" + name + "': " + db::kUserNameRule, kExitUsage);
  }
  const auto role = db::parse_role(role_text);
  if (!role)
    return fail(action, "the role is admin or producer, not '" + role_text + "'", kExitUsage);
  try {
    std::filesystem::create_directories(config.data_dir);
    const auto file = config.data_dir / auth::kConsoleDatabaseFile;
    db::UserStore store(file);
    if (action == "list") {
      print_list(store.list());
      return 0;
    }
    const bool exists = store.find(name).has_value();
    if (action == "add" && exists) return fail(action, "user " + name + " exists", kExitFailed);
    if (action != "add" && !exists) return fail(action, "no user " + name, kExitFailed);
    if (action == "remove") {
      if (!store.remove(name)) return fail(action, "no user " + name, kExitFailed);
      db::SessionStore(file).remove_user(name);
      std::printf("%s removed\n", name.c_str());
      return 0;
    }
    std::string why;
    const auto password = read_password(name, why);
    if (!password) return fail(action, why, kExitUsage);
    const std::string hash = auth::hash_password(*password);
    if (action == "add") {
      if (!store.add(name, hash, *role))
        return fail(action, "user " + name + " exists", kExitFailed);
      std::printf("%s added (%s)\n", name.c_str(), std::string(db::role_name(*role)).c_str());
      return 0;
    }
    if (!store.set_hash(name, hash)) return fail(action, "no user " + name, kExitFailed);
    const auto ended = db::SessionStore(file).remove_user(name);
    std::printf("%s: password changed, %zu session%s ended\n", name.c_str(), ended,
                ended == 1 ? "" : "s");
    return 0;
  } catch (const std::exception& e) {
    return fail(action, e.what(), kExitFailed);
  }
}

}  // namespace partyline::tools
