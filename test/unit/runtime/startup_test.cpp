// Start-up when io_uring is unavailable: a child process forbids io_uring_setup with a seccomp
// filter (as a container policy would) and must get one clear RuntimeStartError naming the cause.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "kakehi/runtime/worker.hpp"

using namespace kakehi::runtime;

namespace {

// Makes io_uring_setup fail with `err` in this process; everything else is allowed.
bool forbid_io_uring(int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & 0xffff)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// In a child: 0 = got the expected error, 1 = no error, 2 = wrong message, 3 = no filter.
int child_expects_start_error(int err, const char* expected) {
  if (!forbid_io_uring(err)) return 3;
  try {
    Worker w;
    return 1;
  } catch (const RuntimeStartError& e) {
    std::string what = e.what();
    bool ok = what.find("io_uring_setup failed") != std::string::npos &&
              what.find(expected) != std::string::npos;
    if (!ok) fprintf(stderr, "unexpected message: %s\n", e.what());
    return ok ? 0 : 2;
  }
}

}  // namespace

TEST_CASE("io_uring unavailable: start-up fails with one clear message naming the cause") {
#if !defined(__x86_64__)
  MESSAGE("seccomp filter written for x86_64 only; skipping");
  return;
#endif
  struct Case {
    int err;
    const char* expected;
  };
  for (Case c : {Case{EPERM, "Operation not permitted"}, Case{ENOSYS, "without io_uring"}}) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(child_expects_start_error(c.err, c.expected));
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}
