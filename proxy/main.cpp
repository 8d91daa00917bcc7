// The `kakehi` edge binary: loads a TOML file (or the embedded default with its demo origin),
// applies it to a Proxy as one diff, serves the optional control socket, and handles signals on
// the main thread with sigwaitinfo: SIGHUP reloads (diff against the running state, all or
// nothing), SIGTERM/SIGINT drain then exit 0, SIGQUIT stops at once. `kakehi ctl` is the
// control socket's client. Usage and file format: docs/configuration.md.
#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kakehi/config/diff.hpp"
#include "kakehi/proxy/proxy.hpp"
#include "kakehi/tls/context.hpp"
#include "proxy/control_server.hpp"
#include "proxy/demo_origin.hpp"
#include "proxy/toml_config.hpp"

namespace {

using namespace kakehi;
using namespace kakehi::edge;

constexpr const char* kUsage =
    "usage: kakehi [-c FILE] [--control PATH]   run the proxy (no -c: built-in demo)\n"
    "       kakehi --check -c FILE              validate FILE and exit (0 ok, 2 error)\n"
    "       kakehi ctl -s PATH ['JSON']         send control requests (stdin without JSON)\n"
    "signals: SIGHUP reloads FILE, SIGTERM/SIGINT drain and exit, SIGQUIT stops at once\n";

template <class... A>
void say(const char* fmt, A... a) {
  std::fprintf(stderr, "kakehi: ");
  if constexpr (sizeof...(A) == 0)
    std::fputs(fmt, stderr);
  else
    std::fprintf(stderr, fmt, a...);
  std::fputc('\n', stderr);
}

struct Args {
  std::optional<std::string> config;
  std::optional<std::string> control;
  bool check = false;
};

/// Returns nullopt after printing the reason (exit 2).
std::optional<Args> parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) {
        say("%s needs a value", arg.c_str());
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (arg == "-c" || arg == "--config") {
      if (!(a.config = value())) return std::nullopt;
    } else if (arg == "--control") {
      if (!(a.control = value())) return std::nullopt;
    } else if (arg == "--check") {
      a.check = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      say("unknown argument \"%s\"", arg.c_str());
      std::fputs(kUsage, stderr);
      return std::nullopt;
    }
  }
  if (a.check && !a.config) {
    say("--check needs -c FILE");
    return std::nullopt;
  }
  return a;
}

int ctl_main(int argc, char** argv) {
  std::string socket;
  std::string payload;
  bool have_payload = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "-s" || arg == "--socket") && i + 1 < argc) {
      socket = argv[++i];
    } else if (!have_payload && !arg.starts_with("-")) {
      payload = arg;
      have_payload = true;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (socket.empty()) {
    std::fputs("kakehi ctl: -s PATH is required\n", stderr);
    return 2;
  }
  if (!have_payload)
    payload.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  return run_ctl(socket, std::move(payload));
}

/// True when the options that need a restart are equal.
bool same_process_options(const FileConfig& a, const FileConfig& b) {
  const auto &x = a.options, &y = b.options;
  return x.workers == y.workers && x.worker.buffer_count == y.worker.buffer_count &&
         x.worker.buffer_size == y.worker.buffer_size &&
         x.worker.write_reserve == y.worker.write_reserve &&
         x.worker.max_queued_recv == y.worker.max_queued_recv &&
         x.worker.send_zc_threshold == y.worker.send_zc_threshold &&
         x.worker.ring.entries == y.worker.ring.entries &&
         x.max_idle_per_backend == y.max_idle_per_backend &&
         x.backend_idle_timeout_ms == y.backend_idle_timeout_ms &&
         x.connect_attempts == y.connect_attempts &&
         x.failures_before_down == y.failures_before_down &&
         x.backoff_base_ms == y.backoff_base_ms && x.backoff_max_ms == y.backoff_max_ms &&
         x.forwarding_headers == y.forwarding_headers && x.via == y.via &&
         a.control_socket == b.control_socket && a.max_open_files == b.max_open_files;
}

