#pragma once
// The XML of S3 requests and answers: the bodies the client sends (CompleteMultipartUpload,
// CreateBucketConfiguration), built with pugixml so that every value is escaped, and the answers
// it reads (error bodies, CreateMultipartUpload and CompleteMultipartUpload results). Pure
// functions of their input, so they can be tested and fuzzed without a server.
#include <string>
#include <string_view>
#include <vector>

namespace partyline::s3::xml {

// ---- Answers ----

// <Error><Code>…</Code></Error> of an S3 error body, or "".
std::string error_code(std::string_view body);

// <InitiateMultipartUploadResult><UploadId>…</UploadId> of a CreateMultipartUpload answer, or "".
std::string upload_id(std::string_view body);

// A CompleteMultipartUpload answer of status 200: S3 may still report a failure in its body (the
// response streams while it works).
struct CompleteAnswer {
  bool completed = false;  // the body is a <CompleteMultipartUploadResult>
  std::string error_code;  // otherwise, <Error><Code> when the body is XML, or ""
};
CompleteAnswer complete_answer(std::string_view body);

// ---- Request bodies (no XML declaration, no whitespace between elements) ----

// <CompleteMultipartUpload xmlns="…"><Part><PartNumber>n</PartNumber><ETag>…</ETag></Part>…:
// etags[i] is part i + 1's ETag, as the server returned it (quotes included).
std::string complete_multipart_upload(const std::vector<std::string>& etags);

// <CreateBucketConfiguration xmlns="…"><LocationConstraint>region</LocationConstraint>…, or ""
// for us-east-1 (and no region), where S3 wants no body.
std::string create_bucket_configuration(std::string_view region);

}  // namespace partyline::s3::xml
