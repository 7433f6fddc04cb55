// Writes tests/dlp/corpus/malicious/: every fake sample in plain text and in one of
// several encodings an exfiltrating agent might use. Run by hand when detectors change:
//   build/tests/dlp/dlp_corpus_gen tests/dlp/corpus/malicious
#include <cstdio>
#include <fstream>
#include <string>

#include "common/dlp/known_secrets.h"
#include "tests/dlp/fake_secrets.h"

using bottle::dlp::base64_encode;

namespace {

std::string percent_all(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string hex(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dlp_corpus_gen <output-dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  auto write = [&](const std::string& name, const std::string& body) {
    std::ofstream(dir + "/" + name, std::ios::binary) << body;
  };
  int i = 0;
  for (const auto& s : bottle::dlp::testing::fake_samples(2024)) {
    write(s.detector + "__plain.txt", s.text);
    std::string name, body;
    switch (i++ % 6) {
      case 0:
        name = "json_body.json";
        body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + json_escape(s.text) + "\"}]}";
        break;
      case 1:
        name = "base64_once.txt";
        body = "payload=" + base64_encode(s.text) + "&v=1";
        break;
      case 2:
        name = "base64_twice.txt";
        body = "{\"blob\": \"" + base64_encode(base64_encode(s.text)) + "\"}";
        break;
      case 3:
        name = "percent_url.txt";
        body = "GET /collect?d=" + percent_all(s.text) + " HTTP/1.1";
        break;
      case 4:
        name = "hex_header.txt";
        body = "X-Trace: " + hex(s.text);
        break;
      default:
        name = "percent_of_base64_url.txt";
        body = "https://evil.example/x?q=" + percent_all(base64_encode(s.text, true));
        break;
    }
    write(s.detector + "__" + name, body);
  }
  return 0;
}
