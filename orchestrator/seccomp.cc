#include "orchestrator/seccomp.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>

namespace bottle::orchestrator {

namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
constexpr bool kHasX32 = true;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
constexpr bool kHasX32 = false;
#else
#error "setid_filter: add this architecture's AUDIT_ARCH and system call numbers"
#endif

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452  // Linux 6.6; the same number on every architecture
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif

constexpr uint32_t kSetIdBits = S_ISUID | S_ISGID;
// O_TMPFILE is __O_TMPFILE | O_DIRECTORY; the __O_TMPFILE bit alone marks it.
constexpr uint32_t kCreateFlags = O_CREAT | (O_TMPFILE & ~O_DIRECTORY);

constexpr uint32_t arg_low(int i) {
  return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * i);  // little-endian
}

// Classic BPF jumps are relative; the builder resolves named labels at the end.
class Program {
 public:
  // kFall: the instruction right after the jump. kNext: the next rule().
  enum Label { kAllow, kDenyEperm, kDenyNosys, kKill, kNext, kFall, kLabelCount };

  void load(uint32_t offset) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  // if (A <op> k) goto yes; else goto no.
  void jump(uint16_t op, uint32_t k, Label yes, Label no) {
    fixups_.push_back({code_.size(), yes, no});
    code_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
  }
  // A jump to kNext lands on the next rule() (or the end of the rules).
  void rule() { bind_next(); }
  std::vector<sock_filter> finish() {
    bind_next();
    const uint32_t eperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
    const uint32_t enosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
    at_[kAllow] = emit_ret(SECCOMP_RET_ALLOW);
    at_[kDenyEperm] = emit_ret(eperm);
    at_[kDenyNosys] = emit_ret(enosys);
    at_[kKill] = emit_ret(SECCOMP_RET_KILL_PROCESS);
    auto target = [&](const Fixup& f, Label l) {
      return l == kNext ? f.next : l == kFall ? f.at + 1 : at_[l];
    };
    for (const auto& f : fixups_) {
      code_[f.at].jt = offset(f.at, target(f, f.yes));
      code_[f.at].jf = offset(f.at, target(f, f.no));
    }
    return code_;
  }

 private:
  struct Fixup {
    size_t at;
    Label yes, no;
    size_t next = 0;
  };
  size_t emit_ret(uint32_t value) {
    code_.push_back(BPF_STMT(BPF_RET | BPF_K, value));
    return code_.size() - 1;
  }
  void bind_next() {
    for (auto& f : fixups_)
      if (f.next == 0) f.next = code_.size();
  }
  static uint8_t offset(size_t from, size_t to) { return static_cast<uint8_t>(to - from - 1); }

  std::vector<sock_filter> code_;
  std::vector<Fixup> fixups_;
  size_t at_[kLabelCount] = {};
};

// A call whose `mode_arg` must not carry setuid/setgid bits; when `flags_arg` >= 0 only
// calls whose flags create a file are checked.
struct ModeCall {
  long nr;
  int mode_arg;
  int flags_arg;
};

}  // namespace

std::vector<sock_filter> setid_filter() {
  std::vector<ModeCall> calls = {
    {__NR_fchmod, 1, -1},
    {__NR_fchmodat, 2, -1},
    {__NR_fchmodat2, 2, -1},
    {__NR_openat, 3, 2},
    {__NR_mknodat, 2, -1},
#if defined(__x86_64__)
    {__NR_chmod, 1, -1},
    {__NR_open, 2, 1},
    {__NR_creat, 1, -1},
    {__NR_mknod, 1, -1},
#endif
  };
  Program p;
  p.load(offsetof(seccomp_data, arch));
  p.jump(BPF_JEQ, kArch, Program::kNext, Program::kKill);
  p.rule();
  p.load(offsetof(seccomp_data, nr));
  if (kHasX32) p.jump(BPF_JGE, 0x40000000, Program::kKill, Program::kNext);
  for (long nr : {__NR_openat2, __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register}) {
    p.rule();
    p.jump(BPF_JEQ, static_cast<uint32_t>(nr), Program::kDenyNosys, Program::kNext);
  }
  // Each check ends in allow or deny, so it may clobber A (the call number). Past the
  // last rule lies "allow".
  for (const auto& c : calls) {
    p.rule();
    p.load(offsetof(seccomp_data, nr));
    p.jump(BPF_JEQ, static_cast<uint32_t>(c.nr), Program::kFall, Program::kNext);
    if (c.flags_arg >= 0) {
      p.load(arg_low(c.flags_arg));
      p.jump(BPF_JSET, kCreateFlags, Program::kFall, Program::kAllow);
    }
    p.load(arg_low(c.mode_arg));
    p.jump(BPF_JSET, kSetIdBits, Program::kDenyEperm, Program::kAllow);
  }
  return p.finish();
}

Result<UniqueFd> setid_filter_fd() {
  const auto prog = setid_filter();
  return memfd_with("bottle-seccomp", std::string_view(reinterpret_cast<const char*>(prog.data()),
                                                       prog.size() * sizeof(sock_filter)));
}

}  // namespace bottle::orchestrator
