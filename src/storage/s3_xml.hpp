#pragma once
// The XML answers of S3 that the store reads: error bodies, CreateMultipartUpload and
// CompleteMultipartUpload results. Pure functions of the body, so they can be tested and fuzzed
// without a server.
#include <string>
#include <string_view>

namespace partyline::storage::s3_xml {

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

}  // namespace partyline::storage::s3_xml
