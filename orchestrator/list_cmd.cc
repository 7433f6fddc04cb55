#include "orchestrator/list_cmd.h"

#include <cstdio>
#include <ostream>

#include "orchestrator/activity.h"
#include "orchestrator/docker_backend.h"
#include "orchestrator/proposals_cmd.h"
#include "orchestrator/state.h"
#include "orchestrator/terminal.h"

namespace bottle::orchestrator {

int list_command(bool all, bool color, std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-16s %-8s %-5s %-26s %6s %7s\n", "LABEL", "AGENT",
                "BACKEND", "AGE", "STATUS", "BLOCKS", "PENDING");
  out << line;
  for (const auto& md : list_metadata()) {
    // A bottle whose `bottle` process died but whose sidecar or namespace is still
    // there is shown until `bottle cleanup` removes it.
    const bool alive = bottle_alive(md);
    std::string status = alive                      ? md.status
                         : bottle_has_leftovers(md) ? "orphaned (bottle cleanup)"
                                                    : "exited";
    if (status == "exited" && !all) continue;
    LogTail tail(sidecar_log_path(md.slug));
    BlockTally blocks;
    const bool counted = tally_new_blocks(tail, blocks).ok();
    const std::string pending = alive ? std::to_string(pending_proposals(md.slug).size()) : "-";
    // The label comes from the directory name's alphabet or metadata.json: printable() it
    // before padding, then paint the padded text (escapes do not count as width).
    std::string label = shown(md.label.empty() ? md.slug : md.label, 24);
    label.resize(std::max<size_t>(label.size(), 24), ' ');
    if (color) label = painted(label, label_color(md.label.empty() ? md.slug : md.label));
    std::snprintf(line, sizeof line, " %-16s %-8s %-5s %-26s %6s %7s\n",
                  shown(md.agent, 16).c_str(), shown(md.backend, 8).c_str(),
                  age_since(md.created).c_str(), shown(status, 26).c_str(),
                  counted ? std::to_string(blocks.total).c_str() : "?", pending.c_str());
    out << label << line;
  }
  // Compose projects of this BOTTLE_HOME whose state dir is gone: only docker knows them.
  for (const auto& o : docker_orphans()) {
    std::string label = shown(o.slug, 24);
    label.resize(std::max<size_t>(label.size(), 24), ' ');
    std::snprintf(line, sizeof line, " %-16s %-8s %-5s %-26s %6s %7s\n", "?", "docker", "-",
                  "orphaned (bottle cleanup)", "?", "-");
    out << label << line;
  }
  return 0;
}

}  // namespace bottle::orchestrator
