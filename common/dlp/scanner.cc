// Scanner::build: compiles the detector table, known-secret forms, escape triggers and
// injection signals into Hyperscan databases (outbound block + stream, inbound stream)
// and RE2 validators, once per config. Scanning lives in block_scan.cc, body_scan.cc and
// inbound_scan.cc; the pieces they share (sinks, windows, words) are here.
#include "common/dlp/scanner.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>

#include "common/dlp/decode.h"
#include "common/dlp/engine.h"
#include "common/dlp/injection.h"
#include "common/dlp/known_secrets.h"

namespace bottle::dlp {
namespace internal {
namespace {

std::atomic<uint64_t> g_next_engine_id{1};

std::string hs_literal(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 4);
  char buf[5];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
  return out;
}

struct PatternSet {
  std::vector<std::string> expressions;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  std::vector<std::string> names;  // for error messages
  void add(std::string expr, unsigned f, unsigned id, std::string name) {
    expressions.push_back(std::move(expr));
    flags.push_back(f);
    ids.push_back(id);
    names.push_back(std::move(name));
  }
};

Result<HsDatabase> compile(const PatternSet& set, unsigned mode) {
  std::vector<const char*> exprs;
  for (const auto& e : set.expressions) exprs.push_back(e.c_str());
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), set.flags.data(), set.ids.data(), static_cast<unsigned>(exprs.size()), mode,
                       nullptr, &db, &err) != HS_SUCCESS) {
    std::string what = err != nullptr && err->message != nullptr ? err->message : "unknown error";
    std::string name = err != nullptr && err->expression >= 0 &&
                               static_cast<size_t>(err->expression) < set.names.size()
                           ? set.names[static_cast<size_t>(err->expression)]
                           : "database";
    hs_free_compile_error(err);
    return Error{"dlp: cannot compile pattern " + name + ": " + what};
  }
  return HsDatabase(db);
}

Result<std::unique_ptr<RE2>> compile_re2(std::string_view pattern, bool caseless, std::string_view name) {
  RE2::Options opts;
  opts.set_encoding(RE2::Options::EncodingLatin1);
  opts.set_case_sensitive(!caseless);
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(std::string(pattern), opts);
  if (!re->ok()) return Error{"dlp: bad validator regex for " + std::string(name) + ": " + re->error()};
  return re;
}

constexpr std::string_view kHexRunTriggers[] = {R"(, 0x)", R"(,0x)", R"(, 0X)", R"(,0X)"};

struct ScratchSlot {
  uint64_t engine = 0;
  hs_scratch_t* scratch = nullptr;
};
// A handful of engines can be live at once (config reloads overlap in-flight requests).
struct ScratchCache {
  std::array<ScratchSlot, 4> slots;
  size_t next = 0;
  ~ScratchCache() {
    for (auto& s : slots) {
      if (s.scratch != nullptr) hs_free_scratch(s.scratch);
    }
  }
};

}  // namespace

Result<std::shared_ptr<const Engine>> Engine::create(const ScannerConfig& config) {
  if (hs_valid_platform() != HS_SUCCESS) return Error{"dlp: this CPU lacks the SSSE3 support Hyperscan needs"};
#if defined(__x86_64__) && defined(__POPCNT__)
  if (!__builtin_cpu_supports("popcnt")) return Error{"dlp: this CPU lacks the POPCNT instruction the scanner was built for"};
#endif
  init_unicode_tables();
  auto engine = std::make_shared<Engine>();
  engine->id_ = g_next_engine_id.fetch_add(1);

  for (const Detector& d : secret_detectors()) {
    auto re = compile_re2(d.pattern, d.caseless, d.id);
    if (!re) return Error{re.error()};
    engine->secret_.push_back({&d, std::move(*re)});
  }
  for (const SignalPattern& p : injection_signals()) {
    auto re = compile_re2(p.pattern, p.caseless, signal_name(p.kind));
    if (!re) return Error{re.error()};
    engine->signals_.push_back({&p, std::move(*re)});
  }

  for (const auto& v : config.exempt_values) {
    if (!v.empty()) engine->exempt_.push_back(v);
  }

  PatternSet out_set, in_set;
  for (size_t i = 0; i < engine->secret_.size(); ++i) {
    const Detector& d = *engine->secret_[i].def;
    engine->max_window_ = std::max(engine->max_window_, d.max_len);
    if (d.gate != Gate::hyperscan) {
      engine->region_detector_[static_cast<size_t>(d.gate) - 1] = static_cast<uint32_t>(i);
      continue;
    }
    const std::string_view hs = d.prefilter.empty() ? d.pattern : d.prefilter;
    out_set.add(std::string(hs), d.caseless ? HS_FLAG_CASELESS : 0u, static_cast<unsigned>(i), std::string(d.id));
  }
  for (std::string_view e : kHexRunTriggers) out_set.add(std::string(e), 0u, kTriggerHexRun, "hex trigger");
  for (size_t i = 0; i < engine->signals_.size(); ++i) {
    const SignalPattern& p = *engine->signals_[i].def;
    std::string anchors;
    for (size_t at = 0; at < p.anchors.size();) {
      const size_t nl = std::min(p.anchors.find('\n', at), p.anchors.size());
      if (nl > at) anchors += (anchors.empty() ? "" : "|") + hs_literal(p.anchors.substr(at, nl - at));
      at = nl + 1;
    }
    in_set.add(anchors, p.caseless ? HS_FLAG_CASELESS : 0u, static_cast<unsigned>(i), std::string(signal_name(p.kind)));
    engine->max_signal_len_ = std::max(engine->max_signal_len_, p.max_len);
  }
  for (size_t s = 0; s < config.known_secrets.size(); ++s) {
    const std::string& secret = config.known_secrets[s];
    if (secret.empty()) continue;
    engine->min_view_ = std::min(engine->min_view_, secret.size());
    if (secret.size() < kMinKnownSecret) {
      return Error{"dlp: known secret #" + std::to_string(s + 1) + " is shorter than " +
                   std::to_string(kMinKnownSecret) + " bytes and would match ordinary traffic"};
    }
    if (std::find(engine->exempt_.begin(), engine->exempt_.end(), secret) != engine->exempt_.end()) continue;
    for (auto& p : known_secret_patterns(secret)) {
      const auto id = static_cast<unsigned>(kKnownBase + engine->known_.size());
      engine->known_.push_back({p.literal.size(), p.encoding});
      engine->max_window_ = std::max(engine->max_window_, p.literal.size());
      out_set.add(hs_literal(p.literal), p.caseless ? HS_FLAG_CASELESS : 0u, id, "known_secret");
    }
  }

  auto ob = compile(out_set, HS_MODE_BLOCK);
  if (!ob) return Error{ob.error()};
  auto os = compile(out_set, HS_MODE_STREAM);
  if (!os) return Error{os.error()};
  auto is = compile(in_set, HS_MODE_STREAM);
  if (!is) return Error{is.error()};
  engine->out_block_ = std::move(*ob);
  engine->out_stream_ = std::move(*os);
  engine->in_stream_ = std::move(*is);

  hs_scratch_t* proto = nullptr;
  for (const hs_database_t* db : {engine->out_block_.get(), engine->out_stream_.get(), engine->in_stream_.get()}) {
    if (hs_alloc_scratch(db, &proto) != HS_SUCCESS) {
      if (proto != nullptr) hs_free_scratch(proto);
      return Error{"dlp: cannot allocate Hyperscan scratch space"};
    }
  }
  engine->proto_.reset(proto);
  return std::shared_ptr<const Engine>(std::move(engine));
}

