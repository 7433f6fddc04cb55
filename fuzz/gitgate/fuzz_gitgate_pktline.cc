// Fuzzes the git:// side of the gate: the input is cut into pkt-lines the way a
// connection reads them (need_more keeps what came so far; the first byte picks how much
// arrives at a time); every data packet goes through the request parser and the repo-path
// and GIT_PROTOCOL sanitizers, and a hook-channel line parser gets the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gitgate/pkt_line.h"
#include "gitgate/push_gate.h"
#include "gitgate/push_scan.h"

using namespace bottle::gitgate;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string buffer;
  size_t fed = 0;
  while (fed < input.size() || !buffer.empty()) {
    if (fed < input.size()) {
      const size_t n = std::min(step, input.size() - fed);
      buffer.append(input.substr(fed, n));
      fed += n;
    }
    PktRead r = read_pkt(buffer);
    check(r.consumed <= buffer.size());
    if (r.status == PktRead::Status::need_more) {
      check(r.consumed == 0);
      if (fed >= input.size()) break;
      continue;
    }
    if (r.status == PktRead::Status::error) {
      check(!r.error.empty());
      check(err_pkt(r.error).size() <= kMaxPktLength);
      break;
    }
    if (r.status == PktRead::Status::data) {
      check(r.payload.data() >= buffer.data() &&
            r.payload.data() + r.payload.size() <= buffer.data() + buffer.size());
      check(r.payload.size() + 4 == r.consumed);
      if (auto req = parse_daemon_request(r.payload)) {
        const std::string name = repo_name_from_path(req->path);
        check(name.find('/') == std::string::npos && name != "..");
        check(sanitize_git_protocol(req->protocol) == req->protocol);
      }
      check(pkt_line(r.payload).size() == r.consumed);
    }
    check(r.consumed > 0);
    buffer.erase(0, r.consumed);
  }
  (void)parse_hook_request(input);
  (void)parse_ref_update(input);
  return 0;
}
