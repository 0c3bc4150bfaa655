#include "s3/xml.hpp"

#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <vector>

#include <string>

namespace partyline::s3::xml {
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

TEST(S3Xml, CompleteMultipartUploadListsThePartsInOrder) {
  EXPECT_EQ(complete_multipart_upload({"\"a\"", "\"b\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3Xml, CompleteMultipartUploadRoundTripsAnyETag) {
  const std::vector<std::string> etags = {
      "\"9b2cf535f27731c974343645a3985328\"", "a&b", "<x>", "]]>", "\"e-5\"'", ""};
  const std::string body = complete_multipart_upload(etags);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(body.data(), body.size())) << body;
  const pugi::xml_node root = doc.child("CompleteMultipartUpload");
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://s3.amazonaws.com/doc/2006-03-01/");
  std::vector<std::string> parsed;
  int number = 1;
  for (const pugi::xml_node part : root.children("Part")) {
    EXPECT_EQ(part.child_value("PartNumber"), std::to_string(number++));
    parsed.emplace_back(part.child_value("ETag"));
  }
  EXPECT_EQ(parsed, etags);
}

TEST(S3Xml, CreateBucketConfigurationOnlyOutsideUsEast1) {
  EXPECT_EQ(create_bucket_configuration("us-east-1"), "");
  EXPECT_EQ(create_bucket_configuration(""), "");
  const std::string body = create_bucket_configuration("eu-west-1");
  EXPECT_EQ(body,
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>");
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(create_bucket_configuration("a<&>b").c_str()));
  EXPECT_STREQ(doc.child("CreateBucketConfiguration").child_value("LocationConstraint"), "a<&>b");
}

}  // namespace
}  // namespace partyline::s3::xml
