// libFuzzer target: S3's XML answers (error bodies, CreateMultipartUpload and
// CompleteMultipartUpload results) into the readers the S3 store uses. A body is whatever the
// server, or anyone between it and us, sends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "s3/xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace s3_xml = partyline::s3::xml;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string code = s3_xml::error_code(body);
  const std::string upload_id = s3_xml::upload_id(body);
  const s3_xml::CompleteAnswer answer = s3_xml::complete_answer(body);
  // A completed upload is not an error; a body with an <Error> code is not completed.
  if (answer.completed && !answer.error_code.empty()) std::abort();
  if (!answer.completed && answer.error_code != code) std::abort();
  return 0;
}
