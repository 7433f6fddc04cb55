// Placeholder engine: the API links and runs; detectors land in the next commits.
#include "common/dlp/scanner.h"

namespace bottle::dlp {
namespace {

class NullBodyScan final : public BodyScan {
 public:
  void feed(std::string_view, std::vector<Finding>&) override {}
  void finish(std::vector<Finding>&) override {}
};

class NullScanner final : public Scanner {
 public:
  std::vector<Finding> scan(std::string_view, Direction, std::string_view) const override { return {}; }
  std::unique_ptr<BodyScan> open_body(Direction, std::string_view) const override {
    return std::make_unique<NullBodyScan>();
  }
};

}  // namespace

Result<std::shared_ptr<const Scanner>> Scanner::build(const ScannerConfig&) {
  return std::shared_ptr<const Scanner>(std::make_shared<NullScanner>());
}

}  // namespace bottle::dlp
