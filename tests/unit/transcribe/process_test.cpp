#include "transcribe/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace partyline::transcribe {
namespace {

using namespace std::chrono_literals;

TEST(RunProgram, CapturesOutputAndExitCode) {
  auto done = run_program({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
  ASSERT_TRUE(done) << done.error().reason;
  EXPECT_EQ(done->exit_code, 3);
  EXPECT_EQ(done->out, "out\n");
  EXPECT_EQ(done->err, "err\n");

  done = run_program({"/bin/sh", "-c", "kill -9 $$"}, 10s);
  ASSERT_TRUE(done) << done.error().reason;
  EXPECT_EQ(done->exit_code, 128 + 9);
}

TEST(RunProgram, PassesArgumentsWithoutAShell) {
  const auto done = run_program({"/bin/echo", "a b", "$HOME", ";", "`id`"}, 10s);
  ASSERT_TRUE(done) << done.error().reason;
  EXPECT_EQ(done->out, "a b $HOME ; `id`\n");
}

TEST(RunProgram, KeepsOnlyTheStartOfLongOutputButReadsItAll) {
  // 1 MiB on each stream: the child would block on a full pipe if the rest were not read.
  const auto done = run_program(
      {"/bin/sh", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"}, 10s, {}, 1000);
  ASSERT_TRUE(done) << done.error().reason;
  EXPECT_EQ(done->exit_code, 0);
  EXPECT_EQ(done->out.size(), 1000u);
  EXPECT_EQ(done->err.size(), 1000u);
}

TEST(RunProgram, KillsAProgramThatOverrunsItsTime) {
  const auto started = std::chrono::steady_clock::now();
  const auto done = run_program({"/bin/sleep", "30"}, 300ms);
  ASSERT_FALSE(done);
  EXPECT_NE(done.error().reason.find("killed"), std::string::npos) << done.error().reason;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);

  // The same when it closed its output and goes on running.
  const auto quiet = run_program({"/bin/sh", "-c", "exec >&- 2>&-; sleep 30"}, 300ms);
  ASSERT_FALSE(quiet);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
}

TEST(RunProgram, GivesTheChildNothingOfTheService) {
  ::setenv("PARTYLINE_TEST_SECRET", "hunter2", 1);
  const int inherited = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, like a careless socket
  ASSERT_GE(inherited, 3);
  const std::string fd = std::to_string(inherited);
  const auto done = run_program(
      {"/bin/sh", "-c", "env; test -e /proc/$$/fd/" + fd + " && echo open-fd; cat; pwd"}, 10s,
      "/tmp");
  ::close(inherited);
  ::unsetenv("PARTYLINE_TEST_SECRET");
  ASSERT_TRUE(done) << done.error().reason;
  EXPECT_EQ(done->out.find("hunter2"), std::string::npos) << done->out;
  EXPECT_EQ(done->out.find("open-fd"), std::string::npos) << done->out;
  EXPECT_NE(done->out.find("LC_ALL=C"), std::string::npos) << done->out;
  EXPECT_TRUE(done->out.ends_with("/tmp\n")) << done->out;  // and cat read an empty stdin
}

TEST(RunProgram, FailsForAMissingProgram) {
  auto done = run_program({"/nonexistent/ffmpeg", "-version"}, 10s);
  ASSERT_FALSE(done);
  EXPECT_NE(done.error().reason.find("/nonexistent/ffmpeg"), std::string::npos);
  EXPECT_FALSE(run_program({}, 10s));
  EXPECT_FALSE(run_program({"/bin/true"}, 10s, "/nonexistent-dir"));
}

}  // namespace
}  // namespace partyline::transcribe
