#include "orchestrator/top_cmd.h"

#include <unistd.h>

#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "orchestrator/activity.h"
#include "orchestrator/local_backend.h"
#include "orchestrator/proposals_cmd.h"
#include "orchestrator/state.h"
#include "orchestrator/terminal.h"

namespace bottle::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;

// One running bottle as top sees it.
struct BottleView {
  BottleMetadata md;
  std::string label;
  LabelColor color;
  std::unique_ptr<LogTail> log;
  BlockTally tally;
  std::optional<EgressCounters> counters;  // last successful read of /metrics
  std::optional<uint64_t> last_requests;
  Clock::time_point last_sample;
  std::optional<double> rps;
  std::vector<Proposal> pending;
  std::string printed_stats;  // line mode: the last counters line printed
};

// Blocks by reason: for each reason the larger of the log's count and egress's counter.
// The log misses blocks under `log: off`; egress's counters start again when it restarts.
std::map<std::string, uint64_t> blocks_by_reason(const BottleView& v) {
  std::map<std::string, uint64_t> out = v.tally.by_reason;
  if (v.counters) {
    for (const auto& [reason, n] : v.counters->blocks_by_reason) {
      if (n > out[reason]) out[reason] = n;
    }
  }
  for (auto it = out.begin(); it != out.end();) it = it->second ? std::next(it) : out.erase(it);
  return out;
}

uint64_t sum(const std::map<std::string, uint64_t>& m) {
  uint64_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

std::string reasons_text(const std::map<std::string, uint64_t>& m) {
  std::string s;
  for (const auto& [reason, n] : m) s += (s.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  return s.empty() ? "none" : s;
}

std::string rps_text(const BottleView& v) {
  if (!v.rps) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", *v.rps);
  return buf;
}

// Cuts `s` to `cols` visible columns: escape sequences take none, UTF-8 continuation
// bytes take none. A cut line ends with a reset, so no colour leaks into the next one.
std::string clip_visible(const std::string& s, int cols) {
  int width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      size_t end = i + 2;
      while (end < s.size() && !(s[end] >= 0x40 && s[end] <= 0x7e)) ++end;
      i = end;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xc0) == 0x80) continue;
    if (++width > cols) return s.substr(0, i) + "\x1b[0m";
  }
  return s;
}

