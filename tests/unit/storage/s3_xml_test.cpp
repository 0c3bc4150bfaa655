#include "storage/s3_xml.hpp"

#include <gtest/gtest.h>

#include <string>

namespace partyline::storage::s3_xml {
namespace {

const std::string kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

TEST(S3Xml, ErrorCodeOfAnErrorBody) {
  const struct {
    std::string body, code;
  } cases[] = {
      {kDecl + "<Error><Code>NoSuchKey</Code><Message>m</Message></Error>", "NoSuchKey"},
      {"<Error><Message>no code</Message></Error>", ""},
      {"<InitiateMultipartUploadResult/>", ""},
      {"<Error><Code>Trunc", ""},
      {"", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    EXPECT_EQ(error_code(c.body), c.code);
  }
}

TEST(S3Xml, UploadIdOfAnInitiateResult) {
  EXPECT_EQ(
      upload_id(kDecl + "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/"
                        "2006-03-01/\"><Bucket>b</Bucket><Key>k</Key><UploadId>up-1</UploadId>"
                        "</InitiateMultipartUploadResult>"),
      "up-1");
  EXPECT_EQ(upload_id("<Error><Code>InternalError</Code></Error>"), "");
  EXPECT_EQ(upload_id("<InitiateMultipartUploadResult><UploadId>up"), "");
}

TEST(S3Xml, CompleteAnswerTellsSuccessFromAnErrorIn200) {
  const CompleteAnswer done = complete_answer(
      "<CompleteMultipartUploadResult><ETag>\"e-3\"</ETag>"
      "</CompleteMultipartUploadResult>");
  EXPECT_TRUE(done.completed);
  EXPECT_EQ(done.error_code, "");
  const CompleteAnswer failed =
      complete_answer(kDecl + "\n\n<Error><Code>InternalError</Code></Error>");
  EXPECT_FALSE(failed.completed);
  EXPECT_EQ(failed.error_code, "InternalError");
  const CompleteAnswer garbage = complete_answer("<html>502");
  EXPECT_FALSE(garbage.completed);
  EXPECT_EQ(garbage.error_code, "");
}

}  // namespace
}  // namespace partyline::storage::s3_xml
