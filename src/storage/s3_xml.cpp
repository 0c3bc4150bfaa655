#include "storage/s3_xml.hpp"

#include <pugixml.hpp>

namespace partyline::storage::s3_xml {

std::string error_code(std::string_view body) {
  if (body.empty()) return "";
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return "";
  return doc.child("Error").child_value("Code");
}

std::string upload_id(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return "";
  return doc.child("InitiateMultipartUploadResult").child_value("UploadId");
}

CompleteAnswer complete_answer(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return {};
  if (doc.child("CompleteMultipartUploadResult")) return {true, ""};
  return {false, doc.child("Error").child_value("Code")};
}

}  // namespace partyline::storage::s3_xml
