// posix_spawn by hand: Boost.Process is not among the Boost libraries the project builds with,
// and what is needed here (two bounded pipes, a deadline, a kill) is one small loop.
#include "transcribe/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace partyline::transcribe {
namespace {

using Clock = std::chrono::steady_clock;

// Both ends of a pipe, closed when it goes (the read end is closed early at end of file).
struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read = fds[0];
      write = fds[1];
    }
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  bool ok() const { return read >= 0; }
  void close_read() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

// What the child inherits, set up once per spawn and released however the spawn ends.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Returns 0 or an errno value.
int prepare(SpawnSetup& setup, const Pipe& out, const Pipe& err,
            const std::filesystem::path& directory) {
  posix_spawn_file_actions_t* a = &setup.actions;
  if (int rc = posix_spawn_file_actions_addopen(a, 0, "/dev/null", O_RDONLY, 0)) return rc;
  if (int rc = posix_spawn_file_actions_adddup2(a, out.write, 1)) return rc;
  if (int rc = posix_spawn_file_actions_adddup2(a, err.write, 2)) return rc;
  // The service's sockets and database files are not the helper's business.
  if (int rc = posix_spawn_file_actions_addclosefrom_np(a, 3)) return rc;
  if (!directory.empty()) {
    if (int rc = posix_spawn_file_actions_addchdir_np(a, directory.c_str())) return rc;
  }
  // Signals the service ignores or blocks (SIGPIPE, say) would otherwise stay so in the child.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (int rc = posix_spawnattr_setsigdefault(&setup.attributes, &all)) return rc;
  if (int rc = posix_spawnattr_setsigmask(&setup.attributes, &none)) return rc;
  return posix_spawnattr_setflags(&setup.attributes,
                                  POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

// Reads what is there; false at end of file or on an error.
bool drain(int fd, std::string& into, std::size_t max_capture) {
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const std::size_t keep = std::min(static_cast<std::size_t>(n), max_capture - into.size());
  into.append(buffer, keep);
  return true;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

util::Result<Finished> run_program(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout,
                                   const std::filesystem::path& directory,
                                   std::size_t max_capture) {
  if (argv.empty()) return util::Failure::later("no program to run");
  const std::string& program = argv[0];
  Pipe out, err;
  if (!out.ok() || !err.ok()) {
    return util::Failure::later("pipe for " + program + ": " + std::strerror(errno));
  }
  SpawnSetup setup;
  if (int rc = prepare(setup, out, err, directory)) {
    return util::Failure::later("setting up " + program + ": " + std::strerror(rc));
  }
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  char locale[] = "LC_ALL=C";
  char* environment[] = {locale, nullptr};

  pid_t pid = 0;
  if (int rc = posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attributes, args.data(),
                           environment)) {
    return util::Failure::later("cannot run " + program + ": " + std::strerror(rc));
  }
  out.close_write();
  err.close_write();

  const auto deadline = Clock::now() + timeout;
  const auto left_ms = [&] {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
  };
  Finished finished;
  bool late = false;
  while ((out.read >= 0 || err.read >= 0) && !late) {
    pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};  // -1 is skipped by poll
    const int ready = ::poll(fds, 2, left_ms());
    if (ready < 0 && errno != EINTR) break;
    if (ready == 0) late = true;
    if (ready <= 0) continue;
    if (fds[0].revents != 0 && !drain(out.read, finished.out, max_capture)) out.close_read();
    if (fds[1].revents != 0 && !drain(err.read, finished.err, max_capture)) err.close_read();
  }
  // Its output is closed (or it is late): wait for it to exit until the deadline.
  int status = 0;
  pid_t reaped = 0;
  while (!late) {
    reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped < 0 && errno == EINTR) continue;
    if (reaped != 0) break;
    late = left_ms() == 0;
    if (!late) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (late) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return util::Failure::later(program + " was still running after " +
                                std::to_string(timeout.count()) + " ms, and was killed");
  }
  if (reaped < 0)
    return util::Failure::later("waiting for " + program + ": " + std::strerror(errno));
  finished.exit_code = exit_code_of(status);
  return finished;
}

}  // namespace partyline::transcribe
