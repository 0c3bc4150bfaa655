#include "s3/xml.hpp"

#include <pugixml.hpp>

namespace partyline::s3::xml {
namespace {

constexpr const char* kNamespace = "http://s3.amazonaws.com/doc/2006-03-01/";

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

std::string serialize(const pugi::xml_document& doc) {
  StringWriter writer;
  doc.save(writer, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return std::move(writer.out);
}

void append_text(pugi::xml_node parent, const char* name, const std::string& value) {
  parent.append_child(name).append_child(pugi::node_pcdata).set_value(value.c_str());
}

}  // namespace

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

std::string complete_multipart_upload(const std::vector<std::string>& etags) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns").set_value(kNamespace);
  for (std::size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node part = root.append_child("Part");
    append_text(part, "PartNumber", std::to_string(i + 1));
    append_text(part, "ETag", etags[i]);
  }
  return serialize(doc);
}

std::string create_bucket_configuration(std::string_view region) {
  if (region.empty() || region == "us-east-1") return "";
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CreateBucketConfiguration");
  root.append_attribute("xmlns").set_value(kNamespace);
  append_text(root, "LocationConstraint", std::string(region));
  return serialize(doc);
}

}  // namespace partyline::s3::xml
