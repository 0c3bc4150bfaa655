#pragma once
// Runs a helper program (ffmpeg, ffprobe) and waits for it, within a time limit. No shell: the
// arguments go to the program as given, so a file name is never parsed as a command. The child
// gets /dev/null as stdin, an environment of its own (none of the service's secrets), default
// signal handling, no descriptors but 0-2, and is killed when it overruns.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace partyline::transcribe {

struct Finished {
  int exit_code = 0;  // the program's exit status; 128 + the signal when a signal ended it
  std::string out;    // the start of its stdout, at most `max_capture` bytes
  std::string err;    // the start of its stderr, the same
};

// argv[0] is the program's path (not looked up in PATH). `directory`, when not empty, is the
// child's working directory. A Failure (later) when it cannot be started, or when it was still
// running after `timeout` (then it is killed with SIGKILL and reaped first).
util::Result<Finished> run_program(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout,
                                   const std::filesystem::path& directory = {},
                                   std::size_t max_capture = 64 * 1024);

}  // namespace partyline::transcribe
