// Fuzzes init.yaml parsing and the output relay: neither may crash or hang on any input,
// and every config error must carry a position.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "init/config.h"
#include "init/line_relay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = bottle::init::parse_init_config(text, "init.yaml");
  if (config.ok()) {
    (void)bottle::init::select_daemons("egress,gitgate,supervise", *config);
  } else if (config.error().rfind("init.yaml", 0) != 0) {
    std::abort();  // an error that does not name the file
  }
  size_t total = 0;
  bottle::init::LineSplitter lines([&](std::string_view line) {
    if (line.size() > bottle::init::kMaxLineBytes) std::abort();
    total += line.size();
    (void)bottle::init::merge_daemon_field("egress", line);
  });
  lines.feed(text.substr(0, size / 2));
  lines.feed(text.substr(size / 2));
  lines.finish();
  return 0;
}
