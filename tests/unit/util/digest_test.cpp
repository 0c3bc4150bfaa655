#include "util/digest.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "util/crypto.hpp"

namespace partyline::util {
namespace {

// Removes its file when the test ends, pass or fail.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("partyline-digest-" + std::string(info->name()) + "-" + hex_lower(random_bytes(6)));
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string md5_hex_of(std::string_view data) {
  Digest d;
  d.update(data.data(), data.size());
  return d.md5_hex();
}

// SHA-256: FIPS 180-2 appendix B examples. MD5 of "" and "abc": RFC 1321 appendix A.5; of the
// 448-bit message: `openssl md5`.
TEST(Digest, MatchesPublishedVectors) {
  struct Case {
    std::string input, sha256, md5;
  };
  const Case cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "d41d8cd98f00b204e9800998ecf8427e"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
       "900150983cd24fb0d6963f7d28e17f72"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
       "8215ef0796a20bcaaae116d3876c664a"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    Digest d;
    d.update(c.input.data(), c.input.size());
    EXPECT_EQ(d.sha256_hex(), c.sha256);
    EXPECT_EQ(d.md5_hex(), c.md5);
    EXPECT_EQ(md5_hex_of(c.input), c.md5);
  }
}

TEST(Digest, Md5Base64IsTheContentMd5Form) {
  Digest d;
  d.update("abc", 3);
  // base64 of 900150983cd24fb0d6963f7d28e17f72
  EXPECT_EQ(d.md5_base64(), "kAFQmDzST7DWlj99KOF/cg==");
}

TEST(Digest, ChunkedUpdatesEqualOneShot) {
  const std::string data = random_bytes(200'000);
  Digest one_shot;
  one_shot.update(data.data(), data.size());
  const std::string expected_sha256 = one_shot.sha256_hex();
  const std::string expected_md5 = one_shot.md5_hex();
  ASSERT_EQ(expected_sha256, sha256_hex(data));

  for (std::size_t chunk : {1UL, 7UL, 63UL, 64UL, 65UL, 4096UL, 65536UL, 199'999UL}) {
    SCOPED_TRACE(chunk);
    Digest d;
    for (std::size_t at = 0; at < data.size(); at += chunk) {
      d.update(data.data() + at, std::min(chunk, data.size() - at));
    }
    d.update(data.data(), 0);  // empty updates are harmless
    EXPECT_EQ(d.sha256_hex(), expected_sha256);
    EXPECT_EQ(d.md5_hex(), expected_md5);
  }
}

TEST(Digest, FinalizesOnceAndRefusesLaterUpdates) {
  Digest d;
  d.update("ab", 2);
  const std::string first = d.sha256_hex();
  EXPECT_EQ(d.sha256_hex(), first);  // repeated getters return the same value
  EXPECT_EQ(d.md5_hex(), md5_hex_of("ab"));
  EXPECT_THROW(d.update("c", 1), std::logic_error);
  EXPECT_EQ(d.sha256_hex(), sha256_hex("ab"));
}

TEST(Digest, MovedDigestKeepsItsState) {
  Digest a;
  a.update("a", 1);
  Digest b = std::move(a);
  b.update("bc", 2);
  EXPECT_EQ(b.sha256_hex(), sha256_hex("abc"));
}

std::string md5_base64_of(std::string_view data) {
  Digest d;
  d.update(data.data(), data.size());
  return d.md5_base64();
}

TEST(StreamDigest, PartsCoverTheStreamAtPartSizeBoundaries) {
  const std::string data = random_bytes(10'000);
  struct Case {
    std::uint64_t part_size;
    std::size_t chunk;  // update() sizes, unrelated to the part size
    std::size_t parts;
  };
  const Case cases[] = {
      {1000, 1, 10}, {1000, 999, 10},   {1000, 1000, 10}, {1000, 4096, 10},
      {3000, 7, 4},  {3000, 10'000, 4}, {10'000, 333, 1}, {20'000, 4096, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "part_size " << c.part_size << ", chunk " << c.chunk);
    StreamDigest d({.whole_md5 = false, .part_size = c.part_size});
    for (std::size_t at = 0; at < data.size(); at += c.chunk)
      d.update(data.data() + at, std::min(c.chunk, data.size() - at));
    const StreamDigests r = d.finish();
    EXPECT_EQ(r.size, data.size());
    EXPECT_EQ(r.sha256_hex, sha256_hex(data));
    EXPECT_EQ(r.md5_hex, "");  // not asked for
    EXPECT_EQ(r.part_size, c.part_size);
    ASSERT_EQ(r.parts.size(), c.parts);
    std::uint64_t offset = 0;
    for (const auto& part : r.parts) {
      const std::string bytes = data.substr(offset, c.part_size);
      EXPECT_EQ(part.offset, offset);
      EXPECT_EQ(part.size, bytes.size());
      EXPECT_EQ(part.sha256_hex, sha256_hex(bytes));
      EXPECT_EQ(part.md5_base64, md5_base64_of(bytes));
      offset += part.size;
    }
    EXPECT_EQ(offset, data.size());
  }
}

TEST(StreamDigest, WholeMd5WithoutParts) {
  StreamDigest d({.whole_md5 = true, .part_size = 0});
  d.update("ab", 2);
  d.update("c", 1);
  const StreamDigests r = d.finish();
  EXPECT_EQ(r.size, 3u);
  EXPECT_EQ(r.sha256_hex, sha256_hex("abc"));
  EXPECT_EQ(r.md5_hex, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_TRUE(r.parts.empty());
}

TEST(StreamDigest, EmptyStreamHasNoParts) {
  StreamDigest d({.whole_md5 = true, .part_size = 16});
  const StreamDigests r = d.finish();
  EXPECT_EQ(r.size, 0u);
  EXPECT_EQ(r.sha256_hex, sha256_hex(""));
  EXPECT_EQ(r.md5_hex, md5_hex_of(""));
  EXPECT_TRUE(r.parts.empty());
}

TEST(StreamDigest, RefusesUpdatesAfterFinish) {
  StreamDigest d({});
  d.update("a", 1);
  d.finish();
  EXPECT_THROW(d.update("b", 1), std::logic_error);
  EXPECT_THROW(d.finish(), std::logic_error);
}

TEST(DigestFile, HashesTheWholeFile) {
  // Larger than the 64 KiB buffer and not a multiple of it.
  const std::string contents = random_bytes(3 * 65536 + 123);
  TempFile file(contents);
  const FileDigest got = digest_file(file.path());
  EXPECT_EQ(got.size, contents.size());
  EXPECT_EQ(got.sha256_hex, sha256_hex(contents));
  EXPECT_EQ(got.md5_hex, md5_hex_of(contents));
}

TEST(DigestFile, EmptyFile) {
  TempFile file("");
  const FileDigest got = digest_file(file.path());
  EXPECT_EQ(got.size, 0u);
  EXPECT_EQ(got.sha256_hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(got.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(DigestFile, MissingFileThrows) {
  EXPECT_THROW(digest_file("/nonexistent/partyline-digest-missing"), std::system_error);
}

TEST(DigestRange, HashesExactlyTheRange) {
  const std::string contents = random_bytes(200'000);
  TempFile file(contents);
  struct Case {
    std::uint64_t offset, length;
  };
  const Case cases[] = {{0, 0},       {0, 1},      {0, 200'000},
                        {1, 65536},   {65535, 3},  {100'000, 100'000},
                        {199'999, 1}, {200'000, 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.offset) + "+" + std::to_string(c.length));
    EXPECT_EQ(sha256_hex_of_range(file.path(), c.offset, c.length),
              sha256_hex(std::string_view(contents).substr(c.offset, c.length)));
  }
}

TEST(DigestRange, RangePastTheEndThrows) {
  TempFile file("0123456789");
  EXPECT_THROW(sha256_hex_of_range(file.path(), 5, 6), std::out_of_range);
  EXPECT_THROW(sha256_hex_of_range(file.path(), 11, 1), std::out_of_range);
  EXPECT_THROW(sha256_hex_of_range("/nonexistent/partyline-digest-missing", 0, 1),
               std::system_error);
}

}  // namespace
}  // namespace partyline::util