std::string padded(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

class Top {
 public:
  Top(const TopOptions& o, std::ostream& out) : options_(o), out_(out) {}
  int run();

 private:
  void refresh();
  void refresh_one(BottleView& v);
  void draw();
  void draw_logs(std::vector<std::string>& lines, int rows);
  void handle(char key);
  void answer(Decision d, bool edit);
  void stop_selected();
  void open_logs();
  void read_logs();
  BottleView* selected();
  void say(const std::string& line) {
    if (keyboard_.active()) {
      status_ = line;
    } else {
      out_ << line << "\n";
    }
  }

  const TopOptions& options_;
  std::ostream& out_;
  RawKeyboard keyboard_;
  std::map<std::string, BottleView> bottles_;  // by slug, running ones only
  std::vector<std::string> order_;             // slugs, oldest bottle first
  size_t selected_ = 0;
  size_t selected_proposal_ = 0;
  std::string status_;
  bool first_ = true;
  // The log view ('l'): one bottle's log, live.
  std::string logs_of_;  // slug; "" = the main view
  bool logs_blocks_only_ = false;
  std::unique_ptr<LogTail> logs_tail_;
  std::deque<std::string> logs_lines_;
};

BottleView* Top::selected() {
  if (order_.empty()) return nullptr;
  if (selected_ >= order_.size()) selected_ = order_.size() - 1;
  return &bottles_.at(order_[selected_]);
}

void Top::refresh_one(BottleView& v) {
  const uint64_t before = v.tally.total;
  if (auto st = tally_new_blocks(*v.log, v.tally); !st) say(v.label + ": " + st.error());
  if (!keyboard_.active() && !first_) {
    // The new blocks are the last ones kept (at most `keep` per refresh are shown).
    const size_t fresh = std::min<uint64_t>(v.tally.total - before, v.tally.recent.size());
    for (size_t i = v.tally.recent.size() - fresh; i < v.tally.recent.size(); ++i)
      out_ << shown(v.label, 40) << " " << pretty_log_line(v.tally.recent[i], false) << "\n";
  }
  auto counters = read_egress_counters(v.md.admin_port);
  const auto now = Clock::now();
  if (counters) {
    if (v.last_requests && counters->requests >= *v.last_requests) {
      const double seconds = std::chrono::duration<double>(now - v.last_sample).count();
      if (seconds > 0) v.rps = static_cast<double>(counters->requests - *v.last_requests) / seconds;
    }
    v.last_requests = counters->requests;
    v.last_sample = now;
    v.counters = std::move(*counters);
  } else {
    v.rps.reset();  // egress restarting, or not up yet
  }
  std::vector<Proposal> pending = pending_proposals(v.md.slug);
  if (!first_ || !keyboard_.active()) {
    std::set<std::string> now_ids;
    for (const auto& p : pending) now_ids.insert(p.id);
    for (const auto& p : v.pending) {
      if (!now_ids.count(p.id)) say(shown(v.label, 40) + " " + answered_line(v.md.slug, p.id));
    }
    std::set<std::string> before_ids;
    for (const auto& p : v.pending) before_ids.insert(p.id);
    for (const auto& p : pending) {
      if (before_ids.count(p.id)) continue;
      if (keyboard_.active()) {
        out_ << "\a";
        status_ = "new proposal " + p.id + " from " + shown(v.label, 40);
      } else {
        out_ << shown(v.label, 40) << " proposal " << p.id << " " << to_string(p.kind) << " "
             << shown(proposal_summary(p), 200) << " -- " << shown(p.reason, 300) << "\n";
      }
    }
  }
  v.pending = std::move(pending);
  if (!keyboard_.active()) {
    const auto reasons = blocks_by_reason(v);
    std::string stats = "req/s " + rps_text(v) + "  blocks " + std::to_string(sum(reasons)) + " (" +
                        reasons_text(reasons) + ")  pending " + std::to_string(v.pending.size());
    if (stats != v.printed_stats) {
      out_ << shown(v.label, 40) << " " << stats << "\n";
      v.printed_stats = stats;
    }
  }
}

void Top::refresh() {
  std::set<std::string> seen;
  std::vector<std::string> order;
  for (auto& md : list_metadata()) {
    if (!bottle_alive(md)) continue;
    seen.insert(md.slug);
    order.push_back(md.slug);
    auto it = bottles_.find(md.slug);
    if (it == bottles_.end()) {
      BottleView v;
      v.label = md.label.empty() ? md.slug : md.label;
      v.color = label_color(v.label);
      v.log = std::make_unique<LogTail>(sidecar_log_path(md.slug));
      if (!keyboard_.active()) {
        out_ << shown(v.label, 40) << " running (agent " << shown(md.agent, 40) << ", backend "
             << shown(md.backend, 16) << ", started " << age_since(md.created) << " ago)\n";
      }
      it = bottles_.emplace(md.slug, std::move(v)).first;
    }
    it->second.md = std::move(md);
  }
  for (auto it = bottles_.begin(); it != bottles_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    say(shown(it->second.label, 40) + " stopped");
    it = bottles_.erase(it);
  }
  // Keep the selection on the same bottle when others come and go.
  const std::string current = selected_ < order_.size() ? order_[selected_] : "";
  order_ = std::move(order);
  for (size_t i = 0; i < order_.size(); ++i) {
    if (order_[i] == current) selected_ = i;
  }
  for (auto& slug : order_) refresh_one(bottles_.at(slug));
  out_.flush();
}

void Top::draw() {
  if (!keyboard_.active()) return;
  const TerminalSize size = terminal_size(STDOUT_FILENO);
  std::vector<std::string> lines;
  char clock[16];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  size_t pending_total = 0;
  for (const auto& [slug, v] : bottles_) pending_total += v.pending.size();
  lines.push_back("bottle top   " + std::to_string(bottles_.size()) + " running, " +
                  std::to_string(pending_total) + " proposals pending   " + clock + " UTC");
  if (!logs_of_.empty()) {
    draw_logs(lines, size.rows);
  } else {
    lines.push_back(
        "j/k bottle  n/p proposal  a approve  e edit+approve  r reject  l logs  s stop  q quit");
    lines.push_back("");
    char head[160];
    std::snprintf(head, sizeof head, "  %-24s %-14s %-8s %-5s %7s %7s %7s", "LABEL", "AGENT",
                  "BACKEND", "AGE", "REQ/S", "BLOCKS", "PENDING");
    lines.push_back(head);
    if (order_.empty()) lines.push_back("  no running bottles");
    for (size_t i = 0; i < order_.size(); ++i) {
      const BottleView& v = bottles_.at(order_[i]);
      char rest[160];
      std::snprintf(rest, sizeof rest, " %-14s %-8s %-5s %7s %7llu %7zu",
                    shown(v.md.agent, 14).c_str(), shown(v.md.backend, 8).c_str(),
                    age_since(v.md.created).c_str(), rps_text(v).c_str(),
                    static_cast<unsigned long long>(sum(blocks_by_reason(v))), v.pending.size());
      lines.push_back(std::string(i == selected_ ? "> " : "  ") +
                      painted(padded(shown(v.label, 24), 24), v.color) + rest);
    }
    if (const BottleView* v = selected()) {
      lines.push_back("");
      lines.push_back(painted(shown(v->label, 40), v->color) +
                      "  blocks by reason: " + reasons_text(blocks_by_reason(*v)));
      lines.push_back("last blocks:");
      if (v->tally.recent.empty()) lines.push_back("  none");
      for (const auto& e : v->tally.recent) lines.push_back("  " + pretty_log_line(e, true));
      lines.push_back("pending proposals:");
      if (v->pending.empty()) lines.push_back("  none");
      if (selected_proposal_ >= v->pending.size())
        selected_proposal_ = v->pending.empty() ? 0 : v->pending.size() - 1;
      for (size_t i = 0; i < v->pending.size(); ++i) {
        const Proposal& p = v->pending[i];
        lines.push_back(std::string(i == selected_proposal_ ? "> " : "  ") + p.id + "  " +
                        std::string(to_string(p.kind)) + "  " + age_since(p.created) + "  " +
                        shown(proposal_summary(p), 60) + " -- " + shown(p.reason, 80));
      }
    }
  }
  // The status line sits on the last row; the view fills what is above it.
  std::string screen = "\x1b[H";
  const size_t body_rows = static_cast<size_t>(std::max(1, size.rows - 1));
  for (size_t i = 0; i < body_rows; ++i) {
    if (i < lines.size()) screen += clip_visible(lines[i], size.cols);
    screen += "\x1b[K\r\n";
  }
  screen += clip_visible(shown(status_), size.cols) + "\x1b[K";
  out_ << screen << std::flush;
}

void Top::draw_logs(std::vector<std::string>& lines, int rows) {
  const auto it = bottles_.find(logs_of_);
  const std::string label = it == bottles_.end() ? logs_of_ : it->second.label;
  lines.push_back("log of " + shown(label, 40) +
                  (logs_blocks_only_ ? " (blocks and warnings)" : "") +
                  "   b blocks only  l/q/Esc back");
  const size_t room = static_cast<size_t>(std::max(1, rows - 3));
  const size_t from = logs_lines_.size() > room ? logs_lines_.size() - room : 0;
  for (size_t i = from; i < logs_lines_.size(); ++i) lines.push_back(logs_lines_[i]);
}

void Top::open_logs() {
  const BottleView* v = selected();
  if (!v) return;
  logs_of_ = v->md.slug;
  logs_tail_ = std::make_unique<LogTail>(sidecar_log_path(logs_of_));
  logs_lines_.clear();
  read_logs();
}

void Top::read_logs() {
  if (!logs_tail_) return;
  auto lines = logs_tail_->read_new();
  if (!lines) {
    status_ = lines.error();
    return;
  }
  for (const auto& line : *lines) {
    auto e = parse_log_line(line);
    if (!e) continue;
    if (logs_blocks_only_ && !is_block_event(*e) && !is_warn_event(*e)) continue;
    logs_lines_.push_back(pretty_log_line(*e, true));
    if (logs_lines_.size() > 1000) logs_lines_.pop_front();
  }
}

void Top::answer(Decision d, bool edit) {
  BottleView* v = selected();
  if (!v || v->pending.empty()) {
    status_ = "no pending proposal for this bottle";
    return;
  }
  const Proposal& p = v->pending[std::min(selected_proposal_, v->pending.size() - 1)];
  AnswerOptions o;
  o.id = p.id;
  o.bottle = v->md.slug;
  o.decision = d;
  o.edit = edit;
  o.wait = std::chrono::milliseconds(0);  // the view says how it ended when it leaves the queue
  const TerminalSize size = terminal_size(STDOUT_FILENO);
  const std::string last_row = "\x1b[" + std::to_string(size.rows) + ";1H\x1b[K";
  if (d == Decision::reject) {
    o.text = keyboard_.prompt(out_, last_row + "reason for rejecting " + p.id + ": ");
  }
  if (edit) {
    keyboard_.suspend();
    out_ << "\x1b[?25h\x1b[?1049l" << std::flush;  // the editor gets the normal screen
  }
  std::ostringstream msg, errs;
  const int code = proposals_answer(o, msg, errs);
  if (edit) {
    out_ << "\x1b[?1049h\x1b[?25l" << std::flush;
    keyboard_.resume();
  }
  std::string text = code == 0 ? msg.str() : errs.str();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  status_ = text;
}

void Top::stop_selected() {
  BottleView* v = selected();
  if (!v) return;
  const std::string slug = v->md.slug;
  status_ = "stop " + shown(v->label, 40) + "? (y/n)";
  draw();
  std::string keys;
  for (int i = 0; i < 100 && keys.empty() && !live_view_ended(); ++i)
    keys = keyboard_.read_keys(100);
  if (keys.empty() || keys[0] != 'y') {
    status_ = "not stopped";
    return;
  }
  status_ = "stopping " + shown(v->label, 40) + " ...";
  draw();
  auto st = stop_local(slug, [this](const std::string& line) { status_ = line; });
  if (!st) status_ = "stop " + slug + ": " + st.error();
}

void Top::handle(char k) {
  if (!logs_of_.empty()) {
    if (k == 'q' || k == 'l' || k == '\x1b') {
      logs_of_.clear();
      logs_tail_.reset();
      logs_lines_.clear();
    }
    if (k == 'b') {
      logs_blocks_only_ = !logs_blocks_only_;
      open_logs();
    }
    return;
  }
  if (k == 'q') end_live_view();
  if (k == 'j' && selected_ + 1 < order_.size()) {
    ++selected_;
    selected_proposal_ = 0;
  }
  if (k == 'k' && selected_ > 0) {
    --selected_;
    selected_proposal_ = 0;
  }
  if (k == 'n') ++selected_proposal_;  // draw() keeps it in range
  if (k == 'p' && selected_proposal_ > 0) --selected_proposal_;
  if (k == 'a') answer(Decision::approve, false);
  if (k == 'e') answer(Decision::approve, true);
  if (k == 'r') answer(Decision::reject, false);
  if (k == 'l') open_logs();
  if (k == 's') stop_selected();
}

int Top::run() {
  if (keyboard_.active()) {
    out_ << "\x1b[?1049h\x1b[?25l\x1b[2J" << std::flush;  // alternate screen, no cursor
    status_ =
        "reading every running bottle every " + std::to_string(options_.interval.count()) + " ms";
  }
  auto next = Clock::now();
  while (!live_view_ended()) {
    if (Clock::now() >= next) {
      refresh();
      if (!logs_of_.empty()) read_logs();
      first_ = false;
      next = Clock::now() + options_.interval;
      draw();
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    const std::string keys =
        keyboard_.read_keys(static_cast<int>(std::max<int64_t>(0, left.count())));
    for (char k : keys) handle(k);
    if (!keys.empty()) draw();
  }
  if (keyboard_.active()) out_ << "\x1b[?25h\x1b[?1049l" << std::flush;
  return 0;
}

}  // namespace

int top_command(const TopOptions& options, std::ostream& out) {
  watch_stop_signals();
  Top top(options, out);
  return top.run();
}

}  // namespace bottle::orchestrator
