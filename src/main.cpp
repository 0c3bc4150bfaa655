// partyline: command line and wiring. Everything it calls is a component under src/.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/service.hpp"
#include "config/config.hpp"
#include "config/env_file.hpp"
#include "tools/check.hpp"
#include "tools/recordings.hpp"
#include "tools/rooms.hpp"
#include "tools/simulate.hpp"
#include "tools/users.hpp"

using namespace partyline;

int main(int argc, char** argv) {
  CLI::App cli{"Partyline: a recorded party line on Twilio, copied to S3 exactly once."};
  cli.set_version_flag("--version", std::string("partyline ") + PARTYLINE_VERSION);
  std::string env_file;
  cli.add_option("--env-file", env_file,
                 "Read variables from this .env file (the environment wins)");
  cli.require_subcommand(0, 1);
  cli.add_subcommand("serve", "Run the service (the default)");
  auto* simulate_cmd = cli.add_subcommand(
      "simulate", "Play Twilio against a running local-mode service: two callers, a recording");
  auto* check_cmd = cli.add_subcommand(
      "check", "Test the configuration for real: Twilio, storage, DATA_DIR, PUBLIC_BASE_URL");
  auto* reconcile_cmd = cli.add_subcommand(
      "reconcile", "Queue every completed conference recording Twilio has that is not stored yet");
  std::string since = "72h";
  reconcile_cmd->add_option("--since", since, "How far back to look (e.g. 72h, 7d)");
  auto* recordings_cmd =
      cli.add_subcommand("recordings", "The recording jobs: list, show SID, retry SID");
  recordings_cmd->require_subcommand(1);
  std::string recording_sid;
  recordings_cmd->add_subcommand("list", "Every recording job, newest first");
  recordings_cmd->add_subcommand("show", "One job in full")
      ->add_option("SID", recording_sid)
      ->required();
  recordings_cmd->add_subcommand("retry", "Queue a job again now")
      ->add_option("SID", recording_sid)
      ->required();
  auto* transcribe_cmd = cli.add_subcommand(
      "transcribe", "Transcribe one stored recording (again): the running service does it");
  transcribe_cmd->add_option("SID", recording_sid)->required();
  auto* rooms_cmd =
      cli.add_subcommand("rooms", "The rooms: list them (the default), lock NAME, unlock NAME");
  rooms_cmd->require_subcommand(0, 1);
  std::string room_name;
  rooms_cmd->add_subcommand("lock", "Refuse new speakers and producers (hosts still get in)")
      ->add_option("NAME", room_name)
      ->required();
  rooms_cmd->add_subcommand("unlock", "Let everyone in again")
      ->add_option("NAME", room_name)
      ->required();
  auto* users_cmd = cli.add_subcommand(
      "users", "Console users: list them (the default), add NAME, passwd NAME, remove NAME");
  users_cmd->require_subcommand(0, 1);
  std::string user_name, user_role = "producer";
  auto* users_add = users_cmd->add_subcommand("add", "Add a user; the password is read from stdin");
  users_add->add_option("NAME", user_name)->required();
  users_add->add_option("--role", user_role, "admin or producer (the default)");
  users_cmd->add_subcommand("list", "Every user: name, role, when added");
  users_cmd->add_subcommand("passwd", "Set a new password (from stdin); ends the user's sessions")
      ->add_option("NAME", user_name)
      ->required();
  users_cmd->add_subcommand("remove", "Remove a user and end their sessions")
      ->add_option("NAME", user_name)
      ->required();
  CLI11_PARSE(cli, argc, argv);

  config::Config config;
  try {
    config::Env env = config::process_env();
    if (!env_file.empty()) env = config::merge_env_file(env, env_file);
    config = config::load(env);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "partyline: configuration error: %s\n", e.what());
    return 2;  // a configuration error, as serve says too
  }
  if (simulate_cmd->parsed()) return tools::simulate(config);
  if (check_cmd->parsed()) return tools::check(config);
  if (reconcile_cmd->parsed()) return tools::reconcile(config, since);
  if (recordings_cmd->parsed()) {
    return tools::recordings(config, recordings_cmd->get_subcommands().front()->get_name(),
                             recording_sid);
  }
  if (transcribe_cmd->parsed()) return tools::transcribe(config, recording_sid);
  if (rooms_cmd->parsed()) {
    const auto sub = rooms_cmd->get_subcommands();
    return tools::rooms(config, sub.empty() ? "list" : sub.front()->get_name(), room_name);
  }
  if (users_cmd->parsed()) {
    const auto sub = users_cmd->get_subcommands();
    return tools::users(config, sub.empty() ? "list" : sub.front()->get_name(), user_name,
                        user_role);
  }
  return app::serve(config);
}