/// Sets the soft limit on open files to `wanted` (0: the hard limit), within the hard limit: a
/// shell or systemd service starts us with 1024, about 500 proxied connections (a client and a
/// backend descriptor each). Returns the line to log.
std::string set_open_files_limit(uint64_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return std::string("warning: open files: getrlimit: ") + std::strerror(errno);
  const rlim_t before = lim.rlim_cur;
  rlim_t target = wanted == 0 ? lim.rlim_max : static_cast<rlim_t>(wanted);
  std::string note;
  if (lim.rlim_max != RLIM_INFINITY && target > lim.rlim_max) {
    note = " (max_open_files " + std::to_string(wanted) + " is above the hard limit)";
    target = lim.rlim_max;
  }
  if (target == RLIM_INFINITY) target = static_cast<rlim_t>(1) << 20;  // Linux's nr_open default
  if (target != before) {
    lim.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
      return "warning: open files: cannot set the limit to " + std::to_string(target) + ": " +
             std::strerror(errno) + "; it stays " + std::to_string(before);
  }
  return "open files: up to " + std::to_string(target) +
         (target != before ? " (was " + std::to_string(before) + ")" : std::string()) + note;
}

/// The first error answer's message, or empty when every answer is ok.
std::string first_error(const std::vector<config::Answer>& answers) {
  for (const auto& a : answers)
    if (a.status == config::AnswerStatus::Error) return a.message;
  return {};
}

std::string describe_listeners(const config::State& s) {
  std::string out;
  for (const auto& [addr, l] : s.listeners) {
    if (!out.empty()) out += ", ";
    const auto kind = config::to_string(l.kind);
    out += std::string(kind) + "://" + addr;
    if (!l.active) out += " (inactive)";
  }
  return out.empty() ? "no listener" : out;
}

bool uses_tls(const config::State& s) {
  for (const auto& [addr, l] : s.listeners)
    if (l.kind == config::ListenerKind::Https) return true;
  for (const auto& [id, c] : s.clusters)
    if (c.backend_tls.enabled) return true;
  return false;
}

/// Which wolfSSL serves TLS; a warning when it lacks the fast paths (the packaged fallback).
std::string describe_tls_library() {
  const auto t = tls::library_info();
  if (t.aesni && t.sp_asm) return "TLS: wolfSSL " + t.version + " (AES-NI, SP x86-64 assembly)";
  return "warning: TLS: wolfSSL " + t.version +
         " without AES-NI or SP assembly (the system package): TLS costs several times more; "
         "run scripts/bootstrap, then set the build directory up again (docs/tls.md)";
}

class Edge {
 public:
  Edge(Args args, FileConfig cfg) : args_(std::move(args)), cfg_(std::move(cfg)) {}