hs_scratch_t* Engine::scratch() const {
  thread_local ScratchCache cache;
  for (auto& slot : cache.slots) {
    if (slot.engine == id_) return slot.scratch;
  }
  ScratchSlot& slot = cache.slots[cache.next++ % cache.slots.size()];
  if (slot.scratch != nullptr) hs_free_scratch(slot.scratch);
  slot = ScratchSlot{};
  hs_scratch_t* clone = nullptr;
  if (hs_clone_scratch(proto_.get(), &clone) != HS_SUCCESS) return nullptr;
  slot = ScratchSlot{id_, clone};
  return clone;
}

bool Engine::exempt(std::string_view secret) const {
  return std::any_of(exempt_.begin(), exempt_.end(), [&](const std::string& e) {
    return secret.find(e) != std::string_view::npos || std::string_view(e).find(secret) != std::string_view::npos;
  });
}

Finding scan_error(std::string_view location, uint64_t offset, std::string_view why) {
  Finding f;
  f.detector = "dlp.scan_error";
  f.severity = Severity::high;
  f.location = std::string(location);
  f.offset = offset;
  f.snippet = std::string(why);
  return f;
}

void report_stream_error(bool& reported, std::string_view location, uint64_t offset, std::vector<Finding>& out) {
  if (!reported) out.push_back(scan_error(location, offset, "body could not be scanned"));
  reported = true;
}

void keep_tail(std::string& tail, std::string_view chunk, size_t max) {
  if (chunk.size() >= max) {
    tail.assign(chunk.substr(chunk.size() - max));
  } else {
    tail.append(chunk);
    if (tail.size() > max) tail.erase(0, tail.size() - max);
  }
}

int HitCollector::on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  static_cast<HitCollector*>(ctx)->hits->push_back({id, to, to});
  return 0;
}

void Sink::add(Finding f, const Origin* origin) {
  // A unit with this many findings is blocked many times over; more only costs time.
  if (out->size() - first_new >= kMaxFindingsPerCall) return;
  for (size_t i = first_new; i < out->size(); ++i) {
    const Finding& g = (*out)[i];
    if (g.detector != f.detector) continue;
    if (g.offset == f.offset) return;
    // A decoded view re-finding what a raw or other view already reported in the same word.
    if (origin != nullptr && g.offset >= origin->begin && g.offset <= origin->end) return;
  }
  f.location = std::string(location);
  out->push_back(std::move(f));
}

std::string_view Window::slice(uint64_t a, uint64_t b, std::string& buf) const {
  a = std::max(a, begin());
  b = std::min(b, end());
  if (a >= b) return {};
  if (a >= chunk_abs_) return chunk_.substr(static_cast<size_t>(a - chunk_abs_), static_cast<size_t>(b - a));
  buf.clear();
  const uint64_t tail_end = std::min(b, chunk_abs_);
  buf.append(tail_.substr(static_cast<size_t>(a - begin()), static_cast<size_t>(tail_end - a)));
  if (b > chunk_abs_) buf.append(chunk_.substr(0, static_cast<size_t>(b - chunk_abs_)));
  return buf;
}

}  // namespace internal

Result<std::shared_ptr<const Scanner>> Scanner::build(const ScannerConfig& config) {
  auto engine = internal::Engine::create(config);
  if (!engine) return Error{engine.error()};
  return std::shared_ptr<const Scanner>(std::move(*engine));
}


}  // namespace bottle::dlp
