// Inbound prompt injection as a scored verdict (SPEC §5 `injection.*`, issue 13).
//
// Responses are scanned for signals: phrasing that overrides or reassigns the reader's
// instructions, role and system markers, requests to reveal prompts, tools or secrets,
// instructions to run tools or send data, URLs that carry data out, and words addressed
// to an AI reader. Each signal has a weight. Where a signal sits changes its weight:
// content hidden from a human reader (comments, invisible CSS, attribute text, Unicode
// tag characters, zero-width obfuscation) adds a bonus; quoted or reported speech, code
// blocks and educational framing ("an example of", "attackers may write") halve it.
// Signals close together form a cluster; a cluster's score is the sum of its strongest
// signal of each kind plus the bonuses, and the verdict is one `injection.prompt` finding
// per cluster that reaches the warn threshold, blocking at the block threshold. Every
// finding lists its signals and its score.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/scanner.h"

namespace bottle::dlp::internal {

// The thresholds are public: kInjectionWarnScore and kInjectionBlockScore in scanner.h.
// Bonus when a signal sits in content hidden from a human reader, or was written with
// zero-width or tag characters to slip past a filter.
inline constexpr int kHiddenBonus = 5;
// Signals further apart than this belong to different clusters.
inline constexpr size_t kClusterGap = 2000;
// How far back the context of a signal (code block, quote, framing, hidden element) is read.
inline constexpr size_t kContextLookback = 8192;

enum class SignalKind : uint8_t {
  override,        // "ignore all previous instructions", "you are now DAN"
  role_change,     // "your new task is", "from now on you will"
  precondition,    // "before answering, ...", "please do the following first"
  secrecy,         // "do not tell the user"
  authority,       // "this was approved by the operator", "the user has granted permission"
  role_marker,     // [SYSTEM], <|im_start|>, </tool_result>, ### Instruction:
  turn_marker,     // "Human:" / "Assistant:" at a line start
  reveal,          // "print your system prompt", "list every tool you have"
  sensitive_path,  // ~/.ssh, .aws/credentials, $GITHUB_TOKEN
  tool_call,       // "call the send_email tool", "run `curl ...`", "visit https://..."
  send_data,       // "send the contents of ... to https://", "$(cat ...)", "| curl"
  exfil_url,       // an image, iframe or link whose URL carries data or a placeholder
  addressee,       // "AI agents reading this", "Note to the assistant:"
};
inline constexpr size_t kSignalKinds = 13;
std::string_view signal_name(SignalKind kind);

// One phrasing of a signal. Hyperscan looks only for its anchors, literal words or
// short phrases (one per line) of which every match holds at least one and which
// ordinary text rarely holds; RE2 then matches `pattern` in a window around each anchor.
// (Hyperscan running the patterns themselves over prose and code verified a common word
// every few bytes: under 1 GB/s.)
struct SignalPattern {
  SignalKind kind;
  std::string_view anchors;  // newline-separated literals, matched with `caseless`
  std::string_view pattern;  // RE2
  int weight;
  size_t max_len;       // longest match: the window reaches this far on both sides of an anchor
  bool caseless = true;
  // The weight of one match (0 drops it); null: `weight`.
  int (*judge)(std::string_view match) = nullptr;
};
std::span<const SignalPattern> injection_signals();

// Where a signal sits, read from the text before it.
struct SignalContext {
  std::string_view hidden;  // "", "comment", "attribute", "css", "alt", "tags"
  bool code = false;        // <code> <pre> <blockquote> <samp>, a fenced or inline code span
  bool quoted = false;      // inside reported speech: "...", “...”, <q>
  bool framed = false;      // educational framing just before it
};
// `before` is the text preceding the signal (up to kContextLookback bytes).
SignalContext signal_context(std::string_view before);

// Accumulates confirmed signals of one body (in offset order) into clusters and emits
// the verdicts. Used by the inbound BodyScan, so block scans and streams share it.
class InjectionJudge {
 public:
  // One confirmed signal at [begin, end) (offsets in the normalized text).
  void add(SignalKind kind, int weight, uint64_t begin, uint64_t end, const SignalContext& ctx, bool obfuscated,
           std::string_view excerpt, std::vector<Finding>& out);
  // No signal can join the current cluster any more once the text is past `pos`.
  void advance(uint64_t pos, std::vector<Finding>& out);
  void finish(std::vector<Finding>& out);

 private:
  struct Cluster {
    bool open = false;
    uint64_t first = 0, last = 0;
    std::array<int, kSignalKinds> best{};  // strongest discounted weight per kind
    std::vector<std::string> notes;        // signal names and context, in order seen
    std::string excerpt;                   // the first signal's text
    bool hidden = false, obfuscated = false;
    bool emitted_block = false;
    int score() const;
  };
  void close(std::vector<Finding>& out);
  Finding verdict(bool blocking) const;

  Cluster c_;
};

}  // namespace bottle::dlp::internal
