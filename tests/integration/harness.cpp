#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "config/config_edit.h"

extern char** environ;

#ifndef SOSPROXY_BIN
#error "SOSPROXY_BIN must be defined by the build"
#endif
#ifndef SIPP_SCENARIOS_DIR
#error "SIPP_SCENARIOS_DIR must be defined by the build"
#endif
#ifndef SOS_TEST_TOOLS_DIR
#error "SOS_TEST_TOOLS_DIR must be defined by the build"
#endif
#ifndef SOS_SOURCE_DIR
#error "SOS_SOURCE_DIR must be defined by the build"
#endif

namespace sos::itest {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Process

Process::Process(const std::vector<std::string>& argv, const fs::path& stdoutPath,
                 const fs::path& stderrPath, const fs::path& stdinPath)
    : argv_(argv), stdoutPath_(stdoutPath), stderrPath_(stderrPath) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // No terminal: SIPp and sosproxy must behave as they do under CI.
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, stdinPath.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdoutPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == 0) {
    pid_ = pid;
  } else {
    writeFile(stderrPath, "posix_spawnp " + argv.front() + ": " + std::strerror(rc) + "\n");
  }
}

Process::~Process() {
  if (pid_ > 0 && !exitCode_) stop();
}

std::string Process::commandLine() const {
  std::string s;
  for (const auto& a : argv_) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

namespace {
int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

std::optional<int> Process::wait(milliseconds timeout) {
  if (exitCode_) return exitCode_;
  if (pid_ <= 0) return -1;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exitCode_ = decodeStatus(status);
      return exitCode_;
    }
    if (r < 0 && errno != EINTR) {
      exitCode_ = -1;
      return exitCode_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    sleepBrief();
  }
}

bool Process::running() { return pid_ > 0 && !wait(milliseconds(0)).has_value(); }

std::optional<int> Process::stop(milliseconds grace) {
  if (pid_ <= 0 || exitCode_) return exitCode_;
  kill(pid_, SIGTERM);
  if (auto rc = wait(grace)) return rc;
  kill(pid_, SIGKILL);
  return wait(milliseconds(5000));
}

bool Process::sendSignal(int signal) {
  // Never signal a PID that has been reaped: it may have been given to another process.
  if (pid_ <= 0 || exitCode_) return false;
  return ::kill(pid_, signal) == 0;
}

std::string sosproxyBinary() {
  const char* other = std::getenv("SOS_TEST_SOSPROXY");
  return other != nullptr && *other != '\0' ? other : SOSPROXY_BIN;
}

// ---------------------------------------------------------------------------------------------
// Ports

void sleepBrief() { std::this_thread::sleep_for(milliseconds(20)); }

namespace {

bool canBind(uint16_t port, int type) {
  const int fd = socket(AF_INET, type, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Test programs run in parallel (ctest -j), each picking ports before anything binds them: two
// of them could draw the same port, and the second SIPp would then fail to bind it while the
// first one's socket made it look started. A port is only handed out once this process holds an
// exclusive lock on a file named after it in a directory shared by all test programs of this
// user. The descriptor stays open until the process exits, when the kernel releases the lock,
// so a test that crashes leaves nothing to clean up.
bool reservePort(uint16_t port) {
  static const std::string dir = [] {
    std::string d = "/tmp/sosproxy-test-ports-" + std::to_string(getuid());
    mkdir(d.c_str(), 0700);
    return d;
  }();
  const std::string path = dir + "/" + std::to_string(port);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  return true;  // fd deliberately kept open: the lock lasts as long as this process
}

}  // namespace

uint16_t pickFreePort() {
  // Ports handed out by this process: a test asks for several before anything binds them.
  static std::set<uint16_t> given;
  static std::mt19937 rng(static_cast<unsigned>(getpid()) ^
                          static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  // Stay below the usual ephemeral range (32768-60999) so that outgoing sockets of other
  // programs do not take a port between our check and SIPp's bind.
  std::uniform_int_distribution<int> dist(20000, 32000);
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const auto port = static_cast<uint16_t>(dist(rng));
    if (given.count(port) != 0) continue;
    if (portBound(port, false) || portBound(port, true)) continue;
    if (!reservePort(port)) continue;
    if (!canBind(port, SOCK_DGRAM) || !canBind(port, SOCK_STREAM)) continue;
    given.insert(port);
    return port;
  }
  throw std::runtime_error("no free port found");
}

// SIPp binds its media echo port and the ports after it (audio RTP and RTCP, video RTP and
// RTCP: -mp P takes P..P+3). They come from their own range, apart from pickFreePort's, so
// that a SIPp of another test running in parallel cannot be handed one of them as its SIP port.
uint16_t pickFreeMediaPorts() {
  static std::set<uint16_t> given;
  static std::mt19937 rng(static_cast<unsigned>(getpid()) * 7919u ^
                          static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<int> dist(3000, 4749);  // blocks of 4 in 12000-18999
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const auto first = static_cast<uint16_t>(dist(rng) * 4);
    if (given.count(first) != 0) continue;
    bool free = true;
    for (uint16_t p = first; free && p < first + 4; ++p)
      free =
          reservePort(p) && !portBound(p, false) && !portBound(p, true) && canBind(p, SOCK_DGRAM);
    if (!free) continue;
    given.insert(first);
    return first;
  }
  throw std::runtime_error("no free media ports found");
}

namespace {

// Does process `pid` hold the socket with this inode (a link "socket:[INODE]" in /proc/PID/fd)?
bool holdsSocket(pid_t pid, const std::string& inode) {
  std::error_code ec;
  const std::string want = "socket:[" + inode + "]";
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code linkError;
    if (fs::read_symlink(fd.path(), linkError).string() == want) return true;
  }
  return false;
}

}  // namespace

bool portBound(uint16_t port, bool tcp, pid_t owner) {
  // /proc/net/{udp,tcp}[6]: "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout
  // inode ...", local as HEXIP:HEXPORT. A TCP socket counts once it listens (state 0A).
  const char* files[] = {tcp ? "/proc/net/tcp" : "/proc/net/udp",
                         tcp ? "/proc/net/tcp6" : "/proc/net/udp6"};
  for (const char* f : files) {
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state;
      if (!(fields >> sl >> local >> remote >> state)) continue;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      const unsigned long p = std::strtoul(local.c_str() + colon + 1, nullptr, 16);
      if (p != port) continue;
      if (tcp && state != "0A") continue;
      if (owner < 0) return true;
      std::string queues, timer, retransmits, uid, timeout, inode;
      if (fields >> queues >> timer >> retransmits >> uid >> timeout >> inode &&
          holdsSocket(owner, inode))
        return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Files

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("SOS_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// ---------------------------------------------------------------------------------------------
// Configuration

DemoPorts pickDemoPorts() {
  DemoPorts p;
  p.proxy = pickFreePort();
  p.carrier = pickFreePort();
  p.psapA = pickFreePort();
  p.psapB = pickFreePort();
  p.erc = pickFreePort();
  p.uk999 = pickFreePort();
  p.admin = pickFreePort();
  p.securityDesk = pickFreePort();
  p.psapTest = pickFreePort();
  p.webhook = pickFreePort();
  p.smtp = pickFreePort();
  return p;
}

HttpReply httpRequest(const std::string& method, uint16_t port, const std::string& path,
                      const std::string& body, const std::vector<HttpHeader>& headers) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  const auto given = [&](const char* name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const HttpHeader& h) { return strcasecmp(h.name.c_str(), name) == 0; });
  };
  std::string req = method + " " + path + " HTTP/1.1\r\n";
  if (!given("Host")) req += "Host: 127.0.0.1\r\n";
  if (!body.empty() && !given("Content-Type")) req += "Content-Type: application/json\r\n";
  for (const auto& h : headers) req += h.name + ": " + h.value + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return reply;
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, size_t(n));
  ::close(fd);
  if (raw.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(raw.c_str() + 9);
  const auto bodyAt = raw.find("\r\n\r\n");
  if (bodyAt != std::string::npos) {
    reply.body = raw.substr(bodyAt + 4);
    reply.headers = raw.substr(0, bodyAt);
  }
  return reply;
}

CommandRun runCommand(const std::vector<std::string>& argv, const fs::path& dir,
                      milliseconds timeout, const std::optional<std::string>& input) {
  static std::atomic<int> n{0};
  const std::string name = "command-" + std::to_string(++n);
  CommandRun run;
  fs::path stdinPath = "/dev/null";
  if (input) {
    stdinPath = dir / (name + ".stdin");
    writeFile(stdinPath, *input);
  }
  {
    Process p(argv, dir / (name + ".stdout"), dir / (name + ".stderr"), stdinPath);
    run.commandLine = p.commandLine();
    run.status = p.wait(timeout);
    if (!run.status) p.stop();
  }
  run.out = readFile(dir / (name + ".stdout"));
  run.err = readFile(dir / (name + ".stderr"));
  return run;
}

std::string createApiToken(const fs::path& binary, const fs::path& config, const fs::path& dir,
                           const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv{binary.string(), "token", "create", "--config", config.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandRun run = runCommand(argv, dir, milliseconds(20000));
  std::string out = run.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (run.status != std::optional<int>(0) || out.empty()) {
    if (error) *error = run.commandLine + ": " + run.err;
    return "";
  }
  return out;
}

UdpBlackHole::UdpBlackHole(uint16_t port, const std::string& address) {
  // Close-on-exec: a sosproxy started later must not hold this port open after the test closes it.
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1 ||
      ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  // A short receive timeout lets the reader notice stop_ without any signal.
  timeval tv{0, 100 * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  thread_ = std::thread([this] {
    char buf[65536];
    while (!stop_.load()) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string text(buf, static_cast<size_t>(n));
      std::lock_guard<std::mutex> lock(mutex_);
      if (startLines_.size() < 1000) startLines_.push_back(text.substr(0, text.find("\r\n")));
      ++received_;
    }
  });
}

UdpBlackHole::~UdpBlackHole() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::vector<std::string> UdpBlackHole::startLines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return startLines_;
}

std::string UdpBlackHole::firstLine() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return startLines_.empty() ? std::string() : startLines_.front();
}

int UdpBlackHole::receivedStartingWith(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int n = 0;
  for (const auto& line : startLines_) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

namespace {

// A YAML double-quoted string: paths and URLs go into the file whatever they hold.
std::string yamlQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string demoConfigYaml(const DemoPorts& ports, const fs::path& routingLog,
                           const fs::path& storeDb, const fs::path& seed) {
  std::vector<config::ConfigChange> changes;
  const auto set = [&](std::string path, std::string value) {
    changes.push_back({std::move(path), std::move(value)});
  };
  const std::string desk =
      yamlQuoted("sip:security-desk@127.0.0.1:" + std::to_string(ports.securityDesk));
  set("listen.host_name", "sosproxy.test");
  set("listen.port", std::to_string(ports.proxy));
  // 127.0.0.3: a phone that may call but is neither in pbx_sources nor in network_sources (the
  // demo's, 127.0.0.1/32 each); 127.0.0.2 is an untrusted source.
  set("trusted_networks", "[127.0.0.1/32, 127.0.0.3/32]");
  const std::pair<const char*, uint16_t> trunks[] = {
      {"carrier", ports.carrier}, {"il-psap-a", ports.psapA}, {"il-psap-b", ports.psapB},
      {"erc", ports.erc},         {"uk-999", ports.uk999},    {"psap-test", ports.psapTest}};
  for (const auto& [name, port] : trunks) {
    const std::string trunk = std::string("trunks[") + name + "].";
    const bool a = std::string(name) == "il-psap-a";
    set(trunk + "port", std::to_string(port));
    set(trunk + "transport",
        a && !ports.psapATransport.empty() ? ports.psapATransport : ports.trunkTransport);
    if (std::string(name) == "carrier") continue;
    set(trunk + "response_timeout_s", ports.responseTimeout);
    set(trunk + "ring_timeout_s", ports.ringTimeout);
  }
  set("trunks[il-psap-a].mode", ports.psapAMode);
  if (ports.psapATcpFallback) set("trunks[il-psap-a].tcp_fallback", "true");
  if (!ports.psapAOptionsInterval.empty()) {
    set("trunks[il-psap-a].options_interval_s", ports.psapAOptionsInterval);
  }
  if (!ports.otherPsapOptionsInterval.empty()) {
    set("trunks[il-psap-b].options_interval_s", ports.otherPsapOptionsInterval);
    set("trunks[erc].options_interval_s", ports.otherPsapOptionsInterval);
  }
  // Routes come from the civic rules and the sites; no test places a call by its coordinates
  // (no boundaries). No last resort: the tests of a route's end see the route's own trunks give up
  // (the demo's carrier would answer them).
  set("emergency_routing",
      "{erc: erc, test_destination: psap-test, boundaries: [], civic_rules: ["
      "{match: {country: US, A1: IL}, route: [il-psap-a, il-psap-b]}, "
      "{match: {country: GB}, route: [uk-999]}]}");
  set("sites[HQ].security_desk", desk);
  set("sites[London].security_desk", desk);
  // Responders only when a test asks for them: other tests' SIPp peers would not expect alerts.
  set("sites[London].responders", "[]");
  if (ports.responders) {
    set("sites[HQ].responders[0].webhook",
        yamlQuoted("http://127.0.0.1:" + std::to_string(ports.webhook) + "/alerts"));
    set("sites[HQ].responders[0].secret", yamlQuoted(ports.webhookSecret));
    set("sites[HQ].responders[2].sip", desk);
    set("notifications",
        "{smtp: {host: 127.0.0.1, port: " + std::to_string(ports.smtp) +
            ", from: \"sosproxy@hq.example\"}, escalate_after_s: " + ports.escalateAfter +
            ", timeout_s: 1, retry_initial_s: 0.2, retry_max_s: 1}");
  } else {
    set("sites[HQ].responders", "[]");
    set("notifications", "{}");
  }
  set("admin.port", std::to_string(ports.admin));
  if (ports.deviceReports != 0) {
    set("admin.device_listen",
        "{address: 127.0.0.1, port: " + std::to_string(ports.deviceReports) + "}");
  }
  if (storeDb.empty()) {
    set("store", "{}");
  } else {
    // With PostgreSQL the spool file would be in the working directory: in the test's own.
    std::string store =
        ports.storePostgresql.empty()
            ? "{path: " + yamlQuoted(storeDb.string())
            : "{backend: postgresql, postgresql: " + yamlQuoted(ports.storePostgresql) +
                  ", spool: " + yamlQuoted(storeDb.string() + ".spool");
    if (!seed.empty()) store += ", seed: " + yamlQuoted(seed.string());
    set("store", store + "}");
  }
  if (ports.callbackWindowSeconds > 0) {
    set("location.callback_window_s", std::to_string(ports.callbackWindowSeconds));
  }
  // Overload shedding off unless a test sets limits itself: a sanitizer build on a busy
  // machine can stall the SIP thread long enough to refuse an ordinary call a test expects to
  // go through. A short drain: a test that stops sosproxy with calls still up gets it back in
  // 2 s, within the stop's grace.
  if (ports.extraYaml.find("limits:") == std::string::npos) {
    set("limits", "{overload_lag_ms: 0, drain_s: 2}");
  }
  if (!ports.extraYaml.empty()) set("", ports.extraYaml);
  for (const auto& [path, value] : ports.sets) set(path, value);
  set("logging",
      "{level: debug, format: text, routing_log: " + yamlQuoted(routingLog.string()) + "}");

  const fs::path demo = fs::path(SOS_SOURCE_DIR) / "config" / "examples" / "demo.yaml";
  const std::string text = readFile(demo);
  auto yaml = config::editConfig(text, demo.string(), changes);
  if (!yaml.ok())
    throw std::runtime_error("cannot derive the test configuration: " + yaml.error().message);
  return yaml.value();
}

// ---------------------------------------------------------------------------------------------
// Routing log

std::string RoutingLogLine::get(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return "";
}

bool RoutingLogLine::has(const std::string& key) const {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
}

RoutingLogLine parseRoutingLogLine(const std::string& line) {
  RoutingLogLine out;
  out.raw = line;
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    // A key is a run of [a-z_] followed by '='; anything else (a timestamp prefix) is skipped.
    while (i < n && line[i] == ' ') ++i;
    size_t k = i;
    while (k < n && (std::islower(static_cast<unsigned char>(line[k])) || line[k] == '_')) ++k;
    if (k == i || k >= n || line[k] != '=') {
      while (i < n && line[i] != ' ') ++i;
      continue;
    }
    std::string key = line.substr(i, k - i);
    i = k + 1;
    std::string value;
    if (i < n && line[i] == '"') {
      ++i;
      while (i < n && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < n) ++i;
        value += line[i++];
      }
      ++i;
    } else {
      while (i < n && line[i] != ' ') value += line[i++];
    }
    out.fields.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::vector<RoutingLogLine> readRoutingLog(const fs::path& path) {
  std::vector<RoutingLogLine> out;
  std::istringstream in(readFile(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("event=") == std::string::npos) continue;
    out.push_back(parseRoutingLogLine(line));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// sosproxy

Sosproxy::Sosproxy(fs::path binary, fs::path dir)
    : binary_(std::move(binary)), dir_(std::move(dir)) {}

bool Sosproxy::start(const fs::path& config, milliseconds timeout) {
  std::vector<std::string> argv = launcher_;
  argv.insert(argv.end(), {binary_.string(), "--config", config.string()});
  process_.emplace(argv, dir_ / "sosproxy.stdout", dir_ / "sosproxy.stderr");
  if (!process_->started()) {
    lastError_ = "could not start " + binary_.string() + ": " + readFile(dir_ / "sosproxy.stderr");
    return false;
  }
  bool exited = false;
  const bool ready = waitFor(
      [&] {
        if (readFile(process_->stdoutPath()).find("sosproxy ready:") != std::string::npos)
          return true;
        if (!process_->running()) {
          exited = true;
          return true;
        }
        return false;
      },
      timeout);
  if (ready && !exited) return true;
  lastError_ = exited ? "sosproxy exited with " +
                            std::to_string(process_->wait(milliseconds(0)).value_or(-1)) +
                            " before it was ready"
                      : "sosproxy printed no ready line within the timeout";
  lastError_ += "\n" + output();
  return false;
}

std::string Sosproxy::output() const {
  return "--- sosproxy stdout:\n" + readFile(dir_ / "sosproxy.stdout") + "--- sosproxy stderr:\n" +
         readFile(dir_ / "sosproxy.stderr");
}

// ---------------------------------------------------------------------------------------------
// SIPp

Sipp::Sipp(SippOptions options, fs::path dir) : options_(std::move(options)), dir_(std::move(dir)) {
  if (options_.port == 0) options_.port = pickFreePort();
  if (options_.name.empty()) options_.name = options_.scenario;
}

fs::path Sipp::file(const std::string& suffix) const { return dir_ / (options_.name + suffix); }

std::string Sipp::address() const { return options_.localIp + ":" + std::to_string(options_.port); }

bool Sipp::start(milliseconds readyTimeout) {
  std::vector<std::string> argv{"sipp", "-sf",
                                (fs::path(SIPP_SCENARIOS_DIR) / options_.scenario).string()};
  if (!options_.remote.empty()) argv.push_back(options_.remote);
  const auto add = [&](std::initializer_list<std::string> a) { argv.insert(argv.end(), a); };
  add({"-i", options_.localIp, "-p", std::to_string(options_.port), "-t", options_.transport, "-m",
       std::to_string(options_.calls), "-cp", std::to_string(pickFreePort()),
       // Media is not exercised; keep SIPp's RTP echo port away from its default 6000 too.
       "-mp", std::to_string(pickFreeMediaPorts()), "-nostdin", "-timeout",
       std::to_string(options_.timeoutSeconds) + "s", "-timeout_error", "-trace_msg",
       "-message_file", file(".messages").string(), "-trace_err", "-error_file",
       file(".errors").string(), "-trace_logs", "-log_file", file(".log").string()});
  if (!options_.service.empty()) add({"-s", options_.service});
  for (const auto& [name, value] : options_.sets) add({"-set", name, value});
  argv.insert(argv.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  process_.emplace(argv, file(".stdout"), file(".stderr"));
  if (!process_->started()) return false;
  if (!options_.remote.empty()) return true;
  const bool tcp = options_.transport[0] == 't';
  // Its own socket, not one of another program that happens to hold the port.
  const pid_t pid = process_->pid();
  return waitFor([&] { return portBound(options_.port, tcp, pid) || !process_->running(); },
                 readyTimeout) &&
         process_->running();
}

int Sipp::wait() {
  if (!process_) return -1;
  // SIPp ends by itself at -timeout; the margin covers a loaded machine.
  const auto limit = milliseconds((options_.timeoutSeconds + 15) * 1000);
  if (auto rc = process_->wait(limit)) return *rc;
  process_->stop();
  return -1;
}

std::string Sipp::messages() const { return readFile(file(".messages")); }
std::string Sipp::logs() const { return readFile(file(".log")); }
std::string Sipp::errors() const { return readFile(file(".errors")); }

std::string Sipp::report() const {
  std::string r = "--- " + options_.name + ": " + (process_ ? process_->commandLine() : "") + "\n";
  r += "--- errors:\n" + errors() + "\n--- scenario log:\n" + logs();
  std::string trace = messages();
  if (trace.size() > 6000) trace = "...\n" + trace.substr(trace.size() - 6000);
  r += "--- message trace:\n" + trace + "\n";
  return r;
}

// ---------------------------------------------------------------------------------------------
// Traces

std::vector<std::string> traceMessages(const std::string& trace, bool received) {
  // Each entry: "-----...- TIMESTAMP\n" then "UDP message received [N] bytes :\n\n<message>" or
  // "UDP message sent (N bytes):\n\n<message>".
  std::vector<std::string> out;
  const std::string sep = "\n-----------------------------------------------";
  size_t pos = 0;
  const std::string text = "\n" + trace;
  while ((pos = text.find(sep, pos)) != std::string::npos) {
    const size_t headerStart = text.find('\n', pos + 1);
    if (headerStart == std::string::npos) break;
    const size_t headerEnd = text.find('\n', headerStart + 1);
    if (headerEnd == std::string::npos) break;
    const std::string header = text.substr(headerStart + 1, headerEnd - headerStart - 1);
    size_t next = text.find(sep, headerEnd);
    std::string body = text.substr(
        headerEnd + 1, (next == std::string::npos ? text.size() : next) - headerEnd - 1);
    while (!body.empty() && (body.front() == '\n' || body.front() == '\r')) body.erase(0, 1);
    const bool isReceived = header.find("received") != std::string::npos;
    const bool isSent = header.find("sent") != std::string::npos;
    if ((received && isReceived) || (!received && isSent)) out.push_back(body);
    pos = headerEnd;
  }
  return out;
}

std::vector<std::string> traceStartLines(const std::string& trace, bool received) {
  std::vector<std::string> out;
  for (const auto& m : traceMessages(trace, received)) {
    std::string first = m.substr(0, m.find('\n'));
    if (!first.empty() && first.back() == '\r') first.pop_back();
    out.push_back(first);
  }
  return out;
}

std::string bodyOf(const std::string& message) {
  const size_t at = message.find("\r\n\r\n");
  if (at == std::string::npos) return "";
  const long length = std::atol(headerValue(message, "Content-Length").c_str());
  return message.substr(at + 4, static_cast<size_t>(std::max(0L, length)));
}

std::string headerValue(const std::string& message, const std::string& header) {
  std::istringstream in(message);
  std::string line;
  const auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  const std::string want = lower(header) + ":";
  std::getline(in, line);  // start line
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;  // end of headers
    if (lower(line.substr(0, want.size())) == want) {
      std::string v = line.substr(want.size());
      const auto b = v.find_first_not_of(" \t");
      return b == std::string::npos ? "" : v.substr(b);
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Python tools (tests/integration/tools)

PythonTool::PythonTool(std::string script, std::vector<std::string> args, fs::path dir,
                       std::string name, fs::path outPath)
    : script_(std::move(script)),
      args_(std::move(args)),
      dir_(std::move(dir)),
      name_(std::move(name)),
      outPath_(std::move(outPath)) {}

PythonTool::~PythonTool() {
  // Process's destructor would do the same; stopping here keeps the order explicit.
  stop();
}

bool PythonTool::start(milliseconds readyTimeout) {
  std::vector<std::string> argv{"python3", (fs::path(SOS_TEST_TOOLS_DIR) / script_).string()};
  argv.insert(argv.end(), args_.begin(), args_.end());
  process_.emplace(argv, dir_ / (name_ + ".stdout"), dir_ / (name_ + ".stderr"));
  if (!process_->started()) {
    lastError_ = "could not start " + process_->commandLine() + "\n" + report();
    return false;
  }
  const auto isReady = [&] {
    std::istringstream in(readFile(process_->stdoutPath()));
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line == "ready" && !in.eof()) return true;  // a whole line, newline included
    }
    return false;
  };
  bool exited = false;
  const bool done = waitFor(
      [&] {
        if (isReady()) return true;
        if (!process_->running()) {
          exited = true;
          return true;
        }
        return false;
      },
      readyTimeout);
  if (done && !exited) return true;
  lastError_ = exited ? name_ + " exited with " +
                            std::to_string(process_->wait(milliseconds(0)).value_or(-1)) +
                            " before it was ready"
                      : name_ + " printed no ready line within the timeout";
  lastError_ += "\n" + report();
  return false;
}

std::optional<int> PythonTool::stop(milliseconds grace) {
  if (!process_) return std::nullopt;
  return process_->stop(grace);
}

bool PythonTool::running() { return process_ && process_->running(); }

std::vector<std::string> PythonTool::lines() const {
  std::vector<std::string> out;
  if (outPath_.empty()) return out;
  const std::string text = readFile(outPath_);
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    std::string line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
  }
  // Whatever follows the last newline is a line still being written: left for the next call.
  return out;
}

bool PythonTool::waitForLines(size_t count, milliseconds timeout) const {
  return waitFor([&] { return lines().size() >= count; }, timeout);
}

std::string PythonTool::report() const {
  std::string r = "--- " + name_ + ": " + (process_ ? process_->commandLine() : "(not started)");
  r += "\n--- stdout:\n" + readFile(dir_ / (name_ + ".stdout"));
  r += "--- stderr:\n" + readFile(dir_ / (name_ + ".stderr"));
  if (!outPath_.empty()) {
    std::string out = readFile(outPath_);
    if (out.size() > 6000) out = "...\n" + out.substr(out.size() - 6000);
    r += "--- " + outPath_.filename().string() + ":\n" + out;
  }
  return r + "\n";
}

namespace {

uint16_t portOrFree(uint16_t port) { return port != 0 ? port : pickFreePort(); }

std::vector<std::string> withExtra(std::vector<std::string> args, std::vector<std::string> extra) {
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> webhookArgs(uint16_t port, const std::string& secret, int status,
                                     bool blackhole, const fs::path& out) {
  std::vector<std::string> a{"--port", std::to_string(port), "--secret", secret,
                             "--out",  out.string(),         "--status", std::to_string(status)};
  if (blackhole) a.push_back("--blackhole");
  return a;
}

}  // namespace

WebhookReceiver::WebhookReceiver(fs::path dir, std::string secret, uint16_t port, int status,
                                 bool blackhole, std::string name, std::vector<std::string> extra)
    : WebhookReceiver(std::move(dir), std::move(secret), portOrFree(port), status, blackhole,
                      std::move(name), std::move(extra), 0) {}

WebhookReceiver::WebhookReceiver(fs::path dir, std::string secret, uint16_t port, int status,
                                 bool blackhole, std::string name, std::vector<std::string> extra,
                                 int)
    : PythonTool("webhook_receiver.py",
                 withExtra(webhookArgs(port, secret, status, blackhole, dir / (name + ".jsonl")),
                           std::move(extra)),
                 dir, name, dir / (name + ".jsonl")),
      port_(port) {}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

SmtpReceiver::SmtpReceiver(fs::path dir, uint16_t port, bool refuse, std::string name,
                           std::vector<std::string> extra)
    : SmtpReceiver(std::move(dir), portOrFree(port), refuse, std::move(name), std::move(extra), 0) {
}

SmtpReceiver::SmtpReceiver(fs::path dir, uint16_t port, bool refuse, std::string name,
                           std::vector<std::string> extra, int)
    : PythonTool(
          "smtp_receiver.py",
          withExtra(refuse
                        ? std::vector<std::string>{"--port", std::to_string(port), "--out",
                                                   (dir / (name + ".jsonl")).string(), "--refuse"}
                        : std::vector<std::string>{"--port", std::to_string(port), "--out",
                                                   (dir / (name + ".jsonl")).string()},
                    std::move(extra)),
          dir, name, dir / (name + ".jsonl")),
      port_(port) {}

namespace {

const std::vector<std::string> kEcKey{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                      "-nodes"};

// `openssl ARGS...`, its failure (command line and output) in `error`; nothing once `error` holds
// an earlier one.
void openssl(std::vector<std::string> argv, const fs::path& dir, std::string& error) {
  if (!error.empty()) return;
  argv.insert(argv.begin(), "openssl");
  const CommandRun r = runCommand(argv, dir, milliseconds(30000));
  if (r.status != std::optional<int>(0)) error = r.commandLine + ": " + r.err + r.out;
}

}  // namespace

std::string signTestCertificate(const TestCertificates& ca, const fs::path& cert,
                                const fs::path& key, const std::string& commonName,
                                const std::string& names) {
  std::string error;
  const fs::path dir = cert.parent_path();
  const fs::path csr = cert.string() + ".csr";
  std::vector<std::string> req{"req"};
  req.insert(req.end(), kEcKey.begin(), kEcKey.end());
  req.insert(req.end(), {"-keyout", key.string(), "-out", csr.string(), "-subj",
                         "/CN=" + commonName, "-addext", "subjectAltName=" + names});
  openssl(req, dir, error);
  openssl({"x509", "-req", "-in", csr.string(), "-CA", ca.ca.string(), "-CAkey", ca.caKey.string(),
           "-CAcreateserial", "-out", cert.string(), "-days", "2", "-copy_extensions", "copy"},
          dir, error);
  return error;
}

TestCertificates makeTestCertificates(const fs::path& dir) {
  TestCertificates c;
  c.ca = dir / "test-ca.pem";
  c.caKey = dir / "test-ca.key";
  c.cert = dir / "server.pem";
  c.key = dir / "server.key";
  c.wrongCert = dir / "wrong-name.pem";
  c.wrongKey = dir / "wrong-name.key";
  std::vector<std::string> ca{"req", "-x509"};
  ca.insert(ca.end(), kEcKey.begin(), kEcKey.end());
  ca.insert(ca.end(), {"-keyout", c.caKey.string(), "-out", c.ca.string(), "-days", "2", "-subj",
                       "/CN=sosproxy test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                       "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  openssl(ca, dir, c.error);
  if (c.error.empty())
    c.error = signTestCertificate(c, c.cert, c.key, "localhost", "DNS:localhost,IP:127.0.0.1");
  if (c.error.empty())
    c.error = signTestCertificate(c, c.wrongCert, c.wrongKey, "wrong.example", "DNS:wrong.example");
  return c;
}

HttpReply httpsRequest(const std::string& method, const std::string& url, const fs::path& caFile,
                       const fs::path& dir, const std::string& body,
                       const std::vector<HttpHeader>& headers, const std::string& until) {
  std::vector<std::string> argv{
      "python3",  (fs::path(SOS_TEST_TOOLS_DIR) / "https_client.py").string(),
      "--url",    url,
      "--ca",     caFile.string(),
      "--method", method};
  for (const auto& h : headers) argv.insert(argv.end(), {"--header", h.name + ": " + h.value});
  if (!body.empty()) argv.insert(argv.end(), {"--body", body});
  if (!until.empty()) argv.insert(argv.end(), {"--until", until});
  const CommandRun r = runCommand(argv, dir, milliseconds(30000));
  HttpReply reply;
  const std::string line = r.out.substr(0, r.out.find('\n'));
  if (!jsonHas(line, "status")) {
    reply.body = jsonHas(line, "error") ? jsonField(line, "error") : r.commandLine + ": " + r.err;
    return reply;
  }
  reply.status = std::atoi(jsonField(line, "status").c_str());
  reply.headers = jsonField(line, "headers");
  reply.body = jsonField(line, "body");
  return reply;
}

// ---------------------------------------------------------------------------------------------
// JSON, just enough for the tools' lines

namespace {

class JsonScanner {
 public:
  explicit JsonScanner(const std::string& s) : s_(s) {}

  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool peek(char c) {
    skipSpace();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }

  // A string at the current position, decoded into `out`.
  bool string(std::string& out) {
    if (!eat('"')) return false;
    out.clear();
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.compare(i_, 2, "\\u") == 0) {
            i_ += 2;
            unsigned low = 0;
            if (!hex4(low)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // Any value: a string decoded, anything else as its JSON text.
  bool value(std::string& out) {
    skipSpace();
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '"') return string(out);
    const size_t begin = i_;
    if (s_[i_] == '{' || s_[i_] == '[') {
      int depth = 0;
      std::string ignored;
      while (i_ < s_.size()) {
        const char c = s_[i_];
        if (c == '"') {
          if (!string(ignored)) return false;
          continue;
        }
        ++i_;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) break;
      }
      if (depth != 0) return false;
    } else {
      while (i_ < s_.size() && std::string_view(",}] \t\r\n").find(s_[i_]) == std::string::npos)
        ++i_;
      if (i_ == begin) return false;
    }
    out = s_.substr(begin, i_ - begin);
    return true;
  }

 private:
  bool hex4(unsigned& cp) {
    if (i_ + 4 > s_.size()) return false;
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= unsigned(h - 'A' + 10);
      else
        return false;
    }
    return true;
  }
  static void appendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  const std::string& s_;
  size_t i_ = 0;
};

// The top-level member `key` of the object `json`, if there is one.
std::optional<std::string> findMember(const std::string& json, const std::string& key) {
  JsonScanner in(json);
  if (!in.eat('{')) return std::nullopt;
  if (in.eat('}')) return std::nullopt;
  std::string name, value;
  while (true) {
    if (!in.string(name) || !in.eat(':') || !in.value(value)) return std::nullopt;
    if (name == key) return value;
    if (in.eat(',')) continue;
    return std::nullopt;  // '}' or malformed
  }
}

}  // namespace

std::string jsonField(const std::string& json, const std::string& key) {
  return findMember(json, key).value_or("");
}

bool jsonHas(const std::string& json, const std::string& key) {
  return findMember(json, key).has_value();
}

std::vector<std::string> jsonArrayItems(const std::string& json) {
  std::vector<std::string> out;
  JsonScanner in(json);
  if (!in.eat('[')) return out;
  if (in.eat(']')) return out;
  std::string value;
  while (in.value(value)) {
    out.push_back(value);
    if (in.eat(',')) continue;
    if (!in.eat(']')) out.clear();  // malformed
    return out;
  }
  return {};
}

}  // namespace sos::itest