  int run() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGQUIT}) sigaddset(&set, s);
    // Blocked before any thread starts, so every thread inherits the mask and the signals are
    // taken only by sigwaitinfo below.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    say("%s", set_open_files_limit(cfg_.max_open_files).c_str());

    std::optional<DemoOrigin> origin;
    std::optional<proxy::Proxy> proxy;
    try {
      if (!args_.config) {
        const std::string front =
            cfg_.state.listeners.empty() ? std::string("?") : cfg_.state.listeners.begin()->first;
        origin.emplace(kDemoOriginPort, front);
      }
      proxy.emplace(cfg_.options);
    } catch (const std::exception& e) {
      say("%s", e.what());
      return 1;
    }
    std::vector<config::Answer> answers;
    try {
      answers = proxy->apply(config::diff(config::State{}, cfg_.state, "start-"));
    } catch (const std::exception& e) {
      say("%s: %s", name().c_str(), e.what());
      return 1;
    }
    if (auto err = first_error(answers); !err.empty()) {
      say("%s: %s", name().c_str(), err.c_str());
      return 1;
    }
    proxy_ = &*proxy;

    std::optional<ControlServer> control;
    const std::string control_path = args_.control.value_or(cfg_.control_socket);
    if (!control_path.empty()) {
      try {
        control.emplace(control_path, [this](std::vector<config::Request> diff) {
          std::lock_guard lock(apply_mutex_);
          return proxy_->apply(std::move(diff));
        });
      } catch (const std::exception& e) {
        say("%s", e.what());
        return 1;
      }
    }

    std::string line = "listening on " + describe_listeners(cfg_.state) + " with " +
                       std::to_string(proxy->worker_count()) + " worker(s)";
    if (origin)
      line += "; demo origin on 127.0.0.1:" + std::to_string(kDemoOriginPort) +
              " (built-in configuration)";
    else
      line += "; configuration " + *args_.config;
    if (control) line += "; control socket " + control->path();
    say("%s", line.c_str());
    if (uses_tls(cfg_.state)) say("%s", describe_tls_library().c_str());

    for (;;) {
      siginfo_t info;
      const int sig = sigwaitinfo(&set, &info);
      if (sig < 0) continue;  // EINTR
      if (sig == SIGHUP) {
        reload();
      } else if (sig == SIGQUIT) {
        say("SIGQUIT: stopping now");
        control.reset();
        proxy->stop();
        return 0;
      } else {
        const auto deadline = cfg_.drain_timeout;
        say("%s: draining (deadline %lld ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
            static_cast<long long>(deadline.count()));
        control.reset();
        const size_t left = proxy->drain(deadline);
        if (left == 0)
          say("drained; exiting");
        else
          say("drain deadline passed with %zu connection(s) open; closing them", left);
        proxy->stop();
        return 0;
      }
    }
  }

 private:
  std::string name() const {
    return args_.config ? *args_.config : std::string(kEmbeddedConfigName);
  }

  void reload() {
    if (!args_.config) {
      say("SIGHUP: no configuration file (built-in configuration); nothing to reload");
      return;
    }
    auto r = load_toml_file(*args_.config);
    if (!r) {
      say("%s (reload refused; the running configuration is unchanged)",
          r.error().to_string().c_str());
      return;
    }
    if (!same_process_options(cfg_, *r))
      say("%s: [proxy] settings changed; they take effect only after a restart",
          args_.config->c_str());
    std::lock_guard lock(apply_mutex_);
    // Against the running state, so changes made on the control socket that the file does not
    // hold are undone: after a reload the proxy runs exactly the file.
    auto diff = config::diff(proxy_->state(), r->state, "reload-");
    if (diff.empty()) {
      say("%s: reloaded (no change)", args_.config->c_str());
      return;
    }
    const size_t n = diff.size();
    std::vector<config::Answer> answers;
    try {
      answers = proxy_->apply(std::move(diff));
    } catch (const std::exception& e) {
      say("%s: reload failed, the running configuration is unchanged: %s", args_.config->c_str(),
          e.what());
      return;
    }
    if (auto err = first_error(answers); !err.empty()) {
      say("%s: reload rejected, the running configuration is unchanged: %s", args_.config->c_str(),
          err.c_str());
      return;
    }
    cfg_.state = r->state;
    cfg_.drain_timeout = r->drain_timeout;
    say("%s: reloaded (%zu change(s))", args_.config->c_str(), n);
  }

  Args args_;
  FileConfig cfg_;
  proxy::Proxy* proxy_ = nullptr;
  std::mutex apply_mutex_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "ctl") == 0) return ctl_main(argc - 1, argv + 1);
  auto args = parse_args(argc, argv);
  if (!args) return 2;
  auto cfg = args->config ? load_toml_file(*args->config)
                          : load_toml(kEmbeddedConfig, kEmbeddedConfigName, ".");
  if (!cfg) {
    say("%s", cfg.error().to_string().c_str());
    return 2;
  }
  if (args->check) {
    std::printf("kakehi: %s: ok (%zu listener(s), %zu cluster(s), %zu backend(s))\n",
                args->config->c_str(), cfg->state.listeners.size(), cfg->state.clusters.size(),
                cfg->state.backends.size());
    return 0;
  }
  return Edge(std::move(*args), std::move(*cfg)).run();
}
