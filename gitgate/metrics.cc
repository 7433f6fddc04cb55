#include "gitgate/metrics.h"

namespace bottle::gitgate {
namespace {

void counter(std::string& out, const char* name, const char* help, const char* type, uint64_t value,
             const char* labels = "") {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + labels + " " + std::to_string(value) + "\n";
}

void sample(std::string& out, const char* name, const char* labels, uint64_t value) {
  out += std::string(name) + labels + " " + std::to_string(value) + "\n";
}

}  // namespace

std::string GateMetrics::render() const {
  std::string out;
  out +=
      "# HELP gitgate_requests_total Requests that named a git service, by protocol.\n"
      "# TYPE gitgate_requests_total counter\n";
  sample(out, "gitgate_requests_total", "{protocol=\"git\"}", git_requests.load());
  sample(out, "gitgate_requests_total", "{protocol=\"http\"}", http_requests.load());
  counter(out, "gitgate_bad_requests_total", "Requests refused at the protocol level.", "counter",
          bad_requests.load());
  counter(out, "gitgate_timeouts_total", "Stalled clients closed.", "counter", timeouts.load());
  out +=
      "# HELP gitgate_fetches_total Upstream fetches before reads, by result.\n"
      "# TYPE gitgate_fetches_total counter\n";
  sample(out, "gitgate_fetches_total", "{result=\"ok\"}", fetches_ok.load());
  sample(out, "gitgate_fetches_total", "{result=\"failed\"}", fetches_failed.load());
  counter(out, "gitgate_reads_coalesced_total", "Reads served by a fetch another read started.",
          "counter", reads_coalesced.load());
  out += "# HELP gitgate_pushes_total Pushes by outcome.\n# TYPE gitgate_pushes_total counter\n";
  sample(out, "gitgate_pushes_total", "{outcome=\"forwarded\"}", pushes_forwarded.load());
  sample(out, "gitgate_pushes_total", "{outcome=\"rejected\"}", pushes_rejected.load());
  sample(out, "gitgate_pushes_total", "{outcome=\"failed\"}", pushes_failed.load());
  counter(out, "gitgate_scanned_bytes_total", "Bytes of pushed objects scanned.", "counter",
          scanned_bytes.load());
  counter(out, "gitgate_scanned_blobs_total", "Text blobs scanned.", "counter",
          scanned_blobs.load());
  counter(out, "gitgate_binary_blobs_skipped_total", "Blobs skipped as binary.", "counter",
          binary_blobs_skipped.load());
  counter(out, "gitgate_active_connections", "Open client connections.", "gauge",
          active_connections.load());
  counter(out, "gitgate_active_children", "Running git upload-pack / receive-pack.", "gauge",
          active_children.load());
  return out;
}

}  // namespace bottle::gitgate
